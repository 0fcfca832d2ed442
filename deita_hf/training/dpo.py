"""``deita-hf dpo`` / ``recipes/dpo.py``: DEITA direct preference optimisation with TRL's ``DPOTrainer``.

Starts from the SFT model (DEITA: the DEITA-SFT model, 10K UltraFeedback pairs) with the
model itself as the frozen reference and writes a model card that links the preference data's
dataset card and states how the pairs were sampled. With ``chat_template_mode: deita`` (the
DEITA recipes) the pairs are the strings of DEITA's ``dpo_train.py`` (``{system} user: {prompt} ``
/ ``assistant: {reply}</s>``), tokenized and truncated as TRL 0.7 did
(:mod:`deita_hf.training.dpo_data`); with the other modes they are rendered with the tokenizer's
chat template (FastChat's Vicuna v1.1 installed when it has none, which is not DEITA's DPO
format).

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
    """Run DPO (see :func:`deita_hf.training.run.run_stage`).

    Args:
        script_args: TRL ``ScriptArguments`` (``dataset_name``, splits).
        training_args: TRL ``DPOConfig``.
        model_args: TRL ``ModelConfig``.
        recipe_args: :class:`deita_hf.training.RecipeArguments` (defaults if None).

    Returns:
        The trained trainer.
    """
    from deita_hf.training.run import run_stage

    return run_stage("dpo", script_args, training_args, model_args, recipe_args)


def make_parser(subparsers: argparse._SubParsersAction | None = None,
                prog: str | None = None) -> Any:
    """The recipe's ``TrlParser`` (TRL's ``make_parser(subparsers)`` pattern)."""
    from deita_hf.training.run import make_stage_parser

    return make_stage_parser("dpo", subparsers, prog)
