"""Configs written as flags: the command line that runs a config (:func:`command_line`, shown
by ``deita-hf study --dry-run``) and a config's options from flag tokens (:func:`options_from_flags`,
the study's ``select_args``), both from the dataclass fields (no CLI parser involved).

Example:
    >>> from deita_hf.pipeline.config import SelectionConfig
    >>> command_line(SelectionConfig(input="p.jsonl", strategy="random"), "select")
    'deita-hf select p.jsonl --strategy random'
"""

from __future__ import annotations

import dataclasses
import types
from typing import Any

from deita_hf.errors import ConfigError
from deita_hf.pipeline.config import SelectionConfig

__all__ = ["command_line", "options_from_flags"]


def _flag(f: dataclasses.Field) -> str:
    """A field's flag as shown to people: its alias (``--scorer``) or ``--name-with-dashes``."""
    aliases = f.metadata.get("aliases") or []
    return aliases[0] if aliases else f"--{f.name.replace('_', '-')}"


def command_line(config: Any, command: str) -> str:
    """The shell command that runs ``config`` (the fields that differ from their defaults).

    Example:
        >>> command_line(SelectionConfig(input="p.jsonl", budget=5, scorers=["random:1"],
        ...                              overwrite=True), "select")
        'deita-hf select p.jsonl --budget 5 --scorer random:1 --overwrite'
    """
    import shlex

    changed = config.to_dict(changed_only=True)
    parts = ["deita-hf", command]
    if changed.get("input") is not None:
        parts.append(str(changed.pop("input")))
    for f in dataclasses.fields(config):
        if f.name not in changed:
            continue
        value = changed[f.name]
        if isinstance(value, bool):
            parts += [_flag(f)] if value else [f"{_flag(f)}", "false"]
        elif isinstance(value, list):
            for item in value:
                parts += [_flag(f), str(item)]
        elif value is not None:
            parts += [_flag(f), str(value)]
    return shlex.join(parts)


def options_from_flags(cls: type, flags: list[str], where: str) -> dict[str, Any]:
    """Field values of ``cls`` from option tokens written as flags (``["--batch-size", "16",
    "--overwrite"]``), typed by the fields (the study's ``select_args``); no CLI parser involved.

    Raises:
        ConfigError: a token that is no option of ``cls``, or a value of the wrong type.

    Example:
        >>> options_from_flags(SelectionConfig, ["--decontaminate", "mt_bench", "--batch-size",
        ...                    "16", "--scorer", "random:1", "--include-pool"], "arm 'x'")
        {'decontaminate': 'mt_bench', 'batch_size': 16, 'scorers': ['random:1'], 'include_pool': True}
    """
    import typing

    hints = typing.get_type_hints(cls)
    by_flag = {}
    for f in dataclasses.fields(cls):
        for name in (f"--{f.name}", f"--{f.name.replace('_', '-')}", *(f.metadata.get("aliases")
                                                                          or [])):
            by_flag[name] = f
    out: dict[str, Any] = {}
    tokens = [str(t) for t in flags]
    i = 0
    while i < len(tokens):
        flag, value = tokens[i].partition("=")[::2] if "=" in tokens[i] else (tokens[i], None)
        f = by_flag.get(flag)
        if f is None:
            raise ConfigError(f"{where}: {flag!r} is no option of deita-hf "
                              f"{'select' if cls is SelectionConfig else 'score'}; options: "
                              f"{', '.join(sorted(k for k in by_flag if '_' not in k))}.")
        kind = hints[f.name]
        if typing.get_origin(kind) in (typing.Union, types.UnionType):  # X | None -> X
            kind = next(a for a in typing.get_args(kind) if a is not type(None))
        base = typing.get_origin(kind) or kind
        if base is bool:
            if value is None and i + 1 < len(tokens) and tokens[i + 1].lower() in ("true",
                                                                                   "false"):
                i, value = i + 1, tokens[i + 1]
            out[f.name] = value is None or value.lower() == "true"
            i += 1
            continue
        if value is None:
            if i + 1 >= len(tokens):
                raise ConfigError(f"{where}: {flag} needs a value.")
            i, value = i + 1, tokens[i + 1]
        if base is list:
            out.setdefault(f.name, []).append(value)
        else:
            convert = base if base in (int, float) else str
            try:
                out[f.name] = convert(value)
            except ValueError:
                raise ConfigError(f"{where}: {flag} {value!r} is not a valid "
                                  f"{convert.__name__}.") from None
        i += 1
    return out
