"""The prompts of evaluation benchmarks, for decontamination: ``mt_bench``, ``alpaca_eval`` or
any file of prompts.

A spec lists sets separated by commas: a known name (:data:`BENCHMARKS`), ``NAME=PATH`` (a set
read from a file, under that name) or a bare ``PATH`` (named after the file). Every turn of a
multi-turn prompt is a prompt of its own.

- ``mt_bench``: the 80 two-turn MT-Bench questions that ship with the package
  (``deita_hf/evaluation/data/question.jsonl``, FastChat's file; 160 prompts).
- ``alpaca_eval``: AlpacaEval's 805 instructions, from the Hub (``tatsu-lab/alpaca_eval``,
  file ``alpaca_eval.json``; CC BY-NC 4.0, so not shipped). Offline, pass a copy:
  ``alpaca_eval=PATH`` (that file, or any AlpacaEval ``model_outputs.json``).
- a file: anything :func:`deita_hf.data.loading.load_pool` reads. Its prompts: the strings of
  a ``turns`` column (MT-Bench's layout; items may be ``{"content": ...}``), else every user
  turn of a conversation format (:func:`deita_hf.data.formats.to_messages`), else an
  ``instruction`` (+ ``input``), ``prompt`` or ``question`` column.

Example:
    >>> sets = load_prompt_sets("mt_bench")
    >>> sets[0].name, len(sets[0].prompts), sets[0].ids[1]
    ('mt_bench', 160, 'question 81, turn 2')
    >>> parse_benchmark_spec("mt_bench,arena=q.jsonl")
    [('mt_bench', None), ('arena', 'q.jsonl')]
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deita_hf.errors import ConfigError, InputError, InputNotFoundError

__all__ = ["BENCHMARKS", "MT_BENCH_QUESTIONS", "PromptSet", "load_prompt_sets",
           "parse_benchmark_spec", "prompts_from_dataset"]

#: the MT-Bench questions shipped with the package (deita_hf.evaluation reads the same file)
MT_BENCH_QUESTIONS = Path(__file__).resolve().parents[1] / "evaluation" / "data" / "question.jsonl"
#: the Hub file of AlpacaEval's instructions
ALPACA_EVAL_HUB = ("tatsu-lab/alpaca_eval", "alpaca_eval.json")
#: the known names, with where their prompts come from
BENCHMARKS: dict[str, str] = {
    "mt_bench": "the 80 MT-Bench questions shipped with deita_hf (both turns)",
    "alpaca_eval": "AlpacaEval's 805 instructions (Hub tatsu-lab/alpaca_eval, or "
                   "alpaca_eval=PATH)",
}


@dataclass(frozen=True)
class PromptSet:
    """One benchmark's prompts: ``prompts[j]`` is named ``ids[j]`` (e.g. "question 81, turn 2")."""

    name: str
    source: str
    prompts: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)


def parse_benchmark_spec(spec: str | Sequence[str]) -> list[tuple[str, str | None]]:
    """``"mt_bench,alpaca_eval=PATH,FILE"`` -> ``[(name, path or None), ...]``.

    Raises:
        ConfigError: an empty spec or item, a name given twice, an unknown bare name that is
            not an existing file (lists the known names).
    """
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    items = [str(i).strip() for i in items]
    if not items or not any(items) or not all(items):
        raise ConfigError(f"A decontamination spec lists benchmarks separated by commas (e.g. "
                          f"'mt_bench,alpaca_eval=PATH,FILE'), got {spec!r}.")
    out: list[tuple[str, str | None]] = []
    for item in items:
        name, eq, path = item.partition("=")
        name, path = name.strip(), path.strip()
        if eq and (not name or not path):
            raise ConfigError(f"Decontamination spec item {item!r}: write NAME=PATH.")
        if not eq:
            if item in BENCHMARKS:
                name, path = item, ""
            elif Path(item).exists():
                name, path = Path(item).name.split(".")[0], item
            else:
                raise InputNotFoundError(
                    f"Decontamination spec item {item!r} is neither a known benchmark "
                    f"({', '.join(BENCHMARKS)}) nor an existing file; pass NAME, NAME=PATH or "
                    f"PATH.")
        out.append((name, path or None))
    names = [n for n, _ in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"Decontamination spec {spec!r} names {dupes} twice; give each set "
                          f"once (NAME=PATH to rename a file).")
    return out


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for key in ("content", "value", "text"):
            if isinstance(value.get(key), str):
                return value[key]
    return None


def prompts_from_dataset(ds: Any, name: str) -> tuple[list[str], list[str]]:
    """The prompts of a loaded dataset and their names (see the module docstring).

    Args:
        ds: a ``datasets.Dataset``.
        name: the set's name, for messages.

    Returns:
        ``(prompts, ids)``; empty prompts are left out.

    Raises:
        InputError: no column that holds prompts (lists the columns).
    """
    from deita_hf.data.formats import FormatError, detect_format, to_messages

    cols = set(ds.column_names)
    prompts: list[str] = []
    ids: list[str] = []

    def add(text: str | None, where: str) -> None:
        if text and text.strip():
            prompts.append(text)
            ids.append(where)

    label = "question" if "question_id" in cols else "row"
    if "turns" in cols:
        for i, row in enumerate(ds):
            key = row.get("question_id", i)
            for t, turn in enumerate(row["turns"] or []):
                add(_text(turn), f"{label} {key}, turn {t + 1}")
        return prompts, ids
    try:
        fmt = detect_format(ds.column_names)
    except FormatError:
        fmt = None
    if fmt is not None:
        for i, row in enumerate(ds):
            users = [m["content"] for m in to_messages(row, format=fmt, index=i)
                     if m["role"] == "user"]
            for t, text in enumerate(users):
                add(text, f"row {i}, turn {t + 1}")
        return prompts, ids
    for column in ("instruction", "prompt", "question"):
        if column in cols:
            for i, row in enumerate(ds):
                text = _text(row[column])
                extra = row.get("input") if column == "instruction" else None
                if text and isinstance(extra, str) and extra.strip():
                    text = f"{text}\n\n{extra}"
                add(text, f"row {i}")
            return prompts, ids
    raise InputError(f"Benchmark {name!r}: no column holds prompts (columns: "
                     f"{sorted(cols)}); expected 'turns', a conversation format, 'instruction', "
                     f"'prompt' or 'question'.")


def _offline() -> bool:
    return any(os.environ.get(v, "0").strip().lower() not in ("", "0", "false", "no", "off")
               for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"))


def _alpaca_eval_from_hub(flag: str = "--decontaminate") -> str:
    repo, filename = ALPACA_EVAL_HUB
    hint = (f"pass a local copy instead: {flag} alpaca_eval=PATH (or "
            f"decontaminate='alpaca_eval=PATH'), PATH being {filename} from the dataset "
            f"{repo} or any AlpacaEval model_outputs.json")
    if _offline():
        raise InputError(f"alpaca_eval: its 805 instructions come from the Hub ({repo}), and "
                         f"the Hub is offline (HF_HUB_OFFLINE or a sibling variable is set); "
                         f"{hint}.")
    from huggingface_hub import hf_hub_download

    try:
        return hf_hub_download(repo, filename, repo_type="dataset")
    except Exception as err:  # noqa: BLE001 - network, auth, missing file
        raise InputError(f"alpaca_eval: could not download {filename} from {repo} "
                         f"({type(err).__name__}: {err}); {hint}.") from err


def load_prompt_sets(spec: str | Sequence[str], *, split: str = "train",
                     flag: str = "--decontaminate") -> list[PromptSet]:
    """Read the prompt sets a spec names.

    Args:
        spec: ``"mt_bench,alpaca_eval,FILE,NAME=PATH"`` or a list of such items.
        split: the split to read from folders and Hub ids given as PATH.
        flag: the command-line flag that gave ``spec`` (named in errors; ``deita-hf
            decontaminate`` passes ``--against``).

    Returns:
        One :class:`PromptSet` per item, in order.

    Raises:
        ConfigError, InputNotFoundError: a bad spec (see :func:`parse_benchmark_spec`).
        InputError: an unreadable file, a set without prompts, ``alpaca_eval`` offline without
            a local copy (the message says how to pass one).
    """
    from deita_hf.data.loading import load_pool

    sets = []
    for name, path in parse_benchmark_spec(spec):
        source = path
        if path is None and name == "mt_bench":
            path, source = str(MT_BENCH_QUESTIONS), "deita_hf/evaluation/data/question.jsonl"
        elif path is None:  # alpaca_eval
            path = _alpaca_eval_from_hub(flag)
            source = f"hf://datasets/{ALPACA_EVAL_HUB[0]}/{ALPACA_EVAL_HUB[1]}"
        prompts, ids = prompts_from_dataset(load_pool(path, split=split), name)
        if not prompts:
            raise InputError(f"Benchmark {name!r} ({path}) holds no prompts.")
        sets.append(PromptSet(name, str(source), prompts, ids))
    return sets
