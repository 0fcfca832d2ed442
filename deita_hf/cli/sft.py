"""``deita-hf sft``: the DEITA SFT recipe (TRL), the same as ``recipes/sft.py``.

Every argument after ``sft`` goes to TRL's ``TrlParser`` (``--config recipe.yaml`` and
flags that override its keys); ``deita-hf sft --help`` lists them.

Example:
    $ deita-hf sft --config recipes/deita-mistral-7b/sft.yaml --output_dir data/my-sft
    $ accelerate launch -m deita_hf.cli.main sft --config recipes/deita-mistral-7b/sft.yaml
"""

from __future__ import annotations

import argparse

__all__ = ["register", "run"]


def register(subparsers, parents=()) -> argparse.ArgumentParser:
    """Add the ``sft`` sub-command; its own arguments are parsed by TRL's parser."""
    p = subparsers.add_parser(
        "sft", parents=list(parents), add_help=False,
        help="train with the DEITA SFT recipe (TRL); --help lists the recipe's options",
        description="The DEITA SFT recipe: TRL arguments, --config YAML.")
    p.set_defaults(func=run, passthrough=True)
    return p


def run(args: argparse.Namespace) -> int:
    """Parse the remaining arguments with the recipe's ``TrlParser`` and train."""
    from deita_hf.training.sft import main, make_parser

    parser = make_parser(prog="deita-hf sft")
    main(*parser.parse_args_and_config(args=args.rest))
    return 0
