"""DEITA scoring: model scorers, the paper's length baselines, and a factory for the CLI.

Spec strings (``length``, ``vllm:MODEL``, ...) are parsed by :mod:`deita_hf.components`.

Example:
    >>> from deita_hf.scoring import InstructionLengthScorer
    >>> InstructionLengthScorer().describe()["kind"]
    'length-baseline'
"""

from __future__ import annotations

from deita_hf.scoring.baselines import InstructionLengthScorer, ResponseLengthScorer
from deita_hf.scoring.prompts import COMPLEXITY_TEMPLATE, QUALITY_TEMPLATE
from deita_hf.scoring.scorers import ComplexityScorer, QualityScorer

__all__ = [
    "COMPLEXITY_TEMPLATE", "QUALITY_TEMPLATE", "ComplexityScorer", "QualityScorer",
    "InstructionLengthScorer", "ResponseLengthScorer",
]
