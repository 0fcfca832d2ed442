"""FastChat's ``model_judgment/*.jsonl`` read back and aggregated by this package's code.

Two layouts, as FastChat's ``gen_judgment.py`` writes them (and ``deita-hf eval`` too):

- single (``gpt-4_single.jsonl``): ``question_id``, ``model``, ``judge`` ([judge, prompt]),
  ``score`` (-1: no rating), ``turn``; aggregated by
  :func:`~deita_hf.evaluation.stats.mt_bench_scores` (= ``show_result --mode single``).
- pair (``gpt-4_pair.jsonl``): ``question_id``, ``model_1``, ``model_2``, ``g1_winner`` (game 1,
  model_1 shown as A) and ``g2_winner`` (game 2, the order swapped), each ``model_1``,
  ``model_2``, ``tie`` or ``error``, ``turn``; aggregated for one model against a baseline by
  :func:`~deita_hf.evaluation.stats.mt_bench_pair_scores` (= ``show_result --mode
  pairwise-baseline`` with the ``fastchat`` pair rule).

``deita-hf eval --judgments FILE --output DIR`` writes the ``results.json`` of such a file, so
FastChat's judgments go into model cards and ``--compare`` like the package's own runs.

Example:
    >>> rows = [{"question_id": 81, "model": "m", "judge": ["gpt-4", "single-v1"], "score": 8, "turn": 1},
    ...         {"question_id": 81, "model": "m", "judge": ["gpt-4", "single-v1-multi-turn"], "score": -1, "turn": 2}]
    >>> r = judgment_results(rows, source="gpt-4_single.jsonl")
    >>> r["benchmark"], r["model"], r["judge"], r["metrics"]["score"], r["metrics"]["num_missing"]
    ('mt_bench', 'm', 'gpt-4', 8.0, 1)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from deita_hf.errors import ConfigError, InputError
from deita_hf.evaluation.answers import read_records
from deita_hf.evaluation.benchmark_data import load_questions
from deita_hf.evaluation.outputs import FIGURES
from deita_hf.evaluation.stats import mt_bench_pair_scores, mt_bench_scores

__all__ = ["judgment_results", "read_fastchat_judgments"]

#: a game's winner as the preference for ``model_1`` (``error``: no verdict)
_FOR_MODEL_1 = {"model_1": 1.0, "model_2": 0.0, "tie": 0.5, "error": None}


def _check_ratings(rows: list[dict[str, Any]], path: str | os.PathLike) -> None:
    """Nothing outside the judge's scale and no judgment twice: either would be averaged in."""
    seen: dict[tuple, int] = {}
    for i, row in enumerate(rows):
        if "score" in row:
            score = row["score"]
            if isinstance(score, bool) or not isinstance(score, (int, float)) or \
                    not (score == -1 or 1 <= score <= 10):
                raise InputError(f"--judgments {str(path)!r}, row {i}: score {score!r} is outside the "
                                 f"judge's scale (1-10, or -1 for no rating); fix or drop the row.")
            key = ("single", str(row["model"]), row["question_id"], row.get("turn", 1))
        else:
            key = ("pair", *sorted((str(row["model_1"]), str(row["model_2"]))), row["question_id"],
                   row.get("turn", 1))
        if key in seen:
            raise InputError(f"--judgments {str(path)!r}, row {i}: question {row['question_id']}, turn "
                             f"{row.get('turn', 1)} of {' vs '.join(map(str, key[1:-2]))} is judged twice "
                             f"(also row {seen[key]}); keep one judgment per question and turn.")
        seen[key] = i


def read_fastchat_judgments(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The rows of a FastChat judgment file (JSON Lines), checked for one layout, ratings on
    the judge's scale (1-10, -1: no rating) and one judgment per model, question and turn.

    Args:
        path: the file.

    Returns:
        Its rows.

    Raises:
        InputError: a row has neither the single (``score``) nor the pair (``g1_winner``)
            fields, the file mixes both, a score is outside 1-10 (and not -1), or a
            (model, question, turn) is judged twice.
    """
    rows = read_records(path, what="--judgments")
    kinds = set()
    for i, row in enumerate(rows):
        kind = "single" if "score" in row and "model" in row else \
            "pair" if {"model_1", "model_2"} <= set(row) and ("g1_winner" in row or "winner" in row) else None
        if kind is None or "question_id" not in row:
            raise InputError(f"--judgments {str(path)!r}, row {i}: not a FastChat judgment (single: question_id, "
                             f"model, score, turn; pair: question_id, model_1, model_2, g1_winner, g2_winner); "
                             f"it has {sorted(row)}.")
        kinds.add(kind)
    if len(kinds) > 1:
        raise InputError(f"--judgments {str(path)!r} mixes single and pair judgments; give one file of each kind.")
    _check_ratings(rows, path)
    return rows


def _categories(rows: list[dict[str, Any]]) -> list[str]:
    known = {q["question_id"]: q["category"] for q in load_questions()}
    return [str(r.get("category") or known.get(r["question_id"], "unknown")) for r in rows]


def _judge(rows: list[dict[str, Any]]) -> str:
    judges = sorted({str(r["judge"][0]) if isinstance(r.get("judge"), (list, tuple)) else str(r.get("judge"))
                     for r in rows})
    return ", ".join(judges)


def _pick(options: set[str], given: str | None, what: str, source: str) -> str:
    if given is not None:
        if given not in options:
            flag = "--model-name" if what == "model" else "--baseline"
            raise ConfigError(f"{flag} {given!r} is not in {source!r}; it holds {sorted(options)}.")
        return given
    if len(options) != 1:
        flag = "--model-name" if what == "model" else "--baseline"
        raise ConfigError(f"{source!r} holds judgments of {len(options) or 'no'} candidate {what}s "
                          f"({sorted(options)}); pick one with {flag}.")
    return next(iter(options))


def judgment_results(rows: list[dict[str, Any]], *, source: str, model: str | None = None,
                     baseline: str | None = None, pair_rule: str = "fastchat") -> dict[str, Any]:
    """The ``results.json`` contents of FastChat judgments, for one model.

    Args:
        rows: :func:`read_fastchat_judgments` output.
        source: the file's name (kept in the results).
        model: the model to report (needed when the file holds several).
        baseline: pair files: the baseline (default: the one model in every pair; of two, the
            one that is always ``model_2``, as FastChat's ``gen_judgment.py`` writes it).
        pair_rule: pair files: ``"fastchat"`` (default) or ``"mean"``.

    Returns:
        ``{"benchmark", "model", "judge", "metrics", "judge_report", "settings", "files", ...}``.

    Raises:
        ConfigError: the model (or baseline) is ambiguous or absent.
    """
    if "score" in rows[0]:
        model = _pick({str(r["model"]) for r in rows}, model, "model", source)
        mine = [r for r in rows if str(r["model"]) == model]
        metrics = mt_bench_scores([r["score"] for r in mine], _categories(mine), [int(r["turn"]) for r in mine])
        report = {"num_judgments": len(mine), "num_missing": metrics["num_missing"]}
        benchmark, extra = "mt_bench", {}
    else:
        if baseline is None:   # the model in every pair; FastChat's pairwise-baseline files put it second
            common = set.intersection(*({str(r["model_1"]), str(r["model_2"])} for r in rows)) - {model}
            second = {str(r["model_2"]) for r in rows}
            baseline = _pick(second if len(common) > 1 and len(second) == 1 else common, None, "baseline", source)
        pairs = [r for r in rows if baseline in (str(r["model_1"]), str(r["model_2"]))]
        if not pairs:
            raise ConfigError(f"--baseline {baseline!r} is in no pair of {source!r}.")
        others = {str(r["model_2"]) if str(r["model_1"]) == baseline else str(r["model_1"]) for r in pairs}
        model = _pick(others - {baseline}, model, "model", source)
        mine = [r for r in pairs if model in (str(r["model_1"]), str(r["model_2"]))]
        first, second = [], []
        for r in mine:
            g1, g2 = r.get("g1_winner", r.get("winner")), r.get("g2_winner", r.get("winner"))
            a, b = _FOR_MODEL_1.get(g1), _FOR_MODEL_1.get(g2)
            if str(r["model_2"]) == model:           # the model was model_2: its preference is 1 - model_1's
                a, b = (None if a is None else 1 - a), (None if b is None else 1 - b)
            first.append(a)
            second.append(b)
        metrics = mt_bench_pair_scores(first, second, _categories(mine), [int(r.get("turn", 1)) for r in mine],
                                       pair_rule=pair_rule)
        report = {"num_judgments": len(mine), "num_games": 2 * len(mine),
                  "num_missing": sum(v is None for v in first + second), "num_missing_pairs": metrics["num_missing"],
                  "num_disagreements": metrics["num_disagreements"]}
        benchmark, extra = "mt_bench_pair", {"baseline": baseline, "baseline_model": baseline}
    return {"benchmark": benchmark, "model": model, "judge": _judge(mine), **extra, "metrics": metrics,
            "judge_report": report,
            "settings": {"num_questions": len({r["question_id"] for r in mine}), "source": source,
                         "pair_rule": pair_rule if benchmark == "mt_bench_pair" else None},
            "files": {"judgments": Path(source).name, "figure": FIGURES[benchmark]}}
