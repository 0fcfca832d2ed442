"""``deita-hf``: the command-line entry point.

Each sub-command lives in its own module ``deita_hf.cli.<name>`` that defines
``register(subparsers)``; the parser it adds sets ``func`` to a callable taking the parsed
arguments and returning an exit code.

Example:
    $ deita-hf select pool.jsonl --budget 6000 --output out/deita-6k
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: sub-command modules, in the order ``deita-hf --help`` lists them
COMMANDS = ("select", "score", "publish", "report", "preference")


def build_parser() -> argparse.ArgumentParser:
    from deita_hf import __version__

    parser = argparse.ArgumentParser(
        prog="deita-hf",
        description="DEITA data selection on Hugging Face datasets: score, embed, select, publish.",
    )
    parser.add_argument("--version", action="version", version=f"deita_hf {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"deita_hf.cli.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
