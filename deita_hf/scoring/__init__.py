"""DEITA scoring: model scorers, the paper's length baselines, and a factory for the CLI.

Example:
    >>> from deita_hf.scoring import build_scorer
    >>> build_scorer("complexity", "length").describe()["kind"]
    'length-baseline'
"""

from __future__ import annotations

from typing import Any

from deita_hf.scoring.baselines import InstructionLengthScorer, ResponseLengthScorer
from deita_hf.scoring.prompts import COMPLEXITY_TEMPLATE, QUALITY_TEMPLATE
from deita_hf.scoring.scorers import ComplexityScorer, QualityScorer

__all__ = [
    "COMPLEXITY_TEMPLATE", "QUALITY_TEMPLATE", "ComplexityScorer", "QualityScorer",
    "InstructionLengthScorer", "ResponseLengthScorer", "build_scorer",
]

_MODEL = {"complexity": ComplexityScorer, "quality": QualityScorer}
_BASELINE = {"complexity": InstructionLengthScorer, "quality": ResponseLengthScorer}


def build_scorer(kind: str, spec: str | None = None, **kwargs: Any):
    """Make a scorer from a CLI-style spec.

    Args:
        kind: "complexity" or "quality".
        spec: "length" for the paper's length baseline (instruction length for complexity,
            response length for quality, in characters); "vllm:<path-or-id>" for the vLLM backend;
            otherwise a model folder or Hub id (None: the published DEITA scorer). Models load
            lazily, on first use.
        **kwargs: passed to :class:`ComplexityScorer`/:class:`QualityScorer` (ignored keys are an
            error for the baselines only if not None).

    Returns:
        A callable scorer with ``describe()``.
    """
    if kind not in _MODEL:
        raise ValueError(f"kind must be 'complexity' or 'quality', got {kind!r}.")
    if spec is not None and spec.strip().lower() == "length":
        return _BASELINE[kind]()
    if spec is not None and spec.startswith("vllm:"):
        kwargs["backend"] = "vllm"
        spec = spec[len("vllm:"):]
    return _MODEL[kind](spec, **{k: v for k, v in kwargs.items() if v is not None})
