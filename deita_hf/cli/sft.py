"""``deita-hf sft``: see :mod:`deita_hf.cli.train`."""

from deita_hf.cli.train import register_stage


def register(subparsers, parents=()):
    """Add the ``sft`` sub-command."""
    return register_stage("sft", subparsers, parents)
