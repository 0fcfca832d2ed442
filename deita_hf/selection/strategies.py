"""Every selection strategy as one class, registered here (the one place to add a strategy).

Each class wraps its algorithm's function (imported on first use) and declares the columns it
reads and adds (:class:`~deita_hf.selection.strategy.SelectionStrategy`). To add a strategy,
write its function in a module of :mod:`deita_hf.selection`, then one class here::

    @register_strategy
    class MyStrategy(SelectionStrategy):
        name = "my"                       # the spec's name; the class is <Name>Strategy
        summary = "what it keeps, in one line"
        function = "deita_hf.selection.my:select_my"   # (ds, budget, *, ..., return_stats)
        column_reads = (ColumnRead("embedding_column", "embedding", role="embedding"),)
        score_input = "optional"          # none | optional | deita | column
        adds = (RANK_COLUMN,)
        adds_with_score = (SCORE_COLUMN,)

Example:
    >>> STRATEGIES["facility"].__name__, STRATEGIES["facility"]().reads()
    ('FacilityStrategy', ['embedding'])
"""

from __future__ import annotations

from deita_hf.selection.common import RANK_COLUMN, SCORE_COLUMN
from deita_hf.selection.strategy import STRATEGIES, ColumnRead, SelectionStrategy, register_strategy

__all__ = [
    "STRATEGIES", "DeitaStrategy", "FacilityStrategy", "InsTagStrategy", "KCenterStrategy",
    "KMQStrategy", "KMeansStrategy", "LessStrategy", "MIGStrategy", "RandomStrategy",
    "TopKStrategy",
]

_S = "deita_hf.selection."
# the strategies' own columns are spelt here so that the registry imports no algorithm
# (tests/selection/test_strategy_contract.py checks them against real runs)
_EMBEDDING = ColumnRead("embedding_column", "embedding", role="embedding")
_TAGS = ColumnRead("tags_column", "tags")


@register_strategy
class DeitaStrategy(SelectionStrategy):
    name = "deita"
    summary = "score-first, similarity-filtered (DEITA)"
    function = _S + "deita:select_deita"
    column_reads = (_EMBEDDING,)
    score_input = "deita"
    adds = ("deita_score", "deita_rank")


@register_strategy
class TopKStrategy(SelectionStrategy):
    name = "topk"
    summary = "highest values of one column"
    function = _S + "topk:select_topk"
    score_input = "column"
    adds = (SCORE_COLUMN, RANK_COLUMN)


@register_strategy
class RandomStrategy(SelectionStrategy):
    name = "random"
    summary = "seeded uniform sample"
    function = _S + "random_pick:select_random"
    adds = (RANK_COLUMN,)


@register_strategy
class KCenterStrategy(SelectionStrategy):
    name = "kcenter"
    summary = "k-center greedy on embeddings"
    function = _S + "kcenter:select_kcenter"
    column_reads = (_EMBEDDING,)
    score_input = "optional"
    adds = (RANK_COLUMN, "kcenter_distance")
    adds_with_score = (SCORE_COLUMN,)


@register_strategy
class FacilityStrategy(SelectionStrategy):
    name = "facility"
    summary = "facility-location greedy (Superfiltering's diversity step)"
    function = _S + "facility:select_facility_location"
    column_reads = (_EMBEDDING,)
    adds = (RANK_COLUMN, "facility_gain")


@register_strategy
class KMeansStrategy(SelectionStrategy):
    name = "kmeans"
    summary = "k-means clusters, score-weighted sampling per cluster"
    function = _S + "kmeans:select_kmeans_quality"
    column_reads = (_EMBEDDING,)
    score_input = "optional"
    adds = ("cluster", RANK_COLUMN)
    adds_with_score = (SCORE_COLUMN,)


@register_strategy
class InsTagStrategy(SelectionStrategy):
    name = "instag"
    summary = "InsTag complexity-first tag coverage"
    function = _S + "instag:select_instag_diversity"
    column_reads = (_TAGS,)
    score_input = "optional"
    # without a score, selection_score is the row's number of distinct tags
    adds = (SCORE_COLUMN, "instag_new_tags", RANK_COLUMN)


@register_strategy
class MIGStrategy(SelectionStrategy):
    name = "mig"
    summary = "MIG: greedy information gain over an InsTag label graph"
    function = _S + "mig:select_mig"
    column_reads = (_TAGS,)
    score_input = "optional"
    adds = (SCORE_COLUMN, RANK_COLUMN)  # selection_score: the information gain


@register_strategy
class KMQStrategy(SelectionStrategy):
    name = "kmq"
    summary = "kMQ: k-means, equal budget per cluster, quality-weighted sampling"
    function = _S + "kmq:select_kmq"
    column_reads = (_EMBEDDING,)
    score_input = "optional"
    adds = ("cluster", RANK_COLUMN)
    adds_with_score = (SCORE_COLUMN,)


@register_strategy
class LessStrategy(SelectionStrategy):
    name = "less"
    summary = "highest mean gradient cosine to a target set (LESS)"
    function = _S + "less:select_less"
    column_reads = (ColumnRead("features_column", "less_grad"),
                    ColumnRead("id_column", "less_grad_id"))
    adds = (SCORE_COLUMN, RANK_COLUMN)
    may_add = ("less_task",)  # with several tasks in the target
    other_column_arguments = ("target_column", "task_column")  # the target's columns
