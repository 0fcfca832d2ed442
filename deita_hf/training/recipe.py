"""The steps the SFT and DPO recipe scripts share: logging, data, tokenizer, resume, save.

The scripts in ``recipes/`` stay thin (as TRL's ``trl/scripts/sft.py``) and call these.

Example:
    from deita_hf.training.recipe import resolve_checkpoint
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datasets import Dataset

from deita_hf.data.loading import load_pool
from deita_hf.data.preference import to_preference_dataset
from deita_hf.errors import ConfigError, InputNotFoundError
from deita_hf.training.chat_template import describe_format, ensure_chat_template
from deita_hf.training.config import RecipeArguments, recipe_differences
from deita_hf.training.model_card import (
    hub_url,
    hyperparameters,
    load_eval_results,
    read_data_provenance,
    render_model_card,
)
from deita_hf.training.sft_data import to_sft_dataset

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = [
    "check_trainable",
    "finish_training",
    "load_tokenizer",
    "load_training_data",
    "model_init_kwargs",
    "resolve_checkpoint",
    "setup_logging",
    "split_train_eval",
]

logger = logging.getLogger("deita_hf.recipes")


def setup_logging(training_args: Any) -> logging.Logger:
    """Configure logging as the alignment-handbook scripts do.

    The process log level (``training_args.get_process_log_level()``: ``log_level`` on the main
    process, ``log_level_replica`` elsewhere) goes to the recipe logger, ``datasets`` and
    ``transformers``.

    Returns:
        The recipe logger.
    """
    import datasets
    import transformers

    logging.basicConfig(
        format="%(asctime)s - %(levelname)s - %(name)s - %(message)s",
        datefmt="%Y-%m-%d %H:%M:%S",
        handlers=[logging.StreamHandler(sys.stdout)],
    )
    log_level = training_args.get_process_log_level()
    for name in ("deita_hf", "deita_hf.recipes"):
        logging.getLogger(name).setLevel(log_level)
    datasets.utils.logging.set_verbosity(log_level)
    transformers.utils.logging.set_verbosity(log_level)
    transformers.utils.logging.enable_default_handler()
    transformers.utils.logging.enable_explicit_format()
    logger.warning(
        "Process rank %s, device %s, n_gpu %s, distributed %s, bf16 %s",
        training_args.local_process_index, training_args.device, training_args.n_gpu,
        training_args.parallel_mode.value, training_args.bf16,
    )
    return logger


def load_training_data(script_args: Any, recipe_args: RecipeArguments, *, stage: str,
                       split: str | None = None) -> Dataset:
    """Load ``script_args.dataset_name`` and convert it for the trainer.

    Runs before the model loads, so unconvertible data stops the run at once.

    Args:
        script_args: TRL ``ScriptArguments`` (``dataset_name``, ``dataset_train_split``).
        recipe_args: :class:`RecipeArguments` (``max_train_samples``).
        stage: ``"sft"`` (TRL ``messages``) or ``"dpo"`` (TRL ``prompt``/``chosen``/``rejected``).
        split: the split to load (default ``script_args.dataset_train_split``).

    Returns:
        The converted ``Dataset``.

    Raises:
        ValueError: no ``dataset_name``; deita_hf.data.formats.FormatError: the data cannot be
            converted (the message names the columns found and those accepted).
    """
    if not script_args.dataset_name:
        raise ConfigError("Set dataset_name (a Hub id, a deita-hf select output folder, a "
                         "save_to_disk folder or a json/jsonl/parquet file).")
    split = split or script_args.dataset_train_split
    ds = load_pool(script_args.dataset_name, split=split)
    if recipe_args.max_train_samples is not None:
        ds = ds.select(range(min(recipe_args.max_train_samples, len(ds))))
    if stage == "sft":
        return to_sft_dataset(ds)
    if stage == "dpo":
        return to_preference_dataset(ds)
    raise ConfigError(f"stage={stage!r}; expected 'sft' or 'dpo'.")


def split_train_eval(ds: Dataset, train_fraction: float, *, seed: int = 0
                     ) -> tuple[Dataset, Dataset]:
    """Split rows as DEITA's ``train.py`` does: a seeded permutation, the first part trains.

    The original runs ``np.random.seed(0); perm = np.random.permutation(len(raw_data))`` and
    trains on ``perm[:int(len(perm) * 0.98)]``, in that order, holding out the rest as the eval
    set. ``numpy.random.RandomState(seed).permutation(n)`` is the same permutation, without
    touching numpy's global state.

    Args:
        ds: the converted training rows.
        train_fraction: the share to train on, in (0, 1] (DEITA: 0.98).
        seed: the permutation's seed (DEITA: 0).

    Returns:
        ``(train, held_out)``.

    Example:
        >>> from datasets import Dataset
        >>> train, held = split_train_eval(Dataset.from_dict({"i": list(range(10))}), 0.8)
        >>> train["i"][:], held["i"][:]
        ([2, 8, 4, 9, 1, 6, 7, 3], [0, 5])
    """
    import numpy as np

    if not 0.0 < float(train_fraction) <= 1.0:
        raise ConfigError(f"train_fraction must be in (0, 1], got {train_fraction}.")
    perm = np.random.RandomState(seed).permutation(len(ds))
    split = int(len(perm) * float(train_fraction))
    return ds.select(perm[:split].tolist()), ds.select(perm[split:].tolist())


def load_tokenizer(model_args: Any, training_args: Any,
                   recipe_args: RecipeArguments) -> PreTrainedTokenizerBase:
    """Load the base model's tokenizer and give it FastChat's Vicuna v1.1 template if needed
    (``chat_template_mode``; ``deita`` installs none: the DPO data is formatted as strings).

    Returns:
        The tokenizer (saved with the model at the end, template included).
    """
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(
        model_args.model_name_or_path, revision=model_args.model_revision,
        trust_remote_code=training_args.trust_remote_code,
    )
    ensure_chat_template(tokenizer, recipe_args.chat_template_mode)
    return tokenizer


def model_init_kwargs(model_args: Any, training_args: Any) -> dict[str, Any]:
    """``from_pretrained`` kwargs from ``ModelConfig``, as TRL's scripts build them."""
    kwargs = dict(
        revision=model_args.model_revision,
        trust_remote_code=training_args.trust_remote_code,
        attn_implementation=model_args.attn_implementation,
        dtype=model_args.dtype,
    )
    kwargs.update(training_args.model_init_kwargs or {})
    return kwargs


def resolve_checkpoint(training_args: Any) -> str | None:
    """The checkpoint to resume from.

    ``resume_from_checkpoint`` may be a checkpoint folder, or ``"true"``/``"latest"`` for the
    last ``checkpoint-*`` in ``output_dir``. When unset and ``output_dir`` already holds
    checkpoints, training resumes from the last one (as the alignment-handbook and DEITA's own
    scripts do); set ``resume_from_checkpoint: "false"`` to start over.

    Returns:
        A checkpoint path, or None to start from scratch.

    Raises:
        FileNotFoundError: the named checkpoint or any checkpoint for ``"true"`` is missing.
    """
    from transformers.trainer_utils import get_last_checkpoint

    value = training_args.resume_from_checkpoint
    out = training_args.output_dir
    last = get_last_checkpoint(out) if out and os.path.isdir(out) else None
    if isinstance(value, str) and value.lower() == "false":
        return None
    if value is None:
        if last is not None:
            logger.info("Checkpoint found in %s: resuming from %s.", out, last)
        return last
    if value is True or (isinstance(value, str) and value.lower() in ("true", "latest")):
        if last is None:
            raise InputNotFoundError(f"resume_from_checkpoint={value!r} but {out} holds no "
                                    f"checkpoint-* folder.")
        return last
    if not os.path.isdir(value):
        raise InputNotFoundError(f"resume_from_checkpoint={value!r} is not a folder.")
    return str(value)


def check_trainable(trainer: Any) -> None:
    """Fail with a clear message when the trainer's preprocessing left no example to train on.

    TRL drops examples whose assistant tokens (SFT) or completions (DPO) were cut off by
    ``max_length``; when every example goes, the sampler would fail with
    ``num_samples=0``.

    Raises:
        ValueError: the tokenized training set is empty.
    """
    if trainer.train_dataset is not None and len(trainer.train_dataset) == 0:
        raise ConfigError(
            f"No training example is left after tokenization: with max_length="
            f"{trainer.args.max_length} every example lost all its assistant/completion tokens "
            f"to truncation (the Vicuna system prompt alone is ~40 LLaMA tokens). Raise "
            f"max_length or train on shorter conversations."
        )


def save_trained(trainer: Any, train_result: Any, what: str = "Model") -> dict[str, Any]:
    """Log and save the training metrics and state, and save the model (every recipe does this).

    Returns:
        The train metrics (with ``train_samples``).
    """
    metrics = dict(train_result.metrics)
    metrics["train_samples"] = len(trainer.train_dataset)
    trainer.log_metrics("train", metrics)
    trainer.save_metrics("train", metrics)
    trainer.save_state()
    trainer.save_model(trainer.args.output_dir)
    logger.info("%s saved to %s", what, trainer.args.output_dir)
    return metrics


def finish_training(trainer: Any, train_result: Any, *, stage: str, script_args: Any,
                    model_args: Any, recipe_args: RecipeArguments) -> Path:
    """Save the model, tokenizer, metrics and model card; push them when asked.

    The model card is written next to the model (``output_dir/README.md``) on the main process
    (saying whether the run used the DEITA recipe's settings, and which differ) and pushed with
    it to ``hub_model_id``, by default the ``output_dir``'s name (as transformers and TRL do);
    the repository's URL on the configured endpoint (``HF_ENDPOINT``) is printed.
    ``trainer.push_to_hub`` is called with TRL's own card generation turned off so that it
    uploads this card.

    Returns:
        The output folder.
    """
    args = trainer.args
    metrics = save_trained(trainer, train_result, "Model")
    out = Path(args.output_dir)
    if trainer.accelerator.is_main_process:
        trainer.model.config.use_cache = True
        trainer.model.config.save_pretrained(out)
        provenance = read_data_provenance(script_args.dataset_name,
                                          dataset_hub_id=recipe_args.dataset_hub_id)
        eval_results = (load_eval_results(recipe_args.eval_results_file)
                        if recipe_args.eval_results_file else None)
        train_metrics = {k: v for k, v in metrics.items()
                         if k in ("train_loss", "train_runtime", "epoch", "train_samples")}
        train_metrics["global_step"] = trainer.state.global_step
        # the repo name transformers/TRL push to: hub_model_id, else output_dir's name
        name = args.hub_model_id.split("/")[-1] if args.hub_model_id else out.name
        template = getattr(trainer.processing_class, "chat_template", None)
        hparams = hyperparameters(args)
        card = render_model_card(
            stage=stage, base_model=model_args.model_name_or_path, provenance=provenance,
            hparams=hparams, model_name=name, train_metrics=train_metrics,
            recipe_differences=recipe_differences(stage, hparams, recipe_args),
            eval_results=eval_results, num_train_rows=len(trainer.train_dataset),
            chat_template=describe_format(stage, recipe_args.chat_template_mode, template,
                                          max_length=getattr(args, "max_length", None),
                                          max_prompt_length=recipe_args.max_prompt_length),
            template_path=recipe_args.model_card_template,
        )
        card.save(out / "README.md")
        logger.info("Model card written to %s", out / "README.md")
    if args.push_to_hub:
        # the card written above is the one to upload: skip TRL's draft card
        trainer.create_model_card = lambda *a, **k: None
        trainer.push_to_hub(commit_message=f"deita_hf {stage} recipe")
        if trainer.accelerator.is_main_process:  # shown at every log level
            print(f"Pushed the model to {hub_url(trainer.hub_model_id)}", flush=True)
    return out
