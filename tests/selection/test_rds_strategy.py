"""select_rds (RDS+): max cosine per target task, round-robin over tasks, against a
one-at-a-time reference written here from the authors' ``compute_influence_cosinesim.py`` and
``get_top_aggregated_influences.py --selection_method max`` (round_robin)."""

import math
import warnings

import numpy as np
import pytest
from datasets import Dataset

from deita_hf.errors import SelectionError
from deita_hf.selection import dispatch
from deita_hf.selection.rds import round_robin, select_rds


def reference(pool: np.ndarray, target: np.ndarray, tasks: list, budget: int,
              aggregate=max, rr=True):
    """One pool row and one target example at a time, as the authors' scripts do."""
    unit = lambda v: np.asarray(v, dtype=np.float64) / math.sqrt(float(np.dot(v, v)))  # noqa: E731
    names = list(dict.fromkeys(tasks))
    per_task = {}
    for name in names:  # one pickle per task: {test i: {train j: cos}}
        influences = {i: {j: float(np.dot(unit(target[i]), unit(pool[j])))
                          for j in range(len(pool))}
                      for i in range(len(target)) if tasks[i] == name}
        all_scores = {}
        for _, infl in influences.items():
            for j, s in infl.items():
                all_scores.setdefault(j, []).append(s)
        per_task[name] = {j: aggregate(v) for j, v in all_scores.items()}
    if not rr:  # planted bug: one global ranking by the best task score
        best = {j: max(per_task[n][j] for n in names) for j in range(len(pool))}
        ranked = sorted(best.items(), key=lambda x: x[1], reverse=True)[:budget]
        return [j for j, _ in ranked], [s for _, s in ranked]
    lists = {n: sorted(per_task[n].items(), key=lambda x: x[1], reverse=True) for n in names}
    picked, budget = {}, min(budget, len(pool))  # the authors' output_size <= the pool
    while len(picked) < budget:
        for n in names:
            if len(picked) >= budget:
                break
            j, s = lists[n].pop(0)
            picked[j] = min(s, picked.get(j, math.inf))
    return list(picked), list(picked.values())


def reference_examples(pool: np.ndarray, target: np.ndarray, budget: int):
    """``get_top_influences.py --selection_method max`` (one task): round-robin over the test
    examples, each popping its best remaining train row; duplicates dropped (first kept)."""
    unit = lambda v: np.asarray(v, dtype=np.float64) / math.sqrt(float(np.dot(v, v)))  # noqa: E731
    influences = {i: {j: float(np.dot(unit(target[i]), unit(pool[j]))) for j in range(len(pool))}
                  for i in range(len(target))}
    ordered = {i: sorted(infl.items(), key=lambda x: x[1], reverse=True)
               for i, infl in influences.items()}
    budget = min(budget, len(pool))
    saved, scores = [], []
    while len(saved) < budget:
        for i in ordered:  # the authors finish the round, then cut to the budget
            if not ordered[i]:
                continue
            inst, score = ordered[i].pop(0)
            saved.append(inst)
            scores.append(score)
            prev = len(saved)
            saved = list(dict.fromkeys(saved))  # remove_dupes_ordered
            if len(saved) < prev:
                scores = scores[:-1]
    return saved[:budget], scores[:budget]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    pool = rng.standard_normal((60, 8))
    pool[10] = pool[3]          # exact duplicates: ties broken by the lower row
    pool[41] = pool[3] * 2.0    # same direction, another norm: the same cosine
    target = rng.standard_normal((7, 8))
    target[5] = pool[20] + 0.01  # a row that two tasks want (taken once, lower score kept)
    target[0] = pool[20] - 0.01
    tasks = ["gsm", "gsm", "mmlu", "mmlu", "mmlu", "alpaca", "alpaca"]
    target_ds = Dataset.from_dict({"embedding": target.tolist(), "task": tasks,
                                   "text": [f"t{i}" for i in range(7)]})
    pool_ds = Dataset.from_dict({"embedding": pool.tolist(), "id": list(range(60))})
    return pool, target, tasks, pool_ds, target_ds


@pytest.mark.parametrize("budget,block_size", [(1, None), (13, 7), (25, 4), (60, 16), (75, 9)])
def test_matches_one_at_a_time_reference(data, budget, block_size):
    pool, target, tasks, pool_ds, target_ds = data
    rows, scores = reference(pool, target, tasks, budget)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # budget 75 > 60 rows: warned
        out = select_rds(pool_ds, budget, target=target_ds, block_size=block_size, progress=False)
    assert out["id"][:] == rows  # same rows, same order
    np.testing.assert_allclose(out["selection_score"][:], scores, rtol=0, atol=1e-12)
    assert out["selection_rank"][:] == list(range(len(rows)))
    assert set(out["rds_task"][:]) <= {"gsm", "mmlu", "alpaca"}
    assert out.column_names[:2] == ["embedding", "id"]


def test_planted_bugs_change_the_selection(data):
    pool, target, tasks, pool_ds, target_ds = data
    out = select_rds(pool_ds, 13, target=target_ds, progress=False)["id"][:]
    no_rr, _ = reference(pool, target, tasks, 13, rr=False)
    mean_agg, _ = reference(pool, target, tasks, 13,
                            aggregate=lambda v: sum(v) / len(v))
    assert out != no_rr and out != mean_agg


@pytest.mark.parametrize("budget,block_size", [(1, None), (9, 5), (30, 8), (60, None)])
def test_one_task_round_robins_over_its_examples(data, budget, block_size):
    pool, target, _, pool_ds, target_ds = data
    one = target_ds.remove_columns("task")
    rows, scores = reference_examples(pool, target, budget)
    out = select_rds(pool_ds, budget, target=one, block_size=block_size, progress=False)
    assert out["id"][:] == rows and "rds_task" not in out.column_names
    np.testing.assert_allclose(out["selection_score"][:], scores, atol=1e-12)
    # planted bug: the max over the examples (the multi-task rule) picks other rows
    by_max, _ = reference(pool, target, ["one"] * 7, budget)
    if budget > 1:
        assert by_max != rows
    # aggregation="max" on one task is that max ranking
    out = select_rds(pool_ds, budget, target=one, aggregation="max", progress=False)
    assert out["id"][:] == by_max


def test_bad_aggregation_is_a_config_error(data):
    from deita_hf.errors import ConfigError

    _, _, _, pool_ds, target_ds = data
    with pytest.raises(ConfigError, match="aggregation must be one of 'max', 'round_robin'"):
        select_rds(pool_ds, 3, target=target_ds, aggregation="mean")


def test_duplicate_across_tasks_spends_the_turn():
    # both tasks rank row 0 first: the second task's turn is spent, its score lowers row 0's
    a = (np.array([0, 1, 2]), np.array([0.9, 0.8, 0.1]))
    b = (np.array([0, 2, 1]), np.array([0.7, 0.6, 0.5]))
    assert round_robin([a, b], 3) == ([0, 1, 2], [0.7, 0.8, 0.6], [0, 0, 1])


def test_registered_and_stats(data, tmp_path):
    _, _, _, pool_ds, target_ds = data
    path = tmp_path / "target.jsonl"
    target_ds.to_json(path)
    out, stats = dispatch.select(pool_ds, 5, f"rds:target={path}", return_stats=True,
                                 progress=False)
    assert len(out) == 5 and stats.strategy == "rds" and stats.params["tasks"] == 3
    assert len(stats.pool_scores) == 60


def test_errors_name_the_problem(data):
    _, _, _, pool_ds, target_ds = data
    with pytest.raises(SelectionError, match="no 'embedding' column"):
        select_rds(pool_ds.remove_columns("embedding"), 3, target=target_ds)
    short = Dataset.from_dict({"embedding": [[1.0, 0.0]]})
    with pytest.raises(SelectionError, match="8 values per row but the target's have 2"):
        select_rds(pool_ds, 3, target=short, progress=False)
    with pytest.raises(SelectionError, match="no rows"):
        select_rds(pool_ds, 3, target=target_ds.select([]), progress=False)


def test_block_reads_equal_row_reads_across_chunks_and_indices():
    """The streaming read of a run of rows (one slice of the Arrow values) equals row-by-row
    reads, across chunk boundaries and through an indices mapping."""
    from datasets import concatenate_datasets

    from deita_hf.selection.vectors import EmbeddingReader

    rng = np.random.default_rng(1)
    parts = [Dataset.from_dict({"embedding": rng.standard_normal((n, 5)).tolist()})
             for n in (7, 1, 9)]
    ds = concatenate_datasets(parts)
    assert ds.data.column("embedding").num_chunks == 3
    want = np.array(ds["embedding"][:])  # float64, as stored
    for view, rows in ((ds, want), (ds.select([3, 4, 5, 6, 7, 8, 2, 16]), None)):
        reader = EmbeddingReader(view, "embedding")
        expected = np.array(view["embedding"][:]) if rows is None else rows
        np.testing.assert_array_equal(reader.raw_rows(np.arange(len(view))), expected)
        for i in range(len(view)):
            np.testing.assert_array_equal(reader.raw_rows(np.array([i]))[0], expected[i])
