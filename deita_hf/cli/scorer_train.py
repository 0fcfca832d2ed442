"""``deita-hf scorer-train``: train a DEITA complexity or quality scorer (TRL SFT), the same
as ``recipes/scorer.py``.

Every argument after the command goes to TRL's ``TrlParser`` (``--config recipe.yaml`` and flags
that override its keys); ``deita-hf scorer-train --help`` lists them. ``--recipe
deita-scorer/complexity`` takes the recipe that ships with the package.

Example:
    $ deita-hf scorer-train --config recipes/deita-scorer/complexity.yaml --dataset_name out/rank
    $ accelerate launch -m deita_hf.cli.main scorer-train --config recipes/deita-scorer/quality.yaml
"""

from __future__ import annotations

import argparse

__all__ = ["register", "run"]


def register(subparsers, parents=()) -> argparse.ArgumentParser:
    """Add the ``scorer-train`` sub-command; its arguments are parsed by TRL's parser."""
    p = subparsers.add_parser(
        "scorer-train", parents=list(parents), add_help=False,
        help="train a DEITA complexity/quality scorer (TRL SFT); --help lists its options",
        description="The DEITA scorer recipe: TRL arguments, --config YAML or --recipe NAME.")
    p.set_defaults(func=run, passthrough=True)
    return p


def run(args: argparse.Namespace) -> int:
    """Parse the remaining arguments with the recipe's ``TrlParser`` and train."""
    from deita_hf.scorer_training.train import make_scorer_parser, run_scorer_training
    from deita_hf.training.packaged import add_config_flags, expand_recipe

    parser = add_config_flags(make_scorer_parser(prog="deita-hf scorer-train"), "scorer")
    run_scorer_training(*parser.parse_args_and_config(args=expand_recipe(args.rest, "scorer")))
    return 0
