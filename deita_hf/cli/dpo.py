"""``deita-hf dpo``: the DEITA DPO recipe (TRL), the same as ``recipes/dpo.py``.

Every argument after ``dpo`` goes to TRL's ``TrlParser`` (``--config recipe.yaml`` and
flags that override its keys); ``deita-hf dpo --help`` lists them.

Example:
    $ deita-hf dpo --config recipes/deita-mistral-7b/dpo.yaml --output_dir data/my-dpo
    $ accelerate launch -m deita_hf.cli.main dpo --config recipes/deita-mistral-7b/dpo.yaml
"""

from __future__ import annotations

import argparse

__all__ = ["register", "run"]


def register(subparsers, parents=()) -> argparse.ArgumentParser:
    """Add the ``dpo`` sub-command; its own arguments are parsed by TRL's parser."""
    p = subparsers.add_parser(
        "dpo", parents=list(parents), add_help=False,
        help="train with the DEITA DPO recipe (TRL); --help lists the recipe's options",
        description="The DEITA DPO recipe: TRL arguments, --config YAML.")
    p.set_defaults(func=run, passthrough=True)
    return p


def run(args: argparse.Namespace) -> int:
    """Parse the remaining arguments with the recipe's ``TrlParser`` and train."""
    from deita_hf.training.dpo import main, make_parser

    parser = make_parser(prog="deita-hf dpo")
    main(*parser.parse_args_and_config(args=args.rest))
    return 0
