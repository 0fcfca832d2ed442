"""``deita-hf sft`` / ``deita-hf dpo``: the DEITA training recipes (TRL), the same as
``recipes/sft.py`` / ``recipes/dpo.py``.

Every argument after the command goes to TRL's ``TrlParser`` (``--config recipe.yaml`` and flags
that override its keys); ``deita-hf sft --help`` lists them. ``--recipe NAME`` takes a recipe
that ships with the package (:mod:`deita_hf.training.packaged`).

Example:
    $ deita-hf sft --config recipes/deita-mistral-7b/sft.yaml --output_dir data/my-sft
    $ deita-hf sft --recipe deita-mistral-7b --output_dir data/my-sft
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
        description=f"The DEITA {stage.upper()} recipe: TRL arguments, --config YAML or "
                    f"--recipe NAME.")
    p.set_defaults(func=run, passthrough=True, stage=stage)
    return p


def run(args: argparse.Namespace) -> int:
    """Parse the remaining arguments with the recipe's ``TrlParser`` and train."""
    from deita_hf.training.packaged import add_config_flags, expand_recipe
    from deita_hf.training.run import make_stage_parser, run_stage

    parser = add_config_flags(make_stage_parser(args.stage, prog=f"deita-hf {args.stage}"),
                              args.stage)
    run_stage(args.stage, *parser.parse_args_and_config(args=expand_recipe(args.rest, args.stage)))
    return 0
