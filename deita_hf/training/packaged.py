"""The recipe YAMLs and accelerate configs that ship in the wheel, as TRL ships its accelerate
configs: ``deita-hf sft --recipe deita-mistral-7b`` trains with
``recipes/deita-mistral-7b/sft.yaml`` from an installed package.

The top-level ``recipes/`` folder is the readable copy; the package's ``deita_hf/recipes`` is
a link to it in a checkout and a copy of its YAMLs in the wheel (package data).

Example:
    >>> recipe_path("deita-mistral-7b", "sft").name
    'sft.yaml'
    >>> accelerate_config("zero3").name
    'zero3.yaml'
    >>> "deita-mistral-7b" in available_recipes()
    True
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from deita_hf.errors import ConfigError

__all__ = ["RECIPES_DIR", "accelerate_config", "add_config_flags", "available_recipes",
           "expand_recipe", "recipe_path"]

#: the packaged recipes (``recipes/`` of the source tree)
RECIPES_DIR = Path(__file__).resolve().parents[1] / "recipes"


def available_recipes() -> list[str]:
    """The recipe folders that ship with the package (``deita-mistral-7b``, ...).

    Example:
        >>> available_recipes()[:2]
        ['deita-llama2-13b', 'deita-mistral-7b']
    """
    return sorted(p.name for p in RECIPES_DIR.glob("deita-*") if p.is_dir())


def recipe_path(name: str, stage: str) -> Path:
    """The packaged YAML of a recipe.

    Args:
        name: a recipe folder (``deita-mistral-7b``: its ``<stage>.yaml``) or a folder and a
            file (``deita-scorer/complexity``).
        stage: ``sft``, ``dpo`` (the file taken from a folder name).

    Returns:
        The YAML's path inside the installed package.

    Raises:
        ConfigError: no such recipe (the message lists those that ship).

    Example:
        >>> recipe_path("deita-scorer/quality", "scorer").parent.name
        'deita-scorer'
    """
    text = str(name).removesuffix(".yaml")
    path = RECIPES_DIR / f"{text}.yaml" if "/" in text else RECIPES_DIR / text / f"{stage}.yaml"
    if ".." in Path(text).parts or not path.is_file():
        shipped = sorted(p.relative_to(RECIPES_DIR).with_suffix("").as_posix()
                         for p in RECIPES_DIR.glob("deita-*/*.yaml"))
        raise ConfigError(f"--recipe {name!r}: no packaged recipe {stage!r} there. Recipes that "
                          f"ship: {', '.join(shipped)} (or pass --config <your YAML>).")
    return path


def accelerate_config(name: str) -> Path:
    """A packaged accelerate config (``ddp``, ``fsdp``, ``zero2``, ``zero3``), for
    ``accelerate launch --config_file``.

    Raises:
        ConfigError: no such config.
    """
    path = RECIPES_DIR / "accelerate_configs" / f"{str(name).removesuffix('.yaml')}.yaml"
    if not path.is_file():
        names = sorted(p.stem for p in (RECIPES_DIR / "accelerate_configs").glob("*.yaml"))
        raise ConfigError(f"No packaged accelerate config {name!r}; the ones that ship: "
                          f"{', '.join(names)}.")
    return path


def add_config_flags(parser: argparse.ArgumentParser, stage: str) -> argparse.ArgumentParser:
    """Show ``--config`` and ``--recipe`` first in a ``TrlParser``'s ``--help`` (TRL parses
    ``--config`` itself; :func:`expand_recipe` turns ``--recipe`` into it).

    Returns:
        The parser.
    """
    example = "deita-scorer/complexity" if stage == "scorer" else "deita-mistral-7b"
    added = [
        parser.add_argument("--config", metavar="YAML", default=argparse.SUPPRESS,
                            help="a recipe YAML whose keys are this command's flags (flags given "
                                 "here override it)"),
        parser.add_argument("--recipe", metavar="NAME", default=argparse.SUPPRESS,
                            help=f"a recipe that ships with deita_hf, e.g. {example} (one of: "
                                 f"{', '.join(available_recipes())}); the same as --config "
                                 f"with its YAML"),
    ]
    # right after -h/--help, before the dataclasses' groups
    parser._actions[:] = [a for a in parser._actions if a not in added]
    parser._actions[1:1] = added
    groups = parser._action_groups
    for group in groups:
        group._group_actions[:] = [a for a in group._group_actions if a not in added]
    parser._optionals._group_actions[1:1] = added
    groups.remove(parser._optionals)
    groups.insert(0, parser._optionals)
    return parser


def expand_recipe(args: list[str], stage: str) -> list[str]:
    """``--recipe NAME`` (or ``--recipe=NAME``) replaced by ``--config <packaged YAML>``.

    Raises:
        ConfigError: both ``--recipe`` and ``--config``, ``--recipe`` without a name, or an
            unknown recipe.

    Example:
        >>> expand_recipe(["--recipe", "deita-mistral-7b", "--max_steps", "1"], "sft")[1].endswith(
        ...     "deita-mistral-7b/sft.yaml")
        True
    """
    out: list[str] = []
    name: Any = None
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--recipe" or arg.startswith("--recipe="):
            if arg == "--recipe":
                if i + 1 >= len(args) or args[i + 1].startswith("--"):
                    raise ConfigError("--recipe needs a name, e.g. --recipe deita-mistral-7b.")
                name, i = args[i + 1], i + 2
            else:
                name, i = arg.split("=", 1)[1], i + 1
            continue
        out.append(arg)
        i += 1
    if name is None:
        return out
    if any(a == "--config" or a.startswith("--config=") for a in out):
        raise ConfigError("Pass --recipe NAME or --config YAML, not both.")
    return ["--config", str(recipe_path(name, stage)), *out]
