"""``RecipeArguments``: the deita_hf settings the SFT/DPO recipes add to TRL's own.

Parsed with ``TrlParser((ScriptArguments, SFTConfig | DPOConfig, ModelConfig, RecipeArguments))``
so every field is a YAML key and a ``--flag``.

Example:
    >>> from deita_hf.training.config import RecipeArguments
    >>> RecipeArguments().chat_template_mode
    'if_missing'
"""

from __future__ import annotations

from dataclasses import dataclass, field

from deita_hf.errors import ConfigError
from deita_hf.training.chat_template import CHAT_TEMPLATE_MODES

__all__ = ["RecipeArguments"]


@dataclass
class RecipeArguments:
    """deita_hf recipe settings (the rest comes from TRL's ``ScriptArguments``, ``SFTConfig`` /
    ``DPOConfig`` and ``ModelConfig``)."""

    chat_template_mode: str = field(
        default="if_missing",
        metadata={
            "help": "Install DEITA's Vicuna v1.1 chat template (with {%% generation %%} markers): "
            "'if_missing' (when the tokenizer has none, e.g. Mistral-7B-v0.1), 'always', 'never'.",
            "choices": list(CHAT_TEMPLATE_MODES),
        },
    )
    dataset_hub_id: str | None = field(
        default=None,
        metadata={
            "help": "Hub id the training data is published under (e.g. 'me/deita-6k'), linked from "
            "the model card when dataset_name is a local folder or file."
        },
    )
    max_train_samples: int | None = field(
        default=None,
        metadata={"help": "Train on the first N rows only (smoke tests, debugging)."},
    )
    eval_results_file: str | None = field(
        default=None,
        metadata={
            "help": "JSON file with evaluation results for the model card: a list of "
            "{'benchmark', 'metric', 'value'} objects, or a {benchmark: value} mapping."
        },
    )
    model_card_template: str | None = field(
        default=None,
        metadata={"help": "Jinja model-card template (default: the package's deita_hf/templates/model_card.md)."},
    )

    def __post_init__(self) -> None:
        if self.chat_template_mode not in CHAT_TEMPLATE_MODES:
            raise ConfigError(
                f"chat_template_mode={self.chat_template_mode!r}; expected one of "
                f"{CHAT_TEMPLATE_MODES}."
            )
        if self.max_train_samples is not None and self.max_train_samples <= 0:
            raise ConfigError(f"max_train_samples must be positive, got {self.max_train_samples}.")
