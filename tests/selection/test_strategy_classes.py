"""The strategy contract: one class per strategy, registered once, declaring what it reads and
adds, returning a SelectionResult; DatasetDict.select_deita; the one-line reprs."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
from datasets import Dataset, DatasetDict

import deita_hf
from deita_hf.errors import ConfigError, SelectionError
from deita_hf.pipeline.strategy_plan import plan_strategy
from deita_hf.selection import select_deita
from deita_hf.selection.dispatch import STRATEGIES, build_strategy, parse_strategy, select
from deita_hf.selection.result import SelectionResult, SelectionStats
from deita_hf.selection.strategy import (
    SCORE_ARGUMENTS,
    SCORE_INPUTS,
    ColumnRead,
    SelectionStrategy,
    register_strategy,
)


def _label_vectors(tags):
    return [[t.count(c) for c in "tu01234"] + [1.0] for t in tags]


#: strategy -> arguments that make it run on the `base` pool; a strategy added to the registry
#: without an entry here fails test_every_strategy_has_test_arguments
ARGS = {
    "deita": {"score_column": "score", "threshold": 0.99, "progress": False},
    "topk": {"column": "score", "progress": False},
    "random": {"seed": 3},
    "kcenter": {"score_column": "score", "progress": False},
    "facility": {"progress": False},
    "kmeans": {"n_clusters": 2, "score_column": "score", "progress": False},
    "instag": {"progress": False},
    "mig": {"score_column": "score", "progress": False, "label_embedder": _label_vectors},
    "kmq": {"n_clusters": 2, "progress": False},
    # the pool's 4-d embeddings stand in for gradient features (no feature ids to check)
    "less": {"target": Dataset.from_dict({"embedding": [[1.0, 0.0, 0.0, 0.0],
                                                        [0.0, 1.0, 0.0, 0.0]]}),
             "features_column": "embedding", "id_column": None, "progress": False},
    "rds": {"target": Dataset.from_dict({"embedding": [[1.0, 0.0, 0.0, 0.0],
                                                       [0.0, 1.0, 0.0, 0.0]],
                                         "task": ["a", "b"]}), "progress": False},
}


@pytest.fixture
def base(clustered, pool):
    emb, scores = clustered(12, 4, 3, 0)
    tags = [[f"t{i % 5}", f"u{i % 3}"] for i in range(12)]
    return pool(emb, scores + 1.0, tags=tags, text=[f"row {i}" for i in range(12)])


def _run(strategy: SelectionStrategy, ds: Dataset) -> SelectionResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # less: id_column=None is warned about
        return strategy.select(ds, 5)


# -- the registry -------------------------------------------------------------------------------
def test_every_strategy_has_test_arguments():
    assert set(STRATEGIES) == set(ARGS)


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_registry_names_and_classes_agree(name):
    cls = STRATEGIES[name]
    assert issubclass(cls, SelectionStrategy) and cls.name == name
    assert cls.__name__.lower() == name + "strategy" and cls.summary
    assert build_strategy(name) == cls() and parse_strategy(name) == (name, {})


def test_register_refuses_a_taken_name_or_a_disagreeing_class_name():
    class KCenterStrategy(SelectionStrategy):
        name = "kcenter"

    class ClusterPicker(SelectionStrategy):
        name = "clusterpick"

    class OddStrategy(SelectionStrategy):
        name = "odd"
        score_input = "maybe"

    before = dict(STRATEGIES)
    for cls, match in ((KCenterStrategy, "taken"), (ClusterPicker, "ClusterpickStrategy"),
                       (OddStrategy, "score_input")):
        with pytest.raises(ConfigError, match=match):
            register_strategy(cls)
    assert STRATEGIES == before


# -- the declarations, checked against each function and against real runs --------------------
@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_declarations_match_the_function(name):
    cls = STRATEGIES[name]
    params = inspect.signature(cls.load()).parameters
    accepted = cls.accepted_arguments()
    assert "return_stats" in params and "return_stats" not in accepted
    assert cls.score_input in SCORE_INPUTS and cls.adds
    for read in cls.column_reads:  # each declared column argument exists, with its default
        assert read.argument in accepted and params[read.argument].default == read.default
    if cls.score_input in ("optional", "deita"):
        assert set(SCORE_ARGUMENTS) <= set(accepted)
    if cls.score_input == "column":
        assert "column" in accepted
    # every argument that names a column is declared (a new one without a declaration fails)
    declared = {r.argument for r in cls.column_reads} | set(cls.other_column_arguments)
    declared |= set(SCORE_ARGUMENTS) if cls.score_input in ("optional", "deita") else set()
    declared |= {"column"} if cls.score_input == "column" else set()
    assert {a for a in accepted if a.endswith("column")} == declared


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_each_strategy_returns_a_selection_result_with_its_declared_columns(base, name):
    strategy = build_strategy(name, **ARGS[name])
    result = _run(strategy, base)
    assert isinstance(result, SelectionResult) and isinstance(result.stats, SelectionStats)
    out = result.dataset
    assert result.stats.strategy == name and result.stats.kept == len(out) >= 1
    added = set(out.column_names) - set(base.column_names)
    scored = strategy.adds_with_score if strategy.score_columns() else ()
    assert set(strategy.adds) | set(scored) <= added <= set(strategy.writes())
    read = {v for k, v in result.stats.columns.items()
            if v is not None and k not in strategy.other_column_arguments}
    assert read <= set(strategy.reads())
    # the declared reads are enough: the pool cut down to them selects the same rows
    narrow = base.select_columns(strategy.reads() or ["text"])
    again = _run(strategy, narrow)
    assert list(again.stats.rows) == list(result.stats.rows)
    # and each is needed: without it the strategy refuses
    for col in strategy.reads():
        with pytest.raises((SelectionError, ConfigError), match=col):
            _run(strategy, base.remove_columns(col))


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_select_with_stats_is_the_strategy_result(base, name):
    kw = dict(ARGS[name])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        result = select(base, 4, name, return_stats=True, **kw)
        plain = select(base, 4, name, **kw)
    assert isinstance(result, SelectionResult)
    selected, stats = result
    assert selected["idx"][:] == plain["idx"][:] and stats.kept == len(plain)


@pytest.mark.parametrize("spec,reads,writes", [
    ("deita", ["embedding", "complexity", "quality"], ["deita_score", "deita_rank"]),
    ("deita:score_column=s,embedding_column=e", ["e", "s"], ["deita_score", "deita_rank"]),
    ("topk:column=quality", ["quality"], ["selection_score", "selection_rank"]),
    ("random", [], ["selection_rank"]),
    ("kcenter", ["embedding"], ["selection_rank", "kcenter_distance"]),
    ("kmeans:complexity_column=c,quality_column=q", ["embedding", "c", "q"],
     ["cluster", "selection_rank", "selection_score"]),
    ("instag:tags_column=labels", ["labels"], ["selection_score", "instag_new_tags",
                                               "selection_rank"]),
    ("less", ["less_grad", "less_grad_id"], ["selection_score", "selection_rank", "less_task"]),
    ("less:id_column=none", ["less_grad"], ["selection_score", "selection_rank", "less_task"]),
])
def test_reads_and_writes_follow_the_arguments(spec, reads, writes):
    strategy = build_strategy(spec)
    assert strategy.reads() == reads and strategy.writes() == writes


# -- the parsed, typed spec -----------------------------------------------------------------------
def test_build_strategy_validates_once_and_round_trips():
    s = build_strategy("kmeans:n_clusters=4,score_column='12',temperature=0.5")
    assert type(s).__name__ == "KMeansStrategy"
    assert s.arguments == {"n_clusters": 4, "score_column": "12", "temperature": 0.5}
    assert build_strategy(s.to_spec()) == s
    assert repr(s) == "KMeansStrategy(n_clusters=4, score_column='12', temperature=0.5)"
    with pytest.raises(ConfigError, match=r"'colour'.*accepted: .*n_clusters"):
        build_strategy("kmeans:colour=red")
    with pytest.raises(ConfigError, match="given both"):
        build_strategy("kmeans:n_clusters=4", n_clusters=3)
    with pytest.raises(ConfigError, match="embedding_column names a column"):
        build_strategy("kcenter:embedding_column=3")
    with pytest.raises(ConfigError, match="no spec form"):
        build_strategy("mig", label_embedder=_label_vectors).to_spec()
    assert build_strategy(s, seed=1).arguments["seed"] == 1 and "seed" not in s.arguments
    pool = Dataset.from_dict({"s": [1.0, 2.0]})
    # topk names its key itself (column=None is its default, so Python callers get it too)
    with pytest.raises(ConfigError, match="topk needs column=NAME"):
        build_strategy("topk").select(pool, 1)
    with pytest.raises(ConfigError, match="'less' needs target: e.g. less:target="):
        build_strategy("less").select(pool, 1)


# -- the planner reads the class's declarations ---------------------------------------------------
def _vectors_fn(ds, budget, *, vectors="embedding", progress=True, return_stats=False):
    raise AssertionError("not run")


class PlannedStrategy(SelectionStrategy):
    name = "planned"
    summary = "a test strategy whose embedding argument has no *_column name"
    column_reads = (ColumnRead("vectors", "embedding", role="embedding"),)
    adds = ("selection_rank",)

    @classmethod
    def load(cls):
        return _vectors_fn


def test_plan_uses_the_declared_columns(monkeypatch):
    monkeypatch.setitem(STRATEGIES, "planned", PlannedStrategy)
    plan = plan_strategy("planned", {}, ["instruction"], preset_specs={"embedding": "minilm"})
    assert plan.specs == {"embedding": "minilm"} and plan.reads == ["embedding"]
    assert plan.kwargs == {"vectors": "embedding", "progress": True}
    plan = plan_strategy("planned", {}, ["instruction", "emb2"], preset_specs={},
                         role_columns={"embedding": "emb2"})
    assert plan.specs == {} and plan.kwargs["vectors"] == "emb2" and plan.reads == ["emb2"]
    with pytest.raises(ConfigError, match="reads no score"):
        plan_strategy("planned", {}, ["embedding"], preset_specs={}, score_column="s")


def test_plan_reads_less_ids_and_tags_as_declared(tmp_path):
    plan = plan_strategy("instag", {}, ["tags", "score"], preset_specs={}, score_column="score")
    assert plan.reads == ["tags", "score"]
    target = tmp_path / "target.jsonl"
    target.write_text('{"less_grad": [1.0], "less_grad_id": "sgd:x"}\n')
    with pytest.raises(ConfigError, match="'less_grad_id'"):
        plan_strategy("less", {"target": str(target)}, ["less_grad"], preset_specs={})
    plan = plan_strategy("less", {"target": str(target), "id_column": None}, ["less_grad"],
                         preset_specs={})
    assert plan.reads == ["less_grad"]


# -- DatasetDict.select_deita ---------------------------------------------------------------------
def _split(scores):
    n = len(scores)
    emb = np.eye(n).tolist()  # orthogonal rows: nothing is filtered
    return Dataset.from_dict({"s": list(map(float, scores)), "embedding": emb,
                              "i": list(range(n))})


def test_dataset_dict_select_deita_works_per_split():
    dd = DatasetDict({"train": _split([1, 3, 2]), "test": _split([9, 8])})
    out = dd.select_deita(2, score_column="s", progress=False)
    assert isinstance(out, DatasetDict) and list(out) == ["train", "test"]
    for split in dd:  # each split selects from its own rows, as select_deita on it alone
        alone = select_deita(dd[split], 2, score_column="s", progress=False)
        assert out[split]["i"][:] == alone["i"][:]
    assert out["train"]["s"][:] == [3.0, 2.0] and out["test"]["s"][:] == [9.0, 8.0]
    out, stats = dd.select_deita({"train": 1, "test": 2}, score_column="s", progress=False,
                                 return_stats=True)
    assert out["train"]["s"][:] == [3.0] and len(out["test"]) == 2
    assert {k: v.kept for k, v in stats.items()} == {"train": 1, "test": 2}
    assert all(isinstance(v, SelectionStats) for v in stats.values())


def test_dataset_dict_select_deita_refuses_a_bad_budget_before_selecting():
    dd = DatasetDict({"train": _split([1, 2]), "test": _split([1])})
    with pytest.raises(ConfigError,
                       match=r"names the splits \[.train.\].*has \[.test., .train.\]"):
        dd.select_deita({"train": 1}, score_column="s", progress=False)
    with pytest.raises(ConfigError, match="split 'test'.*budget"):
        dd.select_deita({"train": 1, "test": 0}, score_column="nope", progress=False)
    assert deita_hf.select_deita is select_deita
    with pytest.raises(ConfigError, match=r"DatasetDict with the splits \['test', 'train'\]"):
        deita_hf.select(dd, 1, "topk:column=s")


# -- reprs -----------------------------------------------------------------------------------------
def test_stats_and_result_reprs_are_one_short_line():
    stats = SelectionStats(strategy="kcenter", budget=500, pool_size=10_000, kept=480,
                           examined=10_000, seconds=1.23456, rows=np.arange(480),
                           pool_scores=np.linspace(0, 1, 10_000), max_similarity=[0.5] * 480,
                           params={"metric": "cosine"})
    text = repr(stats)
    assert text == "SelectionStats(strategy='kcenter', kept=480/500, pool_size=10000, seconds=1.23)"
    result = SelectionResult(Dataset.from_dict({"a": list(range(480))}), stats)
    assert repr(result) == f"SelectionResult(dataset=<480 rows x 1 columns>, stats={text})"


def test_selector_repr_names_preset_and_components():
    from deita_hf.pipeline import DatasetSelector

    sel = DatasetSelector.from_specs("length", "none", "minilm", threshold=0.8)
    text = repr(sel)
    assert "\n" not in text and len(text) < 200
    assert text.startswith("DatasetSelector(preset=None, complexity='instruction-length', "
                           "quality='column quality', embedding=")
    assert "threshold=0.8" in text
    assert repr(DatasetSelector.from_preset("fast", embedder="none")).startswith(
        "DatasetSelector(preset='fast', complexity='hkust-nlp/deita-complexity-scorer'")
