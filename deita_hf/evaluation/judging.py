"""LLM-as-a-judge: FastChat's verdict parsing, and asking a judge again when it gives none.

A judge reply without a parseable verdict is asked again up to ``retries`` times, each time
with a new seed and a sampling temperature (the first ask is greedy, seed 0, like FastChat's
judge); if no reply parses, the judgment is MISSING (None): it is counted, never filled in.
Every reply is kept (``attempts``). Every ask goes through a
:class:`~deita_hf.generation.Generator`, so with a ``cache_dir`` a re-run asks nothing twice.

Example:
    >>> parse_rating("The answer is fine. Rating: [[7]]"), parse_rating("[8.5]"), parse_rating("good")
    (7.0, 8.5, None)
    >>> parse_verdict("...so [[B]]"), parse_verdict("[[C]]"), parse_verdict("A is better")
    ('B', 'tie', None)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from deita_hf.errors import ConfigError
from deita_hf.generation import GenerationParams, Generator

__all__ = ["ONE_SCORE_PATTERN", "ONE_SCORE_PATTERN_BACKUP", "ask_judge", "parse_rating", "parse_verdict"]

#: FastChat's rating patterns (fastchat/llm_judge/common.py)
ONE_SCORE_PATTERN = re.compile(r"\[\[(\d+\.?\d*)\]\]")
ONE_SCORE_PATTERN_BACKUP = re.compile(r"\[(\d+\.?\d*)\]")


def parse_rating(text: str | None, *, low: float = 1.0, high: float = 10.0) -> float | None:
    """The ``[[rating]]`` of a single-answer judgment, as FastChat parses it.

    The first ``[[x]]`` wins; without one, the first ``[x]``. Unlike FastChat, a number outside
    ``[low, high]`` (e.g. a citation ``[23]`` caught by the fallback) is no rating.

    Args:
        text: the judge's reply.
        low, high: the rating scale (MT-Bench: 1 to 10).

    Returns:
        The rating, or None when the reply holds none.
    """
    if not text:
        return None
    match = ONE_SCORE_PATTERN.search(text) or ONE_SCORE_PATTERN_BACKUP.search(text)
    if match is None:
        return None
    value = float(match.group(1))
    return value if low <= value <= high else None


def parse_verdict(text: str | None) -> str | None:
    """The verdict of a pairwise judgment (FastChat's ``pair-v2`` format).

    Returns:
        ``"A"`` for ``[[A]]``, ``"B"`` for ``[[B]]``, ``"tie"`` for ``[[C]]`` (checked in that
        order, as FastChat does), None when the reply holds no verdict.
    """
    if not text:
        return None
    for tag, verdict in (("[[A]]", "A"), ("[[B]]", "B"), ("[[C]]", "tie")):
        if tag in text:
            return verdict
    return None


def judge_params(attempt: int, *, max_tokens: int, reask_temperature: float) -> GenerationParams:
    """Sampling settings of the ``attempt``-th ask (0: greedy, seed 0; then new seeds)."""
    return GenerationParams(max_new_tokens=max_tokens, temperature=0.0 if attempt == 0 else reask_temperature,
                            seed=attempt)


def ask_judge(judge: Generator, prompts: Sequence[list[dict[str, str]]], parse: Callable[[str], Any], *,
              retries: int = 2, max_tokens: int = 2048, reask_temperature: float = 0.7,
              progress: bool = True, desc: str = "judge") -> list[dict[str, Any]]:
    """Ask the judge every prompt, and again (new seed/temperature) while its reply has no verdict.

    Args:
        judge: the judge's generator (``on_error="raise"``: a judge that fails for good stops
            the run; finished replies stay in its cache).
        prompts: chat messages (system + user) per judgment.
        parse: reply -> verdict, or None when the reply holds none.
        retries: asks after the first for a reply without a verdict (>= 0).
        max_tokens: ``max_new_tokens`` of the judge.
        reask_temperature: sampling temperature of the re-asks.
        progress: show progress bars.
        desc: progress-bar label.

    Returns:
        One ``{"value": verdict or None, "attempts": [reply, ...]}`` per prompt, in order.

    Raises:
        ConfigError: ``retries`` is negative.
        GenerationError: the judge failed for good.
    """
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ConfigError(f"judge retries must be an integer >= 0, got {retries!r}.")
    results: list[dict[str, Any]] = [{"value": None, "attempts": []} for _ in prompts]
    pending = list(range(len(prompts)))
    for attempt in range(retries + 1):
        if not pending:
            break
        params = judge_params(attempt, max_tokens=max_tokens, reask_temperature=reask_temperature)
        label = desc if attempt == 0 else f"{desc} (re-ask {attempt}: no verdict)"
        texts = judge.generate([prompts[i] for i in pending], params, progress=progress, desc=label)
        still = []
        for i, text in zip(pending, texts):
            results[i]["attempts"].append(text)
            value = parse(text or "")
            if value is None:
                still.append(i)
            else:
                results[i]["value"] = value
        pending = still
    return results
