"""deita_hf: DEITA automatic instruction-data selection, native to Hugging Face ``datasets``.

Importing the package adds ``Dataset.select_deita`` (see :func:`deita_hf.select_deita`) and
``DatasetDict.select_deita`` (the same on every split, a budget per split);
``deita_hf.select(ds, budget, strategy="kcenter")`` runs any strategy of ``deita_hf.STRATEGIES``.

Example:
    >>> import deita_hf
    >>> from datasets import Dataset
    >>> ds = Dataset.from_dict({"instruction": ["a", "b"], "output": ["x", "y"],
    ...                         "deita_score": [2.0, 1.0],
    ...                         "embedding": [[1.0, 0.0], [0.0, 1.0]]})
    >>> ds = ds.rename_column("deita_score", "my_score")
    >>> ds.select_deita(1, score_column="my_score", progress=False)["instruction"][:]
    ['a']
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what static tools see; at run time the names load on first use (below)
    from datasets import Dataset, DatasetDict

    from deita_hf.components import build_component, build_embedder, build_scorer
    from deita_hf.data.formats import FormatError, detect_format, to_messages, to_turns
    from deita_hf.data.loading import load_pool
    from deita_hf.embedding import CausalLMEmbedder, DeitaEmbedder, SentenceEmbedder
    from deita_hf.embedding import RdsEmbedder
    from deita_hf.hub import push_selection, render_report, save_selection
    from deita_hf.pipeline import (
        ScoreConfig,
        ScoreResult,
        SelectionConfig,
        SelectionRun,
        run_scoring,
        run_selection,
    )
    from deita_hf.pipeline.preference import build_preference_dataset
    from deita_hf.pipeline.ray_engine import score_on_ray
    from deita_hf.pipeline.selector import DatasetSelector
    from deita_hf.pipeline.sharded import score_in_shards
    from deita_hf.scoring import (
        ComplexityScorer,
        EL2NScorer,
        GraNdScorer,
        IFDScorer,
        InsTagTagger,
        InstructionLengthScorer,
        JudgeScorer,
        LessGradientScorer,
        PerplexityScorer,
        QualityScorer,
        RandomScorer,
        ResponseLengthScorer,
        RewardModelScorer,
        ifd_filter,
    )
    from deita_hf.selection import SelectionResult, SelectionStats, deita_score, select_deita
    from deita_hf.selection.decontamination import Decontaminator, decontaminate
    from deita_hf.selection.dispatch import STRATEGIES, build_strategy, parse_strategy, select
    from deita_hf.selection.strategy import SelectionStrategy

__version__ = "0.2.0"

# public name -> module that defines it (imported on first use, so `import deita_hf` stays fast)
_EXPORTS = {
    "FormatError": "deita_hf.data.formats",
    "detect_format": "deita_hf.data.formats",
    "to_messages": "deita_hf.data.formats",
    "to_turns": "deita_hf.data.formats",
    "load_pool": "deita_hf.data.loading",
    "deita_score": "deita_hf.selection",
    "select_deita": "deita_hf.selection",
    "select": "deita_hf.selection.dispatch",
    "parse_strategy": "deita_hf.selection.dispatch",
    "STRATEGIES": "deita_hf.selection.dispatch",
    "SelectionStats": "deita_hf.selection",
    "SelectionResult": "deita_hf.selection",
    "SelectionStrategy": "deita_hf.selection.strategy",
    "build_strategy": "deita_hf.selection.dispatch",
    "SelectionConfig": "deita_hf.pipeline",
    "ScoreConfig": "deita_hf.pipeline",
    "run_selection": "deita_hf.pipeline",
    "run_scoring": "deita_hf.pipeline",
    "SelectionRun": "deita_hf.pipeline",
    "ScoreResult": "deita_hf.pipeline",
    "ComplexityScorer": "deita_hf.scoring",
    "QualityScorer": "deita_hf.scoring",
    "InstructionLengthScorer": "deita_hf.scoring",
    "ResponseLengthScorer": "deita_hf.scoring",
    "PerplexityScorer": "deita_hf.scoring",
    "IFDScorer": "deita_hf.scoring",
    "ifd_filter": "deita_hf.scoring",
    "RewardModelScorer": "deita_hf.scoring",
    "JudgeScorer": "deita_hf.scoring",
    "InsTagTagger": "deita_hf.scoring",
    "RandomScorer": "deita_hf.scoring",
    "LessGradientScorer": "deita_hf.scoring",
    "GraNdScorer": "deita_hf.scoring",
    "EL2NScorer": "deita_hf.scoring",
    "build_scorer": "deita_hf.components",
    "build_component": "deita_hf.components",
    "SentenceEmbedder": "deita_hf.embedding",
    "CausalLMEmbedder": "deita_hf.embedding",
    "DeitaEmbedder": "deita_hf.embedding",
    "RdsEmbedder": "deita_hf.embedding",
    "build_embedder": "deita_hf.components",
    "DatasetSelector": "deita_hf.pipeline.selector",
    "score_in_shards": "deita_hf.pipeline.sharded",
    "score_on_ray": "deita_hf.pipeline.ray_engine",
    "save_selection": "deita_hf.hub",
    "push_selection": "deita_hf.hub",
    "render_report": "deita_hf.hub",
    "build_preference_dataset": "deita_hf.pipeline.preference",
    "decontaminate": "deita_hf.selection.decontamination",
    "Decontaminator": "deita_hf.selection.decontamination",
}

__all__ = [  # noqa: RUF022 -- the order of _EXPORTS (tests/test_exports.py checks they agree)
    "__version__",
    "FormatError", "detect_format", "to_messages", "to_turns", "load_pool",
    "deita_score", "select_deita", "select", "parse_strategy", "STRATEGIES", "SelectionStats",
    "SelectionResult", "SelectionStrategy", "build_strategy", "SelectionConfig", "ScoreConfig",
    "run_selection", "run_scoring", "SelectionRun", "ScoreResult",
    "ComplexityScorer", "QualityScorer", "InstructionLengthScorer", "ResponseLengthScorer",
    "PerplexityScorer", "IFDScorer", "ifd_filter", "RewardModelScorer", "JudgeScorer",
    "InsTagTagger", "RandomScorer", "LessGradientScorer", "GraNdScorer", "EL2NScorer",
    "build_scorer", "build_component",
    "SentenceEmbedder", "CausalLMEmbedder", "DeitaEmbedder", "RdsEmbedder", "build_embedder",
    "DatasetSelector", "score_in_shards", "score_on_ray",
    "save_selection", "push_selection", "render_report", "build_preference_dataset",
    "decontaminate", "Decontaminator",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'deita_hf' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


def _select_deita_method(
    self: Dataset, budget: int, **kwargs: Any
) -> Dataset | tuple[Dataset, SelectionStats]:
    """``ds.select_deita(budget, **kwargs)`` is ``deita_hf.select_deita(ds, budget, **kwargs)``."""
    from deita_hf.selection import select_deita

    return select_deita(self, budget, **kwargs)


def _select_deita_splits(
    self: DatasetDict, budget: int | Mapping[str, int], **kwargs: Any
) -> DatasetDict | tuple[DatasetDict, dict[str, SelectionStats]]:
    """``dd.select_deita(budget, **kwargs)``: :func:`deita_hf.select_deita` on every split.

    Like ``DatasetDict.map``, each split is processed on its own: each keeps up to its budget
    of its own rows (no row competes with another split's).

    Args:
        budget: rows to keep per split: an int (the same for every split) or a dict naming
            every split (``{"train": 1000, "test": 100}``).
        **kwargs: as for :func:`deita_hf.select_deita` (``return_stats=True``: also a dict
            split -> :class:`~deita_hf.selection.SelectionStats`).

    Returns:
        A ``DatasetDict`` of the kept rows, or ``(DatasetDict, {split: stats})``.

    Raises:
        ConfigError: a budget dict that misses or adds a split, or a bad budget (before any
            split is selected).

    Example:
        >>> import deita_hf
        >>> from datasets import Dataset, DatasetDict
        >>> part = Dataset.from_dict({"s": [1.0, 3.0], "embedding": [[1.0, 0.0], [0.0, 1.0]]})
        >>> dd = DatasetDict({"train": part, "test": part})
        >>> out = dd.select_deita({"train": 2, "test": 1}, score_column="s", progress=False)
        >>> out["train"]["s"][:], out["test"]["s"][:]
        ([3.0, 1.0], [3.0])
    """
    from datasets import DatasetDict

    from deita_hf.errors import ConfigError
    from deita_hf.selection import select_deita
    from deita_hf.selection.common import check_budget

    if isinstance(budget, Mapping):
        if set(budget) != set(self):
            raise ConfigError(
                f"DatasetDict.select_deita: the budget dict names the splits "
                f"{sorted(budget)}, the DatasetDict has {sorted(self)}; give one budget per "
                f"split, or one int for every split.")
        budgets = {split: budget[split] for split in self}
    else:
        budgets = dict.fromkeys(self, budget)
    for split, value in budgets.items():
        try:
            check_budget(value)
        except ConfigError as err:
            raise ConfigError(f"DatasetDict.select_deita, split {split!r}: {err}") from None
    results = {split: select_deita(ds, budgets[split], **kwargs) for split, ds in self.items()}
    if not kwargs.get("return_stats"):
        return DatasetDict(results)
    return (DatasetDict({split: out[0] for split, out in results.items()}),
            {split: out[1] for split, out in results.items()})


def _attach() -> None:
    from datasets import Dataset, DatasetDict

    Dataset.select_deita = _select_deita_method
    DatasetDict.select_deita = _select_deita_splits


_attach()
