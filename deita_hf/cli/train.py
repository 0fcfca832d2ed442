"""``deita-hf sft`` / ``deita-hf dpo``: the DEITA training recipes (TRL), the same as
``recipes/sft.py`` / ``recipes/dpo.py``.

Every argument after the command goes to TRL's ``TrlParser`` (``--config recipe.yaml`` and flags
that override its keys); ``deita-hf sft --help`` lists them.

Example:
    $ deita-hf sft --config recipes/deita-mistral-7b/sft.yaml --output_dir data/my-sft
    $ accelerate launch -m deita_hf.cli.main dpo --config recipes/deita-mistral-7b/dpo.yaml
"""

from __future__ import annotations

import argparse

__all__ = ["register_stage", "run"]


def register_stage(stage: str, subparsers, parents=()) -> argparse.ArgumentParser:
    """Add the ``sft`` or ``dpo`` sub-command; its own arguments are parsed by TRL's parser."""
    p = subparsers.add_parser(
        stage, parents=list(parents), add_help=False,
        help=f"train with the DEITA {stage.upper()} recipe (TRL); --help lists its options",
        description=f"The DEITA {stage.upper()} recipe: TRL arguments, --config YAML.")
    p.set_defaults(func=run, passthrough=True, stage=stage)
    return p


def run(args: argparse.Namespace) -> int:
    """Parse the remaining arguments with the recipe's ``TrlParser`` and train."""
    from deita_hf.training.run import make_stage_parser, run_stage

    parser = make_stage_parser(args.stage, prog=f"deita-hf {args.stage}")
    run_stage(args.stage, *parser.parse_args_and_config(args=args.rest))
    return 0
