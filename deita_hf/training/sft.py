"""``deita-hf sft`` / ``recipes/sft.py``: DEITA supervised fine-tuning with TRL's ``SFTTrainer``.

Trains on the assistant replies only, in FastChat's Vicuna v1.1 chat format (DEITA's SFT
format; installed on the tokenizer when the base model has no chat template), and writes a model
card that links the training data's dataset card and states how the data was selected.
``train_fraction``/``split_seed`` reproduce DEITA's 98% train split.

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
    """Run SFT (see :func:`deita_hf.training.run.run_stage`).

    Args:
        script_args: TRL ``ScriptArguments`` (``dataset_name``, splits).
        training_args: TRL ``SFTConfig``.
        model_args: TRL ``ModelConfig``.
        recipe_args: :class:`deita_hf.training.RecipeArguments` (defaults if None).

    Returns:
        The trained trainer.
    """
    from deita_hf.training.run import run_stage

    return run_stage("sft", script_args, training_args, model_args, recipe_args)


def make_parser(subparsers: argparse._SubParsersAction | None = None,
                prog: str | None = None) -> Any:
    """The recipe's ``TrlParser`` (TRL's ``make_parser(subparsers)`` pattern)."""
    from deita_hf.training.run import make_stage_parser

    return make_stage_parser("sft", subparsers, prog)
