"""DEITA direct preference optimisation with TRL's ``DPOTrainer``.

Starts from the SFT model (DEITA: the DEITA-SFT model, 10K UltraFeedback pairs) with the
model itself as the frozen reference, in DEITA's Vicuna v1.1 chat format (installed on the
tokenizer when it has no chat template), and writes a model card that links the preference
data's dataset card and states how the pairs were sampled.

``dataset_name`` takes a Hub dataset id, a ``deita-hf preference`` output folder, a
``save_to_disk`` folder or a json/jsonl(.gz)/parquet file with TRL ``prompt``/``chosen``/
``rejected`` (strings or messages), ShareGPT ``conversations`` + ``chosen``/``rejected``
messages, or AlpacaEval annotations.

Usage (8 GPUs, DeepSpeed ZeRO-3)::

    accelerate launch --config_file recipes/accelerate_configs/zero3.yaml recipes/dpo.py \
        --config recipes/deita-mistral-7b/dpo.yaml

Flags override YAML keys, e.g. ``--model_name_or_path data/deita-mistral-7b-sft``.
On one CPU (smoke test)::

    accelerate launch --num_processes 1 --num_machines 1 --mixed_precision no \
        --dynamo_backend no recipes/dpo.py --config my_tiny.yaml
"""

from __future__ import annotations


def main(script_args, training_args, model_args, recipe_args=None):
    """Run DPO.

    Args:
        script_args: TRL ``ScriptArguments`` (``dataset_name``, splits, ``ignore_bias_buffers``).
        training_args: TRL ``DPOConfig``.
        model_args: TRL ``ModelConfig``.
        recipe_args: :class:`deita_hf.training.RecipeArguments` (defaults if None).

    Returns:
        The trained ``DPOTrainer``.
    """
    from trl import DPOTrainer, get_peft_config

    from deita_hf.training import (RecipeArguments, check_trainable, finish_training,
                                   load_tokenizer,
                                   load_training_data, model_init_kwargs, resolve_checkpoint,
                                   setup_logging)

    recipe_args = recipe_args or RecipeArguments()
    logger = setup_logging(training_args)
    logger.info("Script parameters %s", script_args)
    logger.info("Model parameters %s", model_args)
    logger.info("Recipe parameters %s", recipe_args)
    logger.info("Training parameters %s", training_args)

    # Data first: a dataset that cannot be converted stops here, before the model loads.
    train_dataset = load_training_data(script_args, recipe_args, stage="dpo")
    eval_dataset = None
    if training_args.eval_strategy != "no":
        eval_dataset = load_training_data(script_args, recipe_args, stage="dpo",
                                          split=script_args.dataset_test_split)
    checkpoint = resolve_checkpoint(training_args)
    tokenizer = load_tokenizer(model_args, training_args, recipe_args)
    training_args.model_init_kwargs = model_init_kwargs(model_args, training_args)

    trainer = DPOTrainer(
        model=model_args.model_name_or_path,
        args=training_args,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        processing_class=tokenizer,
        peft_config=get_peft_config(model_args),
    )
    if script_args.ignore_bias_buffers:
        import torch

        # torch distributed hack, as in TRL's dpo script
        trainer.model._ddp_params_and_buffers_to_ignore = [
            name for name, buffer in trainer.model.named_buffers() if buffer.dtype == torch.bool
        ]
    check_trainable(trainer)
    logger.info("*** Train ***")
    train_result = trainer.train(resume_from_checkpoint=checkpoint)
    finish_training(trainer, train_result, stage="dpo", script_args=script_args,
                    model_args=model_args, recipe_args=recipe_args)
    logger.info("*** Training complete ***")
    return trainer


def make_parser():
    """The ``TrlParser`` for this script: TRL's three configs plus ``RecipeArguments``."""
    from trl import DPOConfig, ModelConfig, ScriptArguments, TrlParser

    from deita_hf.training import RecipeArguments

    return TrlParser((ScriptArguments, DPOConfig, ModelConfig, RecipeArguments))


if __name__ == "__main__":
    main(*make_parser().parse_args_and_config())
