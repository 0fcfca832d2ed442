"""Rank and score the variants of each seed with a judge LLM, in one prompt per seed.

The usable variants of a seed (status ``"ok"``: the seed and its evolutions up to the first
failed or empty one) are shown in an order shuffled by a seeded RNG, numbered ``[[1]]..[[n]]``
(each row records its ``position``), so position bias averages out over seeds. The answer must
score every shown variant exactly once, on its own line ``[[k]] score: s``, with an integer
``s`` in 1..6 (ties allowed); anything else is malformed and re-asked with another seed and a
sampling temperature, up to ``retries`` times. A seed still without a valid answer is marked
unusable (``usable`` False, ``score`` None) with the judge's last raw text kept: no score is
ever invented. Scores are mapped back from shown positions to the variants.

Example:
    >>> parse_scores("[[1]] score: 3\\n[[2]] Score: 6", 2)
    {1: 3, 2: 6}
    >>> parse_scores("[[1]] score: 3\\n[[1]] score: 4", 2)
    Traceback (most recent call last):
    ...
    deita_hf.evol.ranking.MalformedAnswer: [[1]] is scored more than once
"""

from __future__ import annotations

import random
import re
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from deita_hf.errors import ConfigError, GenerationError, InputError
from deita_hf.evol.prompts import SCORE_RANGE, rank_prompt
from deita_hf.generation import GenerationParams, Generator
from deita_hf.scoring.prompts import COMPLEXITY_TEMPLATE, QUALITY_TEMPLATE

if TYPE_CHECKING:
    from datasets import Features

__all__ = ["MalformedAnswer", "judge_params", "parse_scores", "rank_features", "rank_variants",
           "ranks", "scorer_features", "scorer_rows", "shuffled_order"]

_LINE = re.compile(r"^\W*\[\[\s*(\d+)\s*\]\]\W*score\s*[:=]?\s*(\S+?)\W*$", re.IGNORECASE)
_INDEX = re.compile(r"\[\[\s*(\d+)\s*\]\]")


class MalformedAnswer(ValueError):
    """A judge answer that does not score every variant exactly once in 1..6 (says why)."""


def parse_scores(text: str, n: int) -> dict[int, int]:
    """The scores of a judge answer: ``{position: score}`` for positions 1..n.

    Lines that mention no ``[[k]]`` are ignored (a short preamble is tolerated).

    Args:
        text: the judge's raw answer.
        n: the number of variants shown.

    Returns:
        One integer score in 1..6 per position 1..n.

    Raises:
        MalformedAnswer: a line with ``[[k]]`` is not ``[[k]] score: s``, a position is out of
            range, missing or repeated, or a score is not an integer in 1..6.
    """
    low, high = SCORE_RANGE
    scores: dict[int, int] = {}
    for line in text.splitlines():
        if not _INDEX.search(line):
            continue
        m = _LINE.match(line.strip())
        if m is None or len(_INDEX.findall(line)) != 1:
            raise MalformedAnswer(f"line {line.strip()[:80]!r} is not '[[k]] score: s'")
        k, raw = int(m.group(1)), m.group(2)
        if not 1 <= k <= n:
            raise MalformedAnswer(f"[[{k}]] is not one of [[1]]..[[{n}]]")
        if k in scores:
            raise MalformedAnswer(f"[[{k}]] is scored more than once")
        if not raw.isdigit() or not low <= int(raw) <= high:
            raise MalformedAnswer(f"[[{k}]] has score {raw!r}, not an integer in {low}..{high}")
        scores[k] = int(raw)
    missing = [k for k in range(1, n + 1) if k not in scores]
    if missing:
        raise MalformedAnswer(f"no score for {', '.join(f'[[{k}]]' for k in missing)}")
    return scores


def ranks(scores: Sequence[int]) -> list[int]:
    """Competition ranks, 1 = the highest score, ties share the best rank.

    Example:
        >>> ranks([3, 6, 3, 1])
        [2, 1, 2, 4]
    """
    return [1 + sum(other > s for other in scores) for s in scores]


def shuffled_order(n: int, seed: int, seed_id: str) -> list[int]:
    """The order in which a seed's ``n`` variants are shown (indices into them), seeded.

    Example:
        >>> sorted(shuffled_order(6, 0, "seed-000000"))
        [0, 1, 2, 3, 4, 5]
    """
    order = list(range(n))
    random.Random(f"deita-rank|{seed}|{seed_id}").shuffle(order)
    return order


def judge_params(attempt: int, *, seed: int, max_new_tokens: int,
                 reask_temperature: float) -> GenerationParams:
    """Settings of the ``attempt``-th ask: greedy first, then sampled with seed ``seed+attempt``."""
    return GenerationParams(max_new_tokens=max_new_tokens, seed=seed + attempt,
                            temperature=0.0 if attempt == 0 else reask_temperature)


def rank_features(evol_features: Any) -> Features:
    """The ``datasets.Features`` of ranked rows: the evol columns plus the ranking's."""
    from datasets import Features, Value

    return Features({**evol_features, "score": Value("int32"), "rank_within_seed": Value("int32"),
                     "position": Value("int32"), "usable": Value("bool"),
                     "judge_attempts": Value("int32"), "judge_error": Value("string"),
                     "judge_raw": Value("string")})


def scorer_features() -> Features:
    """The ``datasets.Features`` of scorer training rows (released DEITA scorer-data format)."""
    from datasets import Features, List, Value

    return Features({"id": Value("string"),
                     "conversations": List({"from": Value("string"), "value": Value("string")}),
                     "seed_id": Value("string")})


def scorer_rows(ranked: Sequence[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """Scorer training rows (the format of ``hkust-nlp/deita-*-scorer-data``) of usable rows.

    Example:
        >>> row = scorer_rows([{"variant_id": "s-r1", "seed_id": "s", "instruction": "Hi",
        ...                     "usable": True, "score": 4}], "complexity")[0]
        >>> row["conversations"][1], row["id"]
        ({'from': 'gpt', 'value': '4'}, 's-r1')
    """
    out = []
    for r in ranked:
        if not r["usable"]:
            continue
        human = (COMPLEXITY_TEMPLATE.format(instruction=r["instruction"]) if kind == "complexity"
                 else QUALITY_TEMPLATE.format(instruction=r["instruction"], output=r["response"]))
        out.append({"id": r["variant_id"],
                    "conversations": [{"from": "human", "value": human},
                                      {"from": "gpt", "value": str(int(r["score"]))}],
                    "seed_id": r["seed_id"]})
    return out


def rank_variants(rows: Sequence[dict[str, Any]], judge: Generator, *, kind: str, retries: int = 3,
                  seed: int = 0, max_new_tokens: int = 256, reask_temperature: float = 0.7,
                  progress: bool = True) -> list[dict[str, Any]]:
    """Score each seed's usable variants with ``judge``, one prompt per seed.

    Args:
        rows: the variant rows of ``deita-hf evol`` (grouped by ``seed_id``).
        judge: the judge generator (its cache makes a re-run resume).
        kind: ``"complexity"`` or ``"quality"`` (as the rows were evolved).
        retries: re-asks of a malformed or failed answer (new seed, ``reask_temperature``).
        seed: seeds the shuffles and the judge's sampling.
        max_new_tokens: tokens per judge answer.
        reask_temperature: sampling temperature of re-asks.
        progress: show progress bars.

    Returns:
        Every input row plus ``score``, ``rank_within_seed`` (1 = best), ``position`` (its
        ``[[k]]`` in the prompt), ``usable``, ``judge_attempts``, ``judge_error`` and
        ``judge_raw`` (None where the seed was not sent: fewer than 2 usable variants).

    Raises:
        InputError: no seed has 2 usable variants (nothing to rank).
        GenerationError: no seed got a valid answer (the judge is down, or cannot follow the
            format); the answers received so far stay in the judge's cache.
    """
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ConfigError(f"retries must be an integer >= 0, got {retries!r}.")
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r["seed_id"], []).append({**r, "score": None, "rank_within_seed": None,
                                                    "position": None, "usable": False,
                                                    "judge_attempts": 0, "judge_error": None,
                                                    "judge_raw": None})
    text_col = "instruction" if kind == "complexity" else "response"
    jobs: dict[str, tuple[list[dict[str, Any]], str]] = {}
    for sid, group in groups.items():
        group.sort(key=lambda r: r["round"])
        ok = [r for r in group if r["status"] == "ok"]
        if len(ok) < 2:
            for r in group:
                r["judge_error"] = "fewer than 2 usable variants: not ranked"
            continue
        shown = [ok[i] for i in shuffled_order(len(ok), seed, sid)]
        for k, r in enumerate(shown, 1):
            r["position"] = k
        jobs[sid] = (shown, rank_prompt(kind, [r[text_col] for r in shown],
                                        instruction=shown[0]["instruction"]))
    if not jobs:
        raise InputError(f"None of the {len(groups)} seeds has 2 usable variants (status 'ok'); "
                         f"there is nothing to rank.")
    pending = list(jobs)
    for attempt in range(retries + 1):
        if not pending:
            break
        params = judge_params(attempt, seed=seed, max_new_tokens=max_new_tokens,
                              reask_temperature=reask_temperature)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # failures are recorded per seed
            answers = judge.generate([[{"role": "user", "content": jobs[s][1]}] for s in pending],
                                     params, on_error="none", progress=progress,
                                     desc=f"rank {kind} (ask {attempt + 1})")
        still = []
        for sid, answer in zip(pending, answers):
            shown, error, scores = jobs[sid][0], None, None
            try:
                if answer is None:
                    raise MalformedAnswer("the judge's generation failed")
                scores = parse_scores(answer, len(shown))
            except MalformedAnswer as err:
                error = str(err)
                still.append(sid)
            for r in groups[sid]:
                r["judge_attempts"] = attempt + 1
                if answer is not None or r["judge_raw"] is None:
                    r["judge_raw"] = answer
                r["judge_error"] = error
            if scores is not None:
                rank_of = ranks([scores[k] for k in range(1, len(shown) + 1)])
                for k, r in enumerate(shown, 1):
                    r.update(score=scores[k], rank_within_seed=rank_of[k - 1], usable=True)
        pending = still
    if len(pending) == len(jobs):
        first = groups[pending[0]][0]
        raise GenerationError(
            f"The judge ({judge.spec}) gave no valid answer for any of the {len(jobs)} seeds, after "
            f"{retries} re-asks each (first: {first['judge_error']}; raw answer: "
            f"{str(first['judge_raw'])[:200]!r}). Answers received are cached: fix the judge and re-run.")
    return [r for group in groups.values() for r in group]
