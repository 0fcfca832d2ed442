"""Train your own DEITA complexity or quality scorer, and measure how well it agrees with labels.

- :mod:`~deita_hf.scorer_training.data`: read scorer rows (the released ShareGPT form, a
  ``deita-hf rank`` output folder, plain ``{instruction, [output], score}`` rows).
- :mod:`~deita_hf.scorer_training.tokens`: prompt + one score token, prompt masked.
- :mod:`~deita_hf.scorer_training.train`: the TRL recipe (``recipes/scorer.py``,
  ``deita-hf scorer-train``).
- :mod:`~deita_hf.scorer_training.heldout` and :mod:`~deita_hf.scorer_training.agreement`:
  ``deita-hf scorer-eval`` (Spearman, Kendall, MAE, a figure).
- :mod:`~deita_hf.scorer_training.card`: the scorer's model card.

Example:
    >>> from deita_hf.scorer_training import ScorerArguments, agreement
    >>> agreement([1.0, 2.0, 3.0], [1, 2, 3])["overall"]["spearman"]
    1.0
"""

from deita_hf.scorer_training.agreement import agreement, kendall_tau_b, spearman
from deita_hf.scorer_training.card import render_scorer_card, update_scorer_card
from deita_hf.scorer_training.config import ScorerArguments
from deita_hf.scorer_training.data import (
    load_scorer_rows,
    parse_prompt,
    parse_score,
    to_scorer_rows,
)
from deita_hf.scorer_training.heldout import (
    evaluate_rows,
    evaluate_scorer,
    predict_scores,
)
from deita_hf.scorer_training.tokens import check_score_tokens, tokenize_scorer_rows
from deita_hf.scorer_training.train import make_scorer_parser, run_scorer_training

__all__ = [
    "ScorerArguments",
    "agreement",
    "check_score_tokens",
    "evaluate_rows",
    "evaluate_scorer",
    "kendall_tau_b",
    "load_scorer_rows",
    "make_scorer_parser",
    "parse_prompt",
    "parse_score",
    "predict_scores",
    "render_scorer_card",
    "run_scorer_training",
    "spearman",
    "to_scorer_rows",
    "tokenize_scorer_rows",
    "update_scorer_card",
]
