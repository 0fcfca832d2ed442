"""Model cards for models trained with the deita_hf recipes.

The card states the base model, the training data with a link to its dataset card and how it
was selected (read from the ``deita_selection.json`` that ``deita-hf select`` writes, or the
``deita_preference.json`` of ``deita-hf preference``), the hyper-parameters, the framework
versions, whether the run used DEITA's recipe settings (and which differ) and, when results
are given, an evaluation table. Rendering uses ``huggingface_hub.ModelCard.from_template`` with
the Jinja template ``model_cards/model_card.md`` (the top-level folder, shipped in the wheel as
``deita_hf/model_cards``). Links point at the configured endpoint (``HF_ENDPOINT``).

Example:
    >>> from deita_hf.training.model_card import read_data_provenance
    >>> read_data_provenance("out/deita-6k")["selection"]["budget"]   # doctest: +SKIP
    6000
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deita_hf.errors import ConfigError, InputNotFoundError
from deita_hf.folder.layout import PREFERENCE_FILE, SELECTION_FILE

if TYPE_CHECKING:
    from huggingface_hub import ModelCard

__all__ = [
    "DEFAULT_TEMPLATE",
    "MODEL_CARDS_DIR",
    "hub_url",
    "framework_versions",
    "hyperparameters",
    "load_eval_results",
    "read_data_provenance",
    "render_model_card",
]

logger = logging.getLogger(__name__)

#: the model-card templates: the top-level ``model_cards/`` (``deita_hf/model_cards`` links to
#: it in a checkout; the wheel ships it there)
MODEL_CARDS_DIR = Path(__file__).resolve().parents[1] / "model_cards"
#: the folder the model-card templates are read from (the scorer card's too)
TEMPLATES_DIR = MODEL_CARDS_DIR
DEFAULT_TEMPLATE = MODEL_CARDS_DIR / "model_card.md"


def hub_url(repo_id: str, repo_type: str = "model") -> str:
    """A repository's page on the configured Hub endpoint (``HF_ENDPOINT``, else the Hub).

    Example:
        >>> from huggingface_hub import constants
        >>> hub_url("me/m") == f"{constants.ENDPOINT}/me/m"
        True
    """
    from huggingface_hub import constants

    prefix = "" if repo_type == "model" else f"{repo_type}s/"
    return f"{constants.ENDPOINT.rstrip('/')}/{prefix}{repo_id}"


_HUB_ID = re.compile(r"[\w.-]+/[\w.-]+")


def _is_hub_id(name: str | None) -> bool:
    return bool(name) and _HUB_ID.fullmatch(name) is not None and not Path(name).exists()


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path} is not valid JSON ({err}); re-run the command that wrote it.") from err


def read_data_provenance(dataset_name: str, *, dataset_hub_id: str | None = None) -> dict[str, Any]:
    """Describe where the training data comes from and how it was selected.

    Args:
        dataset_name: what the recipe loaded: a Hub id, a ``deita-hf select`` /
            ``deita-hf preference`` output folder, a ``save_to_disk`` folder or a file.
        dataset_hub_id: the Hub id the data is published under, when ``dataset_name`` is local.

    Returns:
        A dict with ``name``, ``hub_id`` (or None), ``card_url`` (the dataset card, or None),
        ``selection`` (the ``deita_selection.json`` contents, or None) and ``preference`` (the
        ``deita_preference.json`` contents, or None).

    Raises:
        ValueError: a settings file exists but is not valid JSON.
    """
    hub_id = dataset_hub_id or (dataset_name if _is_hub_id(dataset_name) else None)
    info: dict[str, Any] = {"name": dataset_name, "hub_id": hub_id, "selection": None,
                            "preference": None,
                            "card_url": hub_url(hub_id, "dataset") if hub_id else None}
    path = Path(dataset_name)
    if path.is_dir():
        for key, filename in (("selection", SELECTION_FILE), ("preference", PREFERENCE_FILE)):
            if (path / filename).is_file():
                info[key] = _read_json(path / filename)
        if info["card_url"] is None and (path / "README.md").is_file():
            info["card_url"] = (path / "README.md").resolve().as_uri()
    elif hub_id and hub_id == dataset_name:
        from huggingface_hub import hf_hub_download

        for key, filename in (("selection", SELECTION_FILE), ("preference", PREFERENCE_FILE)):
            try:
                local = hf_hub_download(hub_id, filename, repo_type="dataset")
            except Exception as err:  # missing file, offline, gated: the card says so
                logger.info("No %s in dataset %s (%s).", filename, hub_id, type(err).__name__)
                continue
            info[key] = _read_json(Path(local))
    return info


def framework_versions() -> dict[str, str]:
    """Installed versions of the libraries a training run depends on.

    Example:
        >>> "trl" in framework_versions()
        True
    """
    names = ["deita_hf", "trl", "transformers", "torch", "datasets", "accelerate",
             "huggingface_hub", "tokenizers"]
    out = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


#: TrainingArguments / SFTConfig / DPOConfig fields shown in the card, in this order
_HPARAM_FIELDS = (
    "learning_rate", "num_train_epochs", "max_steps", "per_device_train_batch_size",
    "gradient_accumulation_steps", "lr_scheduler_type", "warmup_steps", "max_length", "optim",
    "weight_decay", "seed", "bf16", "activation_checkpointing", "assistant_only_loss", "packing",
    "beta", "loss_type",
)


def hyperparameters(training_args: Any) -> dict[str, Any]:
    """The card's hyper-parameter table from a ``TrainingArguments``-like object.

    Adds ``num_processes`` and ``total_train_batch_size``; leaves out ``max_steps`` when it is
    not set (-1) and fields the config does not have (``beta`` on SFT).

    Example:
        >>> from types import SimpleNamespace
        >>> hyperparameters(SimpleNamespace(learning_rate=2e-5, per_device_train_batch_size=4,
        ...                                 gradient_accumulation_steps=8, world_size=2))
        {'learning_rate': 2e-05, 'per_device_train_batch_size': 4, 'gradient_accumulation_steps': 8, 'num_processes': 2, 'total_train_batch_size': 64}
    """
    out: dict[str, Any] = {}
    for name in _HPARAM_FIELDS:
        if not hasattr(training_args, name):
            continue
        value = getattr(training_args, name)
        value = getattr(value, "value", value)  # enums (SchedulerType, OptimizerNames) as text
        if name == "max_steps" and (value is None or value <= 0):
            continue
        out[name] = value
    world = int(getattr(training_args, "world_size", 1) or 1)
    out["num_processes"] = world
    if "per_device_train_batch_size" in out and "gradient_accumulation_steps" in out:
        out["total_train_batch_size"] = (
            out["per_device_train_batch_size"] * out["gradient_accumulation_steps"] * world
        )
    return out


def load_eval_results(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Read evaluation results for the card.

    Args:
        path: a JSON file holding a list of ``{"benchmark", "metric", "value"}`` objects (an
            optional ``"dataset"`` key names the benchmark's Hub dataset), or a mapping
            ``{benchmark: value}``.

    Returns:
        A list of ``{"benchmark", "metric", "value"}`` dicts.

    Raises:
        ValueError: the file holds something else; the message shows what was expected.
    """
    data = _read_json(Path(path))
    if isinstance(data, dict):
        data = [{"benchmark": k, "metric": "score", "value": v} for k, v in data.items()]
    if not isinstance(data, list) or not all(
        isinstance(r, dict) and {"benchmark", "value"} <= set(r) for r in data
    ):
        raise ConfigError(
            f"{path}: expected a list of {{'benchmark', 'metric', 'value'}} objects or a "
            f"{{benchmark: value}} mapping, e.g. [{{'benchmark': 'MT-Bench', 'metric': 'score', "
            f"'value': 7.2}}]."
        )
    return [{"metric": "score", **r} for r in data]


def render_model_card(*, stage: str, base_model: str, provenance: dict[str, Any],
                      hparams: dict[str, Any], model_name: str,
                      train_metrics: dict[str, Any] | None = None,
                      eval_results: list[dict[str, Any]] | None = None,
                      num_train_rows: int | None = None, chat_template: str | None = None,
                      template_path: str | os.PathLike | None = None,
                      recipe_differences: dict[str, Any] | None = None) -> ModelCard:
    """Render the model card.

    Args:
        stage: ``"sft"`` or ``"dpo"``.
        base_model: the model that was fine-tuned (Hub id or path).
        provenance: :func:`read_data_provenance` output.
        hparams: :func:`hyperparameters` output.
        model_name: the model's name (the Hub repo name or output folder name).
        train_metrics: ``trainer.train()`` metrics (train_loss, runtime, ...) and global step.
        eval_results: :func:`load_eval_results` output, shown as a table when given.
        num_train_rows: rows the model was trained on.
        chat_template: a short description of the chat template used.
        template_path: Jinja template (default :data:`DEFAULT_TEMPLATE`).
        recipe_differences: :func:`deita_hf.training.config.recipe_differences` of the run:
            empty, the card says the run follows the DEITA recipe; otherwise it lists the
            settings that differ; None (not known), it says neither.

    Returns:
        A ``huggingface_hub.ModelCard``; ``card.save(path)`` writes it.

    Raises:
        FileNotFoundError: the template is missing.
        ValueError: unknown ``stage``.
    """
    from huggingface_hub import ModelCard, ModelCardData

    if stage not in ("sft", "dpo"):
        raise ConfigError(f"stage={stage!r}; expected 'sft' or 'dpo'.")
    template = Path(template_path) if template_path else DEFAULT_TEMPLATE
    if not template.is_file():
        raise InputNotFoundError(
            f"Model-card template {template} not found; pass model_card_template=<path to a "
            f"Jinja .md template> (the default is model_cards/model_card.md)."
        )
    card_data = ModelCardData(
        base_model=base_model if _is_hub_id(base_model) else None,
        datasets=[provenance["hub_id"]] if provenance.get("hub_id") else None,
        library_name="transformers",
        model_name=model_name,
        tags=["deita", "deita-hf", "trl", stage],
        pipeline_tag="text-generation",
    )
    return ModelCard.from_template(
        card_data,
        template_path=str(template),
        stage=stage,
        stage_name={"sft": "supervised fine-tuning (SFT)",
                    "dpo": "direct preference optimisation (DPO)"}[stage],
        model_name=model_name,
        base_model_name=base_model,
        base_model_url=hub_url(base_model) if _is_hub_id(base_model) else None,
        data=provenance,
        selection=provenance.get("selection"),
        preference=provenance.get("preference"),
        hparams=hparams,
        train_metrics=train_metrics or {},
        eval_results=eval_results or [],
        num_train_rows=num_train_rows,
        chat_template=chat_template,
        versions=framework_versions(),
        recipe=None if recipe_differences is None else {
            "follows": not recipe_differences, "differences": dict(recipe_differences)},
    )
