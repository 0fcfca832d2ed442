"""What every strategy shares: output columns, budgets, validation; topk and random; dispatch."""

import warnings

import numpy as np
import pytest
from datasets import Dataset

from deita_hf.errors import ConfigError, SelectionError
from deita_hf.selection.dispatch import (
    STRATEGIES,
    accepted_arguments,
    parse_strategy,
    select,
)
from deita_hf.selection.kcenter import select_kcenter
from deita_hf.selection.random_pick import select_random
from deita_hf.selection.topk import select_topk

#: strategy -> keyword arguments that make it run on the `base` pool
ARGS = {
    "deita": {"score_column": "score", "threshold": 0.99, "progress": False},
    "topk": {"column": "score", "progress": False},
    "random": {"seed": 3},
    "kcenter": {"progress": False},
    "facility": {"progress": False},
    "kmeans": {"n_clusters": 2, "score_column": "score", "progress": False},
    "instag": {"progress": False},
    "mig": {"score_column": "score", "progress": False,
            "label_embedder": lambda tags: [[t.count(c) for c in "tu01234"] + [1.0] for t in tags]},
    "kmq": {"n_clusters": 2, "score_column": "score", "progress": False},
    # the pool's 4-d embeddings stand in for gradient features (no feature ids to check)
    "less": {"target": Dataset.from_dict({"embedding": [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]]}),
             "features_column": "embedding", "id_column": None, "progress": False},
    "rds": {"target": Dataset.from_dict({"embedding": [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]],
                                         "task": ["a", "b"]}), "progress": False},
}


@pytest.fixture
def base(clustered, pool):
    emb, scores = clustered(12, 4, 3, 0)
    tags = [[f"t{i % 5}", f"u{i % 3}"] for i in range(12)]
    return pool(emb, scores + 1.0, tags=tags, text=[f"row {i}" for i in range(12)],
                turns=[[float(i), 1.0] for i in range(12)])


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_output_keeps_every_column_and_rows(base, name):
    out, stats = select(base, 5, name, return_stats=True, **ARGS[name])
    assert set(base.column_names) <= set(out.column_names)
    for r, i in enumerate(out["idx"][:]):
        assert {c: out[r][c] for c in base.column_names} == base[i]
    rank = "deita_rank" if name == "deita" else "selection_rank"
    assert out[rank][:] == list(range(len(out))) and 1 <= len(out) <= 5
    assert stats.strategy == name and stats.kept == len(out) and stats.pool_size == 12
    assert list(stats.rows) == out["idx"][:] and stats.to_dict()["budget"] == 5


@pytest.mark.parametrize("name", sorted(STRATEGIES))
@pytest.mark.parametrize("budget", [0, -2, 1.5, True, "3"])
def test_bad_budget_is_a_config_error(base, name, budget):
    with pytest.raises(ConfigError, match="budget"):
        select(base, budget, name, **ARGS[name])


@pytest.mark.parametrize("name", ["random", "topk", "kcenter", "facility", "kmeans", "mig",
                                  "kmq"])
def test_budget_over_pool_returns_all_with_a_warning(base, name):
    with pytest.warns(UserWarning, match="Only 12 rows"):
        out = select(base, 50, name, **ARGS[name])
    assert sorted(out["idx"][:]) == list(range(12))


@pytest.mark.parametrize("name", ["random", "topk", "kcenter", "facility", "instag"])
def test_existing_added_column_is_refused(base, name):
    with pytest.raises(ConfigError, match="selection_rank"):
        select(base.add_column("selection_rank", [0] * 12), 2, name, **ARGS[name])


@pytest.mark.parametrize("name,kw", [
    ("kcenter", {"embedding_column": "nope"}), ("facility", {"embedding_column": "nope"}),
    ("kmeans", {"embedding_column": "nope", "n_clusters": 2}), ("topk", {"column": "nope"}),
    ("instag", {"tags_column": "nope"}), ("kcenter", {"score_column": "nope"}),
])
def test_missing_column_is_named(base, name, kw):
    with pytest.raises(SelectionError, match="nope"):
        select(base, 2, name, progress=False, **kw)


@pytest.mark.parametrize("name", ["kcenter", "kmeans", "instag", "topk"])
def test_nan_or_null_score_names_the_row(name):
    ds = Dataset.from_dict({"embedding": [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]],
                            "tags": [["a"], ["b"], ["c"]], "score": [1.0, float("nan"), 2.0]})
    kw = {"column": "score"} if name == "topk" else {"score_column": "score"}
    kw.update({"n_clusters": 2} if name == "kmeans" else {})
    with pytest.raises(SelectionError, match=r"'score', row 1"):
        select(ds, 2, name, progress=False, **kw)
    ds = ds.remove_columns("score").add_column("score", [1.0, None, 2.0])
    with pytest.raises(SelectionError, match=r"'score', row 1"):
        select(ds, 2, name, progress=False, **kw)


@pytest.mark.parametrize("name,kw", [("kcenter", {}), ("kcenter", {"metric": "l2"}),
                                     ("facility", {}), ("kmeans", {"n_clusters": 2}),
                                     ("kmeans", {"n_clusters": 2, "normalize": False})])
def test_bad_embeddings_name_the_row(name, kw):
    def ds(rows):
        return Dataset.from_dict({"embedding": rows})

    bad_values = [[[1.0, 0.0], [0.0, 1.0], [float("nan"), 1.0]]]
    if kw.get("metric") != "l2" and kw.get("normalize", True):
        bad_values.append([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])  # zero: no cosine
    for rows in bad_values:
        with pytest.raises(SelectionError, match=r"'embedding', row 2"):
            select(ds(rows), 2, name, progress=False, **kw)
    for rows in ([[1.0, 0.0], [0.0, 1.0], [1.0]], [[1.0, 0.0], [0.0, 1.0], None]):
        with pytest.raises(SelectionError, match=r"'embedding', row 2"):
            select(ds(rows), 2, name, progress=False, **kw)


def test_zero_vector_is_fine_for_l2(pool):
    out = select_kcenter(pool([[0.0, 0.0], [3.0, 4.0]]), 2, metric="l2", progress=False)
    assert out["kcenter_distance"][:] == [None, 5.0]


@pytest.mark.parametrize("kw", [{"metric": "dot"}, {"block_size": 0}, {"device": "nodev"},
                                {"score_column": "score", "complexity_column": "c"},
                                {"complexity_column": "c"}])
def test_bad_kcenter_arguments(base, kw):
    with pytest.raises(ConfigError):
        select_kcenter(base, 2, progress=False, **kw)


def test_topk_sums_turns_and_breaks_ties_by_row():
    ds = Dataset.from_dict({"q": [[1.0, 2.0], [3.0], [0.5, 0.5, 2.0], [-1.0]], "i": [0, 1, 2, 3]})
    assert select_topk(ds, 4, column="q")["i"][:] == [0, 1, 2, 3]  # 3, 3, 3, -1
    assert select_topk(ds, 2, column="q", descending=False)["i"][:] == [3, 0]
    with pytest.raises(SelectionError, match=r"'q', row 1: empty list"):
        select_topk(Dataset.from_dict({"q": [[1.0], []]}), 1, column="q")


def test_random_is_the_documented_permutation():
    ds = Dataset.from_dict({"i": list(range(40))})
    out, stats = select_random(ds, 7, seed=11, return_stats=True)
    assert out["i"][:] == np.random.default_rng(11).permutation(40)[:7].tolist()
    assert stats.params == {"seed": 11}
    with pytest.raises(ConfigError, match="seed"):
        select_random(ds, 2, seed=-1)


def test_parse_strategy_values_and_errors():
    assert parse_strategy(" kcenter ") == ("kcenter", {})
    name, kw = parse_strategy("kmeans: n_clusters=8, temperature=0.5, normalize=false, "
                              "score_column='12', seed=none")
    assert name == "kmeans"
    assert kw == {"n_clusters": 8, "temperature": 0.5, "normalize": False,
                  "score_column": "12", "seed": None}
    with pytest.raises(ConfigError, match="accepted: deita, topk, random, kcenter"):
        parse_strategy("kmedoids")
    with pytest.raises(ConfigError, match=r"'colour'.*accepted: .*metric"):
        parse_strategy("kcenter:colour=red")
    with pytest.raises(ConfigError, match="return_stats"):
        parse_strategy("random:return_stats=true")
    for bad in ("kcenter:metric", "kcenter:metric=l2,metric=cosine", "", ":x=1"):
        with pytest.raises(ConfigError):
            parse_strategy(bad)
    assert "threshold" in accepted_arguments("deita")


def test_select_dispatches_to_the_strategy(base):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = select(base, 4, "kcenter:metric=l2", progress=False)
        b = select_kcenter(base, 4, metric="l2", progress=False)
    assert a["idx"][:] == b["idx"][:]
    assert select(base, 3, score_column="score", progress=False)["deita_rank"][:] == [0, 1, 2]
    with pytest.raises(ConfigError, match="both in the spec"):
        select(base, 2, "kcenter:metric=l2", metric="cosine")
    with pytest.raises(ConfigError, match="takes no argument"):
        select(base, 2, "random", colour="red")
