"""``deita-hf``: the command-line entry point, and its one error handler.

Each sub-command lives in ``deita_hf.cli.<name>`` and defines ``register(subparsers, parents)``;
its parser sets ``func`` to a callable taking the parsed arguments and returning an exit code.
Commands that hand their arguments to another parser (``sft``, ``dpo``: TRL's ``TrlParser``)
set ``passthrough=True`` and receive the arguments this parser does not know as
``args.rest``.

Every command takes ``--log-level``/``-v`` and ``--no-progress``. Errors: an expected error
(a :class:`deita_hf.errors.DeitaError`, or a bad argument) prints one line
``deita-hf <command>: error: ...`` and exits with 2; anything else is a failure and keeps its
traceback (exit 1).

Example:
    $ deita-hf select pool.jsonl --budget 6000 --output out/deita-6k
    $ deita-hf sft --config recipes/deita-mistral-7b/sft.yaml --dataset_name out/deita-6k
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from deita_hf.errors import EXIT_USAGE, DeitaError

__all__ = ["COMMANDS", "build_parser", "error_message", "main"]

#: sub-command modules, in the order ``deita-hf --help`` lists them
COMMANDS = ("select", "score", "publish", "report", "preference", "sft", "dpo", "eval", "evol", "rank",
            "scorer-train", "scorer-eval", "study", "decontaminate")

logger = logging.getLogger("deita_hf")


def common_options() -> argparse.ArgumentParser:
    """The options every sub-command takes (a parent parser)."""
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("output")
    g.add_argument("--log-level", default=None,
                   choices=["debug", "info", "warning", "error", "DEBUG", "INFO", "WARNING", "ERROR"],
                   help="logging level of deita_hf (default: warning; -v: info, -vv: debug)")
    g.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    g.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    return p


def build_parser() -> argparse.ArgumentParser:
    """The ``deita-hf`` parser with every sub-command registered."""
    from deita_hf import __version__

    parser = argparse.ArgumentParser(
        prog="deita-hf",
        description="DEITA data selection on Hugging Face datasets: score, embed, select, "
                    "publish, train.",
    )
    parser.add_argument("--version", action="version", version=f"deita_hf {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    parents = [common_options()]
    for name in COMMANDS:
        importlib.import_module(f"deita_hf.cli.{name.replace('-', '_')}").register(subparsers, parents)
    return parser


def configure_logging(args: argparse.Namespace) -> None:
    """Set the level of the ``deita_hf`` logger from ``--log-level``/``-v``."""
    if args.log_level:
        level = getattr(logging, args.log_level.upper())
    else:
        level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(level)


def error_message(err: BaseException) -> str:
    """The one line the CLI prints for ``err``: the parameters a
    :class:`~deita_hf.errors.ConfigError` names (``param``) become their flags.

    Example:
        >>> from deita_hf.errors import ConfigError
        >>> error_message(ConfigError("shard_size must be positive, got 0.", param="shard_size"))
        '--shard-size must be positive, got 0.'
    """
    import re

    text = str(err)
    for name in getattr(err, "params", ()):
        flag = "INPUT (the first argument)" if name == "input" else f"--{name.replace('_', '-')}"
        text = re.sub(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", lambda _: flag, text)
    return text


def main(argv: list[str] | None = None) -> int:
    """Run ``deita-hf``; returns the exit code.

    Args:
        argv: the arguments (default: ``sys.argv[1:]``).
    """
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if rest and not getattr(args, "passthrough", False):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    args.rest = rest
    configure_logging(args)
    if args.no_progress:
        from datasets.utils.logging import disable_progress_bar
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bar()
        disable_progress_bars()  # the Hub's, and transformers' (it reads them when imported)
        if "transformers" in sys.modules:  # imported already: switch its own off too
            sys.modules["transformers"].utils.logging.disable_progress_bar()
    try:
        return int(args.func(args) or 0)
    except DeitaError as err:
        print(f"deita-hf {args.command}: error: {error_message(err)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"deita-hf {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
