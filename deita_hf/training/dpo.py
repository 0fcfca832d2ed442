"""``deita-hf dpo`` / ``recipes/dpo.py``: DEITA direct preference optimisation with TRL's ``DPOTrainer``.

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

import argparse
from typing import Any

__all__ = ["main", "make_parser"]


def main(script_args: Any, training_args: Any, model_args: Any, recipe_args: Any = None) -> Any:
    """Run DPO.

    Args:
        script_args: TRL ``ScriptArguments`` (``dataset_name``, splits).
        training_args: TRL ``DPOConfig``.
        model_args: TRL ``ModelConfig``.
        recipe_args: :class:`deita_hf.training.RecipeArguments` (defaults if None).

    Returns:
        The trained ``DPOTrainer``.
    """
    from trl import DPOTrainer

    from deita_hf.training import RecipeArguments
    from deita_hf.training.run import prepare, train_and_finish

    recipe_args = recipe_args or RecipeArguments()
    prepared = prepare("dpo", script_args, training_args, model_args, recipe_args)
    trainer = DPOTrainer(
        model=model_args.model_name_or_path,
        args=training_args,
        train_dataset=prepared["train_dataset"],
        eval_dataset=prepared["eval_dataset"],
        processing_class=prepared["tokenizer"],
        peft_config=prepared["peft_config"],
    )
    if script_args.ignore_bias_buffers:
        import torch

        # torch distributed hack, as in TRL's dpo script
        trainer.model._ddp_params_and_buffers_to_ignore = [
            name for name, buffer in trainer.model.named_buffers() if buffer.dtype == torch.bool
        ]
    return train_and_finish(trainer, "dpo", prepared, script_args, model_args, recipe_args)


def make_parser(subparsers: argparse._SubParsersAction | None = None,
                prog: str | None = None) -> Any:
    """The ``TrlParser`` of TRL's three configs plus ``RecipeArguments`` (TRL's pattern).

    Args:
        subparsers: when given, a ``dpo`` sub-command is added to them (its parser class must
            accept ``dataclass_types``, as TRL's CLI does) and returned.
        prog: the program name shown in ``--help``.
    """
    from trl import DPOConfig, ModelConfig, ScriptArguments, TrlParser

    from deita_hf.training import RecipeArguments

    dataclass_types = (ScriptArguments, DPOConfig, ModelConfig, RecipeArguments)
    if subparsers is not None:
        return subparsers.add_parser("dpo", help="Run the DEITA DPO recipe",
                                     dataclass_types=dataclass_types)
    return TrlParser(dataclass_types, prog=prog)
