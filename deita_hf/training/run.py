"""The steps every training script shares: log the configs, load data before the model, train,
resume, save and write the model card.

Example:
    >>> from deita_hf.training.run import STAGES
    >>> STAGES
    ('sft', 'dpo')
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datasets import Dataset

__all__ = ["STAGES", "make_stage_parser", "prepare", "run_stage", "train_and_finish"]

STAGES = ("sft", "dpo")


def prepare(stage: str, script_args: Any, training_args: Any, model_args: Any,
            recipe_args: Any) -> dict[str, Any]:
    """Log the configs, load (and convert) the data, find the checkpoint, load the tokenizer.

    Data comes first: a dataset that cannot be converted stops the run before the model loads.
    ``train_fraction < 1`` splits the rows as DEITA's ``train.py`` did (the held-out rows are
    the eval split); ``chat_template_mode: deita`` (DPO) turns the pairs into the token ids of
    DEITA's ``dpo_train.py`` strings (:mod:`deita_hf.training.dpo_data`).

    Returns:
        ``{"logger", "train_dataset", "eval_dataset", "checkpoint", "tokenizer", "peft_config"}``.
    """
    from trl import get_peft_config

    from deita_hf.training import (
        load_tokenizer,
        load_training_data,
        model_init_kwargs,
        resolve_checkpoint,
        setup_logging,
    )
    from deita_hf.training.config import check_recipe_args
    from deita_hf.training.recipe import split_train_eval

    check_recipe_args(stage, training_args, recipe_args)
    deita_format = recipe_args.chat_template_mode == "deita"
    logger = setup_logging(training_args)
    for name, args in (("Script", script_args), ("Model", model_args), ("Recipe", recipe_args),
                       ("Training", training_args)):
        logger.info("%s parameters %s", name, args)
    train_dataset = load_training_data(script_args, recipe_args, stage=stage)
    eval_dataset = None
    if recipe_args.train_fraction < 1.0:
        train_dataset, held_out = split_train_eval(train_dataset, recipe_args.train_fraction,
                                                   seed=recipe_args.split_seed)
        logger.info("train_fraction=%s (seed %s): %d rows to train on, %d held out as the eval "
                    "split.", recipe_args.train_fraction, recipe_args.split_seed,
                    len(train_dataset), len(held_out))
        if training_args.eval_strategy != "no":
            eval_dataset = held_out
    elif training_args.eval_strategy != "no":
        eval_dataset = load_training_data(script_args, recipe_args, stage=stage,
                                          split=script_args.dataset_test_split)
    checkpoint = resolve_checkpoint(training_args)
    tokenizer = load_tokenizer(model_args, training_args, recipe_args)
    if deita_format:
        from deita_hf.training.dpo_data import deita_dpo_dataset

        def tokenize(ds: Dataset) -> Dataset:
            return deita_dpo_dataset(ds, tokenizer, max_length=training_args.max_length,
                                     max_prompt_length=recipe_args.max_prompt_length)

        train_dataset = tokenize(train_dataset)
        eval_dataset = tokenize(eval_dataset) if eval_dataset is not None else None
    training_args.model_init_kwargs = model_init_kwargs(model_args, training_args)
    return {"logger": logger, "train_dataset": train_dataset, "eval_dataset": eval_dataset,
            "checkpoint": checkpoint, "tokenizer": tokenizer,
            "peft_config": get_peft_config(model_args)}


def train_and_finish(trainer: Any, stage: str, prepared: dict[str, Any], script_args: Any,
                     model_args: Any, recipe_args: Any) -> Any:
    """Check the trainer, train (resuming from the checkpoint), save, write the card."""
    from deita_hf.training import check_trainable, finish_training

    logger = prepared["logger"]
    check_trainable(trainer)
    logger.info("*** Train ***")
    train_result = trainer.train(resume_from_checkpoint=prepared["checkpoint"])
    finish_training(trainer, train_result, stage=stage, script_args=script_args,
                    model_args=model_args, recipe_args=recipe_args)
    logger.info("*** Training complete ***")
    return trainer


def run_stage(stage: str, script_args: Any, training_args: Any, model_args: Any,
              recipe_args: Any = None) -> Any:
    """Run the SFT or DPO recipe: prepare, build the TRL trainer, train, save, write the card.

    Returns:
        The trained ``SFTTrainer``/``DPOTrainer``.
    """
    import trl

    from deita_hf.training import RecipeArguments

    recipe_args = recipe_args or RecipeArguments()
    prepared = prepare(stage, script_args, training_args, model_args, recipe_args)
    if stage == "sft":
        trainer_cls = trl.SFTTrainer
    elif recipe_args.chat_template_mode == "deita":  # ids made by deita_hf: TRL must keep them
        from deita_hf.training.dpo_data import pretokenized_dpo_trainer

        trainer_cls = pretokenized_dpo_trainer()
    else:
        trainer_cls = trl.DPOTrainer
    trainer = trainer_cls(
        model=model_args.model_name_or_path,
        args=training_args,
        train_dataset=prepared["train_dataset"],
        eval_dataset=prepared["eval_dataset"],
        processing_class=prepared["tokenizer"],
        peft_config=prepared["peft_config"],
    )
    if stage == "dpo" and getattr(script_args, "ignore_bias_buffers", False):
        import torch

        # torch distributed hack, as in TRL's dpo script
        trainer.model._ddp_params_and_buffers_to_ignore = [
            name for name, buffer in trainer.model.named_buffers() if buffer.dtype == torch.bool
        ]
    return train_and_finish(trainer, stage, prepared, script_args, model_args, recipe_args)


def make_stage_parser(stage: str, subparsers: Any = None, prog: str | None = None) -> Any:
    """The ``TrlParser`` of TRL's three configs plus ``RecipeArguments`` (TRL's pattern).

    Its ``parse_args_and_config`` also checks the settings that go together
    (:func:`deita_hf.training.config.check_recipe_args`), so a bad combination stops at parse
    time, before any data or model loads (the sub-command form is checked when the run starts).

    Args:
        stage: ``"sft"`` or ``"dpo"``.
        subparsers: when given, a ``stage`` sub-command is added to them (their parser class
            must accept ``dataclass_types``, as in TRL's CLI) and returned.
        prog: the program name shown in ``--help``.
    """
    import trl

    from deita_hf.training import RecipeArguments

    from deita_hf.training.config import check_recipe_args

    config = trl.SFTConfig if stage == "sft" else trl.DPOConfig
    dataclass_types = (trl.ScriptArguments, config, trl.ModelConfig, RecipeArguments)
    if subparsers is not None:
        return subparsers.add_parser(stage, help=f"Run the DEITA {stage.upper()} recipe",
                                     dataclass_types=dataclass_types)

    class StageParser(trl.TrlParser):
        """TRL's parser; the parsed configs are checked together (``check_recipe_args``)."""

        def parse_args_and_config(self, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
            parsed = super().parse_args_and_config(*args, **kwargs)
            check_recipe_args(stage, parsed[1], parsed[3])
            return parsed

    return StageParser(dataclass_types, prog=prog)
