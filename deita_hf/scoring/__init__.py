"""Scoring: DEITA's model scorers, the paper's length baselines, and the measures of the paper's
study and of the data-selection survey (perplexity, IFD/Superfiltering, reward models, LLM judges,
InsTag, random; LESS gradient features, GraNd, EL2N), all with the one component interface of
:mod:`deita_hf.components`.

Spec strings (``length``, ``vllm:MODEL``, ``ifd:MODEL``, ``judge:quality@GEN``, ...) are parsed
by :mod:`deita_hf.components`. Models and generators load lazily.

Example:
    >>> from deita_hf.scoring import InstructionLengthScorer, RandomScorer
    >>> InstructionLengthScorer().describe()["kind"]
    'length-baseline'
    >>> RandomScorer(7).describe()["column"]
    'random'
"""

from __future__ import annotations

from deita_hf.scoring.baselines import InstructionLengthScorer, ResponseLengthScorer
from deita_hf.scoring.grand import EL2NScorer, GraNdScorer
from deita_hf.scoring.instag import InsTagTagger
from deita_hf.scoring.judge import JUDGE_PROMPTS, JudgePrompt, JudgeScorer
from deita_hf.scoring.less import LessGradientScorer
from deita_hf.scoring.perplexity import IFDScorer, PerplexityScorer, ifd_filter
from deita_hf.scoring.prompts import COMPLEXITY_TEMPLATE, QUALITY_TEMPLATE
from deita_hf.scoring.random_score import RandomScorer
from deita_hf.scoring.reward import RewardModelScorer
from deita_hf.scoring.scorers import ComplexityScorer, QualityScorer

__all__ = [
    "COMPLEXITY_TEMPLATE",
    "JUDGE_PROMPTS",
    "QUALITY_TEMPLATE",
    "ComplexityScorer",
    "EL2NScorer",
    "GraNdScorer",
    "IFDScorer",
    "InsTagTagger",
    "InstructionLengthScorer",
    "JudgePrompt",
    "JudgeScorer",
    "LessGradientScorer",
    "PerplexityScorer",
    "QualityScorer",
    "RandomScorer",
    "ResponseLengthScorer",
    "RewardModelScorer",
    "ifd_filter",
]

