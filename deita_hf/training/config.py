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
from typing import Any

from deita_hf.errors import ConfigError
from deita_hf.training.chat_template import CHAT_TEMPLATE_MODES

__all__ = ["DEITA_SETTINGS", "RecipeArguments", "check_recipe_args", "recipe_differences"]

#: the settings that make a run DEITA's recipe, per stage (hkust-nlp/deita examples/train/sft.sh
#: and dpo.sh at commit acec45ca; recipes/deita-*/<stage>.yaml set them, for 8 processes: a test
#: checks). ``total_train_batch_size`` is per_device x accumulation x processes.
DEITA_SETTINGS: dict[str, dict[str, Any]] = {
    "sft": {"learning_rate": 2e-5, "num_train_epochs": 6, "lr_scheduler_type": "cosine",
            "warmup_steps": 0.1, "weight_decay": 0.0, "max_length": 2048,
            "assistant_only_loss": True, "packing": False, "total_train_batch_size": 512,
            "train_fraction": 0.98, "split_seed": 0},
    "dpo": {"learning_rate": 5e-7, "num_train_epochs": 9, "lr_scheduler_type": "linear",
            "warmup_steps": 0.1, "beta": 0.1, "loss_type": ["sigmoid"], "max_length": 2048,
            "max_prompt_length": 512, "chat_template_mode": "deita",
            "total_train_batch_size": 32},
}


@dataclass
class RecipeArguments:
    """deita_hf recipe settings (the rest comes from TRL's ``ScriptArguments``, ``SFTConfig`` /
    ``DPOConfig`` and ``ModelConfig``)."""

    chat_template_mode: str = field(
        default="if_missing",
        metadata={
            "help": "How conversations are formatted. 'if_missing' / 'always' / 'never': install "
            "FastChat's Vicuna v1.1 chat template (DEITA's SFT format, with {%% generation %%} "
            "markers) when the tokenizer has none (e.g. Mistral-7B-v0.1) / always / never. "
            "'deita' (DPO only): the strings of DEITA's dpo_train.py ('{system} user: {prompt} ' "
            "and 'assistant: {reply}</s>'), prompts cut to their last max_prompt_length tokens.",
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
    max_prompt_length: int = field(
        default=512,
        metadata={"help": "chat_template_mode 'deita' (DPO): when prompt + longer response exceed "
                  "max_length, keep the prompt's last N tokens, then the responses' first "
                  "max_length - N (DEITA: 512 of 2048, TRL 0.7's rule)."},
    )
    train_fraction: float = field(
        default=1.0,
        metadata={"help": "Train on this fraction of the rows, in the order of a seeded random "
                  "permutation (numpy RandomState(split_seed).permutation, as DEITA's train.py: "
                  "np.random.seed(0); 0.98); the rest is the eval split."},
    )
    split_seed: int = field(
        default=0,
        metadata={"help": "Seed of the train/eval permutation (DEITA: 0)."},
    )
    model_card_template: str | None = field(
        default=None,
        metadata={"help": "Jinja model-card template (default: the package's model_cards/model_card.md)."},
    )

    def __post_init__(self) -> None:
        if self.chat_template_mode not in CHAT_TEMPLATE_MODES:
            raise ConfigError(
                f"chat_template_mode={self.chat_template_mode!r}; expected one of "
                f"{CHAT_TEMPLATE_MODES}."
            )
        if self.max_train_samples is not None and self.max_train_samples <= 0:
            raise ConfigError(f"max_train_samples must be positive, got {self.max_train_samples}.")
        if not 0.0 < float(self.train_fraction) <= 1.0:
            raise ConfigError(f"train_fraction must be in (0, 1], got {self.train_fraction}.")
        if self.max_prompt_length < 1:
            raise ConfigError(f"max_prompt_length must be positive, got {self.max_prompt_length}.")


def check_recipe_args(stage: str, training_args: Any, recipe_args: RecipeArguments) -> None:
    """Check the settings that only make sense together, when the config is parsed (before any
    data, tokenizer or model loads).

    Args:
        stage: ``"sft"`` or ``"dpo"``.
        training_args: TRL's ``SFTConfig`` / ``DPOConfig`` (its ``max_length`` is read).
        recipe_args: the :class:`RecipeArguments`.

    Raises:
        ConfigError: ``chat_template_mode: deita`` for SFT, or (DPO in the ``deita`` format) a
            ``max_length`` not above ``max_prompt_length``; the message names both flags, their
            values and what to change.

    Example:
        >>> from types import SimpleNamespace
        >>> check_recipe_args("dpo", SimpleNamespace(max_length=2048),
        ...                   RecipeArguments(chat_template_mode="deita"))
        >>> check_recipe_args("dpo", SimpleNamespace(max_length=256),
        ...                   RecipeArguments(chat_template_mode="deita"))
        Traceback (most recent call last):
        ...
        deita_hf.errors.ConfigError: --max_length 256 is not above --max_prompt_length 512: ...
    """
    deita_format = recipe_args.chat_template_mode == "deita"
    if deita_format and stage != "dpo":
        raise ConfigError(
            "chat_template_mode='deita' is the format of DEITA's dpo_train.py (DPO only). DEITA's "
            "SFT format is FastChat's Vicuna v1.1 template: use chat_template_mode 'if_missing' "
            "or 'always'.")
    max_length = getattr(training_args, "max_length", None)
    if deita_format and max_length is not None and recipe_args.max_prompt_length >= max_length:
        raise ConfigError(
            f"--max_length {max_length} is not above --max_prompt_length "
            f"{recipe_args.max_prompt_length}: with chat_template_mode 'deita' a pair that is too "
            f"long keeps the prompt's last max_prompt_length tokens and the responses' first "
            f"max_length - max_prompt_length, so max_length must be larger. Raise --max_length "
            f"above {recipe_args.max_prompt_length} or lower --max_prompt_length below "
            f"{max_length} (DEITA: max_length 2048, max_prompt_length 512).")


def _same(used: Any, wanted: Any) -> bool:
    used = getattr(used, "value", used)  # enums (SchedulerType) as text
    if isinstance(wanted, list):
        used = list(used) if isinstance(used, (list, tuple)) else [used]
        return [getattr(u, "value", u) for u in used] == wanted
    if isinstance(wanted, bool) or isinstance(used, bool):
        return used is wanted
    if isinstance(wanted, (int, float)) and isinstance(used, (int, float)):
        return abs(float(used) - float(wanted)) <= 1e-9 * max(1.0, abs(float(wanted)))
    return used == wanted


def recipe_differences(stage: str, hparams: dict[str, Any],
                       recipe_args: Any = None) -> dict[str, dict[str, Any]]:
    """The settings of a run that differ from DEITA's recipe (:data:`DEITA_SETTINGS`).

    Args:
        stage: ``"sft"`` or ``"dpo"``.
        hparams: the run's hyper-parameters
            (:func:`deita_hf.training.model_card.hyperparameters`, with
            ``total_train_batch_size``).
        recipe_args: the :class:`RecipeArguments` (``train_fraction``, ``chat_template_mode``,
            ...), or None.

    Returns:
        ``{name: {"used": value, "recipe": DEITA's value}}``; empty when the run used the
        recipe's settings.

    Raises:
        ConfigError: unknown ``stage``.

    Example:
        >>> recipe_differences("sft", {**DEITA_SETTINGS["sft"], "learning_rate": 1e-4},
        ...                    RecipeArguments(train_fraction=0.98))
        {'learning_rate': {'used': 0.0001, 'recipe': 2e-05}}
    """
    if stage not in DEITA_SETTINGS:
        raise ConfigError(f"stage={stage!r}; expected one of {sorted(DEITA_SETTINGS)}.")
    out = {}
    for name, wanted in DEITA_SETTINGS[stage].items():
        if name in hparams:
            used = hparams[name]
        elif recipe_args is not None and hasattr(recipe_args, name):
            used = getattr(recipe_args, name)
        else:
            used = None
        if not _same(used, wanted):
            used = getattr(used, "value", used)
            out[name] = {"used": list(used) if isinstance(used, tuple) else used,
                         "recipe": wanted}
    # a step or row limit cuts the recipe's epochs short
    if hparams.get("max_steps") not in (None, -1, 0):
        out["max_steps"] = {"used": hparams["max_steps"], "recipe": None}
    if getattr(recipe_args, "max_train_samples", None) is not None:
        out["max_train_samples"] = {"used": recipe_args.max_train_samples, "recipe": None}
    return out
