"""Options shared by several ``deita-hf`` commands, defined once.

Example:
    >>> import argparse
    >>> p = argparse.ArgumentParser()
    >>> add_component_arguments(p, complexity=None, quality=None, embedder=None)
    >>> p.parse_args(["--batch-size", "4"]).batch_size
    4
"""

from __future__ import annotations

import argparse
from typing import Any

from deita_hf.errors import ConfigError
from deita_hf.pipeline.config import DEVICE_HELP, DTYPE_HELP, MAX_LENGTH_HELP

__all__ = ["add_component_arguments", "add_config_arguments", "check_budget", "check_local_models",
           "component_options", "config_from_args"]


def add_config_arguments(p: argparse.ArgumentParser, cls: type,
                         groups: dict[str, tuple[str, ...]] | None = None) -> None:
    """The flags of a config dataclass (``SelectionConfig``, ``ScoreConfig``) and ``--config``.

    Each field becomes ``--name`` and ``--name-with-dashes`` (plus its ``aliases``) through
    transformers' ``HfArgumentParser`` field rules, with its ``help``; a field marked
    ``positional`` becomes the positional argument. No flag has a parse-time default: a flag
    not given is absent from the namespace, so :func:`config_from_args` can put the YAML file
    between the dataclass defaults and the flags.

    Args:
        p: the sub-command's parser.
        cls: the config dataclass.
        groups: group title -> the fields shown under it (the others: the main group).
    """
    import copy
    import dataclasses
    import typing

    from transformers import HfArgumentParser

    hints = typing.get_type_hints(cls)
    containers = {}
    for title, names in (groups or {}).items():
        g = p.add_argument_group(title)
        containers.update({name: g for name in names})
    p.add_argument("--config", default=None, metavar="YAML",
                   help="a YAML file of these options (keys: the flags' names with underscores, "
                        "e.g. budget, complexity_scorer); flags given here override it")
    for f in dataclasses.fields(cls):
        meta = dict(f.metadata)
        target = containers.get(f.name, p)
        if meta.pop("positional", False):
            target.add_argument(f.name, nargs="?", default=argparse.SUPPRESS,
                                help=meta.get("help", ""))
            continue
        resolved = copy.copy(f)
        resolved.type = hints[f.name]
        resolved.metadata = meta
        before = len(p._actions)
        HfArgumentParser._parse_dataclass_field(target, resolved)
        for action in p._actions[before:]:  # absent unless given (see the docstring)
            action.default = argparse.SUPPRESS
            action.required = False
            # --help shows the dashed spelling first (both are accepted)
            action.option_strings = sorted(action.option_strings, key=lambda o: "_" in o)
            if typing.get_origin(hints[f.name]) is list:  # repeatable: --scorer A --scorer B
                action.__class__ = argparse._AppendAction
                action.nargs = None


def config_from_args(cls: type, args: argparse.Namespace) -> Any:
    """The config of ``args``: the dataclass defaults, then ``--config`` YAML, then the flags.

    Raises:
        ConfigError: the YAML file is unreadable or holds a key no option has.
    """
    import dataclasses

    from deita_hf.pipeline.config import load_config

    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}
    return load_config(cls, getattr(args, "config", None), **given)


def add_component_arguments(p: argparse.ArgumentParser, *, complexity: str | None,
                            quality: str | None, embedder: str | None, note: str = "",
                            with_embedder: bool = True, preset: str | None = None) -> None:
    """The scorer/embedder flags of ``score``, ``select`` and ``preference``.

    Args:
        p: the sub-command's parser.
        complexity, quality, embedder: the defaults of the three spec flags.
        note: appended to each spec flag's help (e.g. how a default of None is resolved).
        with_embedder: add ``--embedder`` (not for ``preference``).
        preset: add ``--preset`` with this default (see :mod:`deita_hf.pipeline.presets`);
            the spec flags and ``--dtype`` then override the preset's parts.
    """
    g = p.add_argument_group("scoring and embedding (specs: see deita_hf.components)")
    if preset is not None:
        from deita_hf.pipeline.presets import PRESETS

        g.add_argument("--preset", default=preset, choices=sorted(PRESETS),
                       help="the scorers and embedder to use: "
                            + "; ".join(f"'{n}': {x.description}" for n, x in PRESETS.items())
                            + f" (default {preset}); the flags below override its parts")
    g.add_argument("--complexity-scorer", default=complexity,
                   help="model folder/Hub id, 'vllm:<model>', 'length' (the paper's instruction-"
                        f"length baseline, in characters) or 'none'{note}")
    g.add_argument("--quality-scorer", default=quality,
                   help="model folder/Hub id, 'vllm:<model>', 'length' (response-length "
                        f"baseline) or 'none'{note}")
    if with_embedder:
        g.add_argument("--embedder", default=embedder,
                       help="'deita' (DeitaEmbedder on Mistral-7B-v0.1: the paper's Repr "
                            "filter), 'deita:<model or folder>', 'vllm[:<model>]' (the same "
                            "on vLLM, GPU), 'minilm' (packaged "
                            "all-MiniLM-L6-v2), a sentence-transformers folder, "
                            f"'causal-lm:<chat model>' or 'none'{note}")
    g.add_argument("--batch-size", type=int, default=8,
                   help="prompts (or conversations) per forward pass of a model (default 8)")
    g.add_argument("--max-length", type=int, default=None, metavar="TOKENS",
                   help=MAX_LENGTH_HELP)
    g.add_argument("--dtype", default=None, metavar="DTYPE", help=DTYPE_HELP)
    g.add_argument("--on-error", choices=["raise", "nan"], default="raise",
                   help="a failed forward pass: stop, or NaN for its rows (with a counting warning)")
    g.add_argument("--device", default=None, metavar="DEVICE", help=DEVICE_HELP)


def component_options(args: argparse.Namespace) -> dict[str, Any]:
    """The component options the flags of :func:`add_component_arguments` set."""
    if args.batch_size < 1 or (args.max_length is not None and args.max_length < 1):
        raise ConfigError(f"--batch-size and --max-length must be positive (got {args.batch_size} "
                          f"and {args.max_length}).")
    if args.device is not None and str(args.device) != "auto":
        from deita_hf.runtime import torch_device

        try:  # a device this machine lacks fails here, before a pool or a model loads
            torch_device(args.device)
        except ConfigError as err:
            raise ConfigError(f"--device: {err}") from None
    return {"batch_size": args.batch_size, "max_length": args.max_length, "device": args.device,
            "dtype": args.dtype, "on_error": args.on_error}


def check_budget(value: Any, flag: str = "--budget") -> int:
    """A row count: a positive int (checked before anything loads)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{flag} must be a positive number of rows, got {value!r}.")
    return value


_FLAGS = {"complexity": "--complexity-scorer", "quality": "--quality-scorer",
          "embedding": "--embedder"}


def check_local_models(specs: dict[str, Any]) -> None:
    """A spec naming a local path (``/``, ``.`` or ``~`` first) that does not exist fails here,
    before a pool or a model loads, as a missing path (not as an unknown Hub id).

    Args:
        specs: role -> spec string (or a parsed ``ComponentSpec``; None is skipped).
    """
    from pathlib import Path

    from deita_hf.components import parse_spec

    for role, spec in specs.items():
        if spec is None:
            continue
        parsed = spec if hasattr(spec, "kind") else parse_spec(role, spec)
        target = getattr(parsed, "target", None)
        if not target or not str(target).startswith(("/", ".", "~")):
            continue
        if not Path(target).expanduser().exists():
            raise ConfigError(f"{_FLAGS.get(role, role)}: {target!r} is a local path that does not "
                              f"exist. Pass an existing model folder, or a Hub id like "
                              f"'user/model'.")
