"""The steps every training script shares: log the configs, load data before the model, train,
resume, save and write the model card.

Example:
    >>> from deita_hf.training.run import STAGES
    >>> STAGES
    ('sft', 'dpo')
"""

from __future__ import annotations

from typing import Any

__all__ = ["STAGES", "prepare", "train_and_finish"]

STAGES = ("sft", "dpo")


def prepare(stage: str, script_args: Any, training_args: Any, model_args: Any,
            recipe_args: Any) -> dict[str, Any]:
    """Log the configs, load (and convert) the data, find the checkpoint, load the tokenizer.

    Data comes first: a dataset that cannot be converted stops the run before the model loads.

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

    logger = setup_logging(training_args)
    for name, args in (("Script", script_args), ("Model", model_args), ("Recipe", recipe_args),
                       ("Training", training_args)):
        logger.info("%s parameters %s", name, args)
    train_dataset = load_training_data(script_args, recipe_args, stage=stage)
    eval_dataset = None
    if training_args.eval_strategy != "no":
        eval_dataset = load_training_data(script_args, recipe_args, stage=stage,
                                          split=script_args.dataset_test_split)
    checkpoint = resolve_checkpoint(training_args)
    tokenizer = load_tokenizer(model_args, training_args, recipe_args)
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
