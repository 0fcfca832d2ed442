"""The ``less`` strategy against a one-row-at-a-time numpy reference on seeded pools (tasks,
exact ties), and its refusals: other feature ids or dimensions, missing columns and targets."""

import numpy as np
import pytest
from datasets import Dataset

from deita_hf.errors import ConfigError, InputNotFoundError, SelectionError
from deita_hf.selection.dispatch import select
from deita_hf.selection.less import select_less


def features(rng, n, dim, duplicates=0):
    x = rng.standard_normal((n, dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    if duplicates:
        x[n - duplicates:] = x[rng.choice(n - duplicates, duplicates, replace=False)]
    return x


def frame(x, kind, fid="f0", **extra):
    return Dataset.from_dict({"less_grad": x.tolist(), "less_grad_id": [f"{kind}:{fid}"] * len(x),
                              "idx": list(range(len(x))), **extra})


def reference(pool, target, tasks, budget):
    """LESS's score row by row: for each pool row and task, the mean over that task's target
    rows of the cosine; the max over tasks; highest first, ties by lower row index."""
    scored = []
    for i, f in enumerate(pool):
        best = -np.inf
        for task in dict.fromkeys(tasks):
            cos = [float(np.dot(f.astype(np.float64) / np.linalg.norm(f.astype(np.float64)),
                                t.astype(np.float64) / np.linalg.norm(t.astype(np.float64))))
                   for t, k in zip(target, tasks) if k == task]
            best = max(best, sum(cos) / len(cos))
        scored.append((-best, i))
    return [i for _, i in sorted(scored)[:budget]], {i: -s for s, i in scored}


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("n_tasks", [1, 3])
def test_picks_the_rows_the_reference_picks(seed, n_tasks):
    rng = np.random.default_rng(seed)
    pool = features(rng, 60, 16, duplicates=8)
    target = features(rng, 9, 16)
    tasks = [f"t{i % n_tasks}" for i in range(9)]
    extra = {"task": tasks} if n_tasks > 1 else {}
    out, stats = select_less(frame(pool, "adam"), 20, target=frame(target, "sgd", **extra),
                             progress=False, return_stats=True)
    want, score = reference(pool, target, tasks, 20)
    assert out["idx"][:] == want
    assert out["selection_score"][:] == pytest.approx([score[i] for i in want], abs=1e-12)
    assert stats.params["tasks"] == n_tasks and stats.params["features_id"] == "f0"
    assert ("less_task" in out.column_names) == (n_tasks > 1)


def test_ties_go_to_the_lower_row():
    x = np.eye(4, dtype=np.float32)[[0, 1, 0, 1, 2]]  # rows 0/2 and 1/3 are identical
    target = np.array([[1.0, 1.0, 0.0, 0.0]], dtype=np.float32)
    out = select_less(frame(x, "adam"), 4, target=frame(target, "sgd"), progress=False)
    assert out["idx"][:] == [0, 1, 2, 3]


def test_target_read_from_a_file_and_through_dispatch(tmp_path):
    rng = np.random.default_rng(5)
    pool, target = frame(features(rng, 10, 8), "adam"), frame(features(rng, 3, 8), "sgd")
    path = tmp_path / "target.parquet"
    target.to_parquet(str(path))
    a = select(pool, 4, f"less:target={path}", progress=False)
    b = select_less(pool, 4, target=target, progress=False)
    assert a["idx"][:] == b["idx"][:]
    with pytest.raises(InputNotFoundError, match="nope.jsonl"):
        select(pool, 4, f"less:target={tmp_path / 'nope.jsonl'}")


def test_incompatible_features_are_refused():
    rng = np.random.default_rng(0)
    pool = frame(features(rng, 6, 8), "adam", fid="aaaa")
    with pytest.raises(SelectionError, match=r"\(id aaaa\).*\(id bbbb\).*different warm-ups"):
        select_less(pool, 2, target=frame(features(rng, 2, 8), "sgd", fid="bbbb"))
    with pytest.raises(SelectionError, match="8 values per row but the target's have 4"):
        select_less(pool, 2, target=frame(features(rng, 2, 4), "sgd", fid="aaaa"))
    mixed = pool.remove_columns("less_grad_id").add_column(
        "less_grad_id", ["adam:aaaa"] * 5 + ["adam:cccc"])
    with pytest.raises(SelectionError, match=r"'less_grad_id' of the pool, row 5"):
        select_less(mixed, 2, target=frame(features(rng, 2, 8), "sgd", fid="aaaa"))
    with pytest.raises(SelectionError, match="no 'less_grad_id' column"):
        select_less(pool.remove_columns("less_grad_id"), 2,
                    target=frame(features(rng, 2, 8), "sgd", fid="aaaa"))
    with pytest.warns(UserWarning, match="here the pool's are 'sgd'"):
        select_less(frame(features(rng, 6, 8), "sgd", fid="aaaa"), 2,
                    target=frame(features(rng, 2, 8), "sgd", fid="aaaa"))


def test_missing_columns_and_bad_values_are_named():
    rng = np.random.default_rng(0)
    target = frame(features(rng, 2, 8), "sgd")
    with pytest.raises(SelectionError, match="pool has no 'less_grad' column.*--scorer less:MODEL"):
        select_less(Dataset.from_dict({"x": [1]}), 1, target=target)
    with pytest.raises(SelectionError, match="target has no 'less_grad' column"):
        select_less(frame(features(rng, 3, 8), "adam"), 1, target=Dataset.from_dict({"x": [1]}))
    bad = features(rng, 3, 8)
    bad[2] = np.nan
    with pytest.raises(SelectionError, match=r"'less_grad', row 2"):
        select_less(frame(bad, "adam"), 1, target=target)
    with pytest.raises(ConfigError, match="target must be"):
        select_less(frame(features(rng, 3, 8), "adam"), 1, target=3)
