"""The benchmark data: MT-Bench (shipped with the package) and pairwise reference outputs.

The MT-Bench files under ``deita_hf/evaluation/data/`` are FastChat's, copied verbatim
(Apache-2.0; see ``data/NOTICE.md``): the 80 two-turn questions, GPT-4's reference answers for
math, reasoning and coding, and the LLM-as-a-judge prompt templates.

Example:
    >>> from deita_hf.evaluation.benchmark_data import load_questions, select_questions
    >>> questions = load_questions()
    >>> len(questions), questions[0]["category"], len(questions[0]["turns"])
    (80, 'writing', 2)
    >>> [q["category"] for q in select_questions(questions, 4)]
    ['writing', 'roleplay', 'reasoning', 'math']
    >>> sorted(load_judge_prompts())[:2]
    ['pair-math-v1', 'pair-math-v1-multi-turn']
    >>> len(load_reference_answers()[111])
    2
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from deita_hf.data.benchmark_prompts import MT_BENCH_QUESTIONS
from deita_hf.errors import ConfigError, InputError

__all__ = [
    "DATA_DIR", "NEED_REF_CATEGORIES", "TEMPERATURES", "load_judge_prompts", "load_questions",
    "load_reference_answers", "load_reference_outputs", "select_questions",
]

#: the package's MT-Bench files (the questions: ``MT_BENCH_QUESTIONS``, which decontamination
#: reads too)
DATA_DIR = MT_BENCH_QUESTIONS.parent

#: FastChat's per-category sampling temperatures for answer generation (gen_model_answer.py)
TEMPERATURES: dict[str, float] = {
    "writing": 0.7, "roleplay": 0.7, "extraction": 0.0, "math": 0.0, "coding": 0.0,
    "reasoning": 0.0, "stem": 0.1, "humanities": 0.1,
}

#: categories judged against GPT-4's reference answer (FastChat's NEED_REF_CATS)
NEED_REF_CATEGORIES = ("math", "reasoning", "coding")


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_questions() -> list[dict[str, Any]]:
    """The 80 MT-Bench questions, in file order.

    Returns:
        Dicts with ``question_id`` (81-160), ``category`` and ``turns`` (two strings).
    """
    return _read_jsonl(MT_BENCH_QUESTIONS)


def load_reference_answers() -> dict[int, list[str]]:
    """GPT-4's reference answers (math, reasoning, coding), shown to the judge.

    Returns:
        ``{question_id: [turn-1 answer, turn-2 answer]}`` (30 questions).
    """
    return {row["question_id"]: list(row["choices"][0]["turns"])
            for row in _read_jsonl(DATA_DIR / "reference_answer_gpt-4.jsonl")}


def load_judge_prompts() -> dict[str, dict[str, Any]]:
    """FastChat's judge prompt templates by name (``single-v1``, ``pair-v2``, ...).

    Returns:
        ``{name: {"system_prompt", "prompt_template", "output_format", ...}}``.
    """
    return {row["name"]: row for row in _read_jsonl(DATA_DIR / "judge_prompts.jsonl")}


def select_questions(questions: list[dict[str, Any]], n: int | None) -> list[dict[str, Any]]:
    """A smoke-run subset that covers the categories: round-robin over categories in file
    order (``n=8`` gives one question per category), returned in file order.

    Args:
        questions: :func:`load_questions` output.
        n: how many questions (None: all).

    Returns:
        The first ``n`` questions in round-robin category order.

    Raises:
        ConfigError: ``n`` is not a positive integer.
    """
    if n is None or n >= len(questions):
        return list(questions)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError(f"--questions must be a positive integer, got {n!r}.")
    by_cat: dict[str, list[dict[str, Any]]] = {}
    for q in questions:
        by_cat.setdefault(q["category"], []).append(q)
    picked: list[dict[str, Any]] = []
    depth = 0
    while len(picked) < n:
        for rows in by_cat.values():
            if depth < len(rows) and len(picked) < n:
                picked.append(rows[depth])
        depth += 1
    order = {id(q): i for i, q in enumerate(questions)}
    return sorted(picked, key=lambda q: order[id(q)])


def load_reference_outputs(source: str | os.PathLike, *, split: str = "train",
                           n: int | None = None) -> list[dict[str, str]]:
    """The reference model's outputs for a pairwise comparison.

    Args:
        source: any dataset :func:`deita_hf.data.loading.load_pool` reads (file, folder, Hub id)
            with ``instruction`` and ``output`` columns; an ``input`` column (Alpaca style) is
            appended to the instruction after a blank line; ``generator`` names the reference
            model and ``dataset`` (AlpacaEval's subset) is kept when present.
        split: split to read from folders and Hub repos.
        n: keep the first ``n`` rows (None: all).

    Returns:
        ``[{"index", "instruction", "output", "generator", "dataset"}]``; ``index`` is the row's
        position in the data set (AlpacaEval's instruction index), ``dataset`` None when absent.

    Raises:
        InputError: a required column is missing or a value is not a string.
    """
    from deita_hf.data.loading import load_pool

    ds = load_pool(source, split=split)
    missing = {"instruction", "output"} - set(ds.column_names)
    if missing:
        raise InputError(f"The reference dataset {str(source)!r} lacks the column(s) "
                         f"{sorted(missing)}; it needs 'instruction' and 'output' (AlpacaEval "
                         f"format), it has {ds.column_names}.")
    if n is not None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ConfigError(f"--questions must be a positive integer, got {n!r}.")
        ds = ds.select(range(min(n, len(ds))))
    rows = []
    for i, row in enumerate(ds):
        instruction, output = row["instruction"], row["output"]
        if not isinstance(instruction, str) or not isinstance(output, str) or not instruction.strip():
            raise InputError(f"Row {i} of {str(source)!r}: 'instruction' and 'output' must be "
                             f"strings (and the instruction non-empty).")
        extra = row.get("input")
        if isinstance(extra, str) and extra.strip():
            instruction = f"{instruction}\n\n{extra}"
        generator, subset = row.get("generator"), row.get("dataset")
        rows.append({"index": i, "instruction": instruction, "output": output,
                     "generator": generator if isinstance(generator, str) else "reference",
                     "dataset": subset if isinstance(subset, str) else None})
    return rows
