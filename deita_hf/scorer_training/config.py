"""``ScorerArguments``: the settings the scorer recipe adds to TRL's own.

Parsed with ``TrlParser((ScriptArguments, SFTConfig, ModelConfig, ScorerArguments))``, so every
field is a YAML key and a ``--flag``.

Example:
    >>> ScorerArguments(kind="quality").kind
    'quality'
    >>> ScorerArguments(kind="length")
    Traceback (most recent call last):
    ...
    deita_hf.errors.ConfigError: kind='length'; expected one of ('complexity', 'quality').
"""

from __future__ import annotations

from dataclasses import dataclass, field

from deita_hf.errors import ConfigError
from deita_hf.scorer_training.data import KINDS, check_kind

__all__ = ["ScorerArguments"]


@dataclass
class ScorerArguments:
    """deita_hf scorer-recipe settings (the rest comes from TRL's ``ScriptArguments``,
    ``SFTConfig`` and ``ModelConfig``)."""

    kind: str = field(
        default="complexity",
        metadata={"help": "Which scorer to train: 'complexity' (prompt: the instruction) or "
                  "'quality' (instruction and response). Picks the template of plain "
                  "{instruction, [output], score} rows; released-form rows of the other kind "
                  "are skipped.", "choices": list(KINDS)},
    )
    dataset_hub_id: str | None = field(
        default=None,
        metadata={"help": "Hub id the training rows are published under, linked from the model "
                  "card when dataset_name is a local file or folder."},
    )
    max_train_samples: int | None = field(
        default=None, metadata={"help": "Train on the first N rows only (smoke tests)."})
    train_fraction: float = field(
        default=1.0,
        metadata={"help": "Train on this fraction of the rows (seeded permutation, as DEITA's "
                  "train.py); the rest is held out: the eval split, and the rows whose agreement "
                  "(Spearman, Kendall, MAE) the model card reports."},
    )
    split_seed: int = field(default=0, metadata={"help": "Seed of the train/held-out permutation."})
    held_out_agreement: bool = field(
        default=True,
        metadata={"help": "With train_fraction < 1 and one process: score the held-out rows with "
                  "the trained scorer and put the agreement in the card (else run deita-hf "
                  "scorer-eval --update-card)."},
    )
    model_card_template: str | None = field(
        default=None,
        metadata={"help": "Jinja model-card template (default: the package's "
                  "model_cards/scorer_model_card.md)."},
    )

    def __post_init__(self) -> None:
        check_kind(self.kind)
        if self.max_train_samples is not None and self.max_train_samples <= 0:
            raise ConfigError(f"max_train_samples must be positive, got {self.max_train_samples}.")
        if not 0.0 < float(self.train_fraction) <= 1.0:
            raise ConfigError(f"train_fraction must be in (0, 1], got {self.train_fraction}.")
