"""DEITA supervised fine-tuning with TRL's ``SFTTrainer``.

Trains on the assistant replies only, in DEITA's Vicuna v1.1 chat format (installed on the
tokenizer when the base model has no chat template), and writes a model card that links the
training data's dataset card and states how the data was selected.

``dataset_name`` takes a Hub dataset id, a ``deita-hf select`` output folder, a
``save_to_disk`` folder or a json/jsonl(.gz)/parquet file, in any format deita_hf reads.

Usage (8 GPUs, DeepSpeed ZeRO-3)::

    accelerate launch --config_file recipes/accelerate_configs/zero3.yaml recipes/sft.py \
        --config recipes/deita-mistral-7b/sft.yaml

Flags override YAML keys, e.g. ``--dataset_name out/deita-6k --output_dir data/my-sft``.
On one CPU (smoke test)::

    accelerate launch --num_processes 1 --num_machines 1 --mixed_precision no \
        --dynamo_backend no recipes/sft.py --config my_tiny.yaml
"""

from __future__ import annotations


def main(script_args, training_args, model_args, recipe_args=None):
    """Run SFT.

    Args:
        script_args: TRL ``ScriptArguments`` (``dataset_name``, splits).
        training_args: TRL ``SFTConfig``.
        model_args: TRL ``ModelConfig``.
        recipe_args: :class:`deita_hf.training.RecipeArguments` (defaults if None).

    Returns:
        The trained ``SFTTrainer``.
    """
    from trl import SFTTrainer, get_peft_config

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
    train_dataset = load_training_data(script_args, recipe_args, stage="sft")
    eval_dataset = None
    if training_args.eval_strategy != "no":
        eval_dataset = load_training_data(script_args, recipe_args, stage="sft",
                                          split=script_args.dataset_test_split)
    checkpoint = resolve_checkpoint(training_args)
    tokenizer = load_tokenizer(model_args, training_args, recipe_args)
    training_args.model_init_kwargs = model_init_kwargs(model_args, training_args)

    trainer = SFTTrainer(
        model=model_args.model_name_or_path,
        args=training_args,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        processing_class=tokenizer,
        peft_config=get_peft_config(model_args),
    )
    check_trainable(trainer)
    logger.info("*** Train ***")
    train_result = trainer.train(resume_from_checkpoint=checkpoint)
    finish_training(trainer, train_result, stage="sft", script_args=script_args,
                    model_args=model_args, recipe_args=recipe_args)
    logger.info("*** Training complete ***")
    return trainer


def make_parser():
    """The ``TrlParser`` for this script: TRL's three configs plus ``RecipeArguments``."""
    from trl import ModelConfig, ScriptArguments, SFTConfig, TrlParser

    from deita_hf.training import RecipeArguments

    return TrlParser((ScriptArguments, SFTConfig, ModelConfig, RecipeArguments))


if __name__ == "__main__":
    main(*make_parser().parse_args_and_config())
