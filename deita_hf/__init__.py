"""deita_hf: DEITA automatic instruction-data selection, native to Hugging Face ``datasets``.

Importing the package adds ``Dataset.select_deita`` (see :func:`deita_hf.select_deita`);
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
from typing import Any

__version__ = "0.1.0"

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
    "build_scorer": "deita_hf.components",
    "build_component": "deita_hf.components",
    "SentenceEmbedder": "deita_hf.embedding",
    "CausalLMEmbedder": "deita_hf.embedding",
    "DeitaEmbedder": "deita_hf.embedding",
    "build_embedder": "deita_hf.components",
    "DatasetSelector": "deita_hf.pipeline.selector",
    "score_in_shards": "deita_hf.pipeline.sharded",
    "save_selection": "deita_hf.hub",
    "push_selection": "deita_hf.hub",
    "render_report": "deita_hf.hub",
    "build_preference_dataset": "deita_hf.pipeline.preference",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'deita_hf' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


def _select_deita_method(self, budget: int, **kwargs: Any):
    """``ds.select_deita(budget, **kwargs)`` is ``deita_hf.select_deita(ds, budget, **kwargs)``."""
    from deita_hf.selection import select_deita

    return select_deita(self, budget, **kwargs)


def _attach() -> None:
    from datasets import Dataset

    Dataset.select_deita = _select_deita_method


_attach()
