"""``deita-hf dpo``: see :mod:`deita_hf.cli.train`."""

from deita_hf.cli.train import register_stage


def register(subparsers, parents=()):
    """Add the ``dpo`` sub-command."""
    return register_stage("dpo", subparsers, parents)
