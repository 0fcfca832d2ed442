"""``deita-hf sft`` / ``recipes/sft.py``: DEITA supervised fine-tuning with TRL's ``SFTTrainer``.

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

import argparse
from typing import Any

__all__ = ["main", "make_parser"]


def main(script_args: Any, training_args: Any, model_args: Any, recipe_args: Any = None) -> Any:
    """Run SFT.

    Args:
        script_args: TRL ``ScriptArguments`` (``dataset_name``, splits).
        training_args: TRL ``SFTConfig``.
        model_args: TRL ``ModelConfig``.
        recipe_args: :class:`deita_hf.training.RecipeArguments` (defaults if None).

    Returns:
        The trained ``SFTTrainer``.
    """
    from trl import SFTTrainer

    from deita_hf.training import RecipeArguments
    from deita_hf.training.run import prepare, train_and_finish

    recipe_args = recipe_args or RecipeArguments()
    prepared = prepare("sft", script_args, training_args, model_args, recipe_args)
    trainer = SFTTrainer(
        model=model_args.model_name_or_path,
        args=training_args,
        train_dataset=prepared["train_dataset"],
        eval_dataset=prepared["eval_dataset"],
        processing_class=prepared["tokenizer"],
        peft_config=prepared["peft_config"],
    )
    return train_and_finish(trainer, "sft", prepared, script_args, model_args, recipe_args)


def make_parser(subparsers: argparse._SubParsersAction | None = None,
                prog: str | None = None) -> Any:
    """The ``TrlParser`` of TRL's three configs plus ``RecipeArguments`` (TRL's pattern).

    Args:
        subparsers: when given, a ``sft`` sub-command is added to them (its parser class must
            accept ``dataclass_types``, as TRL's CLI does) and returned.
        prog: the program name shown in ``--help``.
    """
    from trl import ModelConfig, ScriptArguments, SFTConfig, TrlParser

    from deita_hf.training import RecipeArguments

    dataclass_types = (ScriptArguments, SFTConfig, ModelConfig, RecipeArguments)
    if subparsers is not None:
        return subparsers.add_parser("sft", help="Run the DEITA SFT recipe",
                                     dataclass_types=dataclass_types)
    return TrlParser(dataclass_types, prog=prog)
