"""The aggregations: MT-Bench scores, pairwise win rates and their length-controlled versions.

Missing judgments (None, NaN, and FastChat's ``-1`` for ratings) are counted and left out of
every mean: a missing rating is never filled in.

A pair judged in both presentation orders gets one preference for the model from its two
verdicts (1 win, 0.5 tie, 0 loss per order), by a pair rule (:data:`PAIR_RULES`):

- ``"fastchat"`` (FastChat's ``show_result``): the two orders agree, or it is a tie: any
  disagreement (win + tie, win + loss) counts 0.5.
- ``"mean"``: the mean of the two orders (win + tie = 0.75, counted as a win, as AlpacaEval
  counts a preference above 0.5; win + loss = 0.5).

The length-controlled win rates are AlpacaEval's GLMs (:mod:`deita_hf.evaluation.length_control`).

Example:
    >>> r = mt_bench_scores([8, 6, None, 4], ["writing", "writing", "math", "math"], turns=[1, 2, 1, 2])
    >>> r["score"], r["num_missing"], r["per_category"]["math"]["score"]
    (6.0, 1, 4.0)
    >>> w = win_rate_stats([1, 0.5, 0, 1], swapped=[1, 0.5, 1, None])
    >>> round(w["win_rate"], 1), w["num_pairs"], w["num_flipped"], w["num_missing_pairs"]
    (66.7, 3, 1, 1)
    >>> pair_preference(1.0, 0.5, "mean"), pair_preference(1.0, 0.5, "fastchat")
    (0.75, 0.5)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["PAIR_RULES", "is_missing", "mt_bench_pair_scores", "mt_bench_scores", "pair_preference",
           "win_rate_stats"]

#: how the two presentation orders of a pair combine (see the module docstring)
PAIR_RULES = ("fastchat", "mean")

def is_missing(value: Any) -> bool:
    """True for None, NaN and FastChat's ``-1`` (no rating)."""
    if value is None:
        return True
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"a judgment must be a number or None, got {value!r}") from None
    return math.isnan(value) or value == -1


def _summary(values: list[Any]) -> dict[str, Any]:
    rated = [float(v) for v in values if not is_missing(v)]
    return {"score": float(np.mean(rated)) if rated else float("nan"), "num_rated": len(rated),
            "num_missing": len(values) - len(rated)}


def mt_bench_scores(ratings: Sequence[Any], categories: Sequence[str],
                    turns: Sequence[int] | None = None) -> dict[str, Any]:
    """Aggregate MT-Bench judge ratings (1-10) as FastChat's ``show_result`` does.

    Args:
        ratings: one rating per judged turn; None/NaN/-1 = missing (counted, not averaged).
        categories: the question category of each rating.
        turns: the turn (1 or 2) of each rating (None: no per-turn breakdown).

    Returns:
        ``{"score", "num_judgments", "num_rated", "num_missing", "per_turn", "per_category"}``;
        ``score`` is the mean over all rated turns (NaN when none is rated); ``per_turn`` maps
        ``"turn_1"``/``"turn_2"`` and ``per_category`` each category to ``{"score",
        "num_rated", "num_missing"}``.

    Raises:
        ValueError: the inputs differ in length or a rating is not a number.
    """
    ratings, categories = list(ratings), [str(c) for c in categories]
    if len(ratings) != len(categories) or (turns is not None and len(list(turns)) != len(ratings)):
        raise ValueError(f"ratings ({len(ratings)}), categories ({len(categories)}) and turns "
                         "must have the same length")
    out = _summary(ratings)
    result: dict[str, Any] = {"score": out["score"], "num_judgments": len(ratings),
                              "num_rated": out["num_rated"], "num_missing": out["num_missing"]}
    per_turn: dict[str, Any] = {}
    if turns is not None:
        turns = [int(t) for t in turns]
        for t in sorted(set(turns)):
            per_turn[f"turn_{t}"] = _summary([r for r, tt in zip(ratings, turns) if tt == t])
    result["per_turn"] = per_turn
    result["per_category"] = {c: _summary([r for r, cc in zip(ratings, categories) if cc == c])
                              for c in dict.fromkeys(categories)}
    return result


def _se(values: np.ndarray) -> float:
    return float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else float("nan")


def pair_preference(first: float | None, second: float | None, rule: str = "mean") -> float | None:
    """One pair's preference for the model from its two orders' preferences.

    Args:
        first: the preference for the model with the model shown first (1, 0.5, 0; None missing).
        second: the same with the order swapped, still FOR THE MODEL.
        rule: ``"fastchat"`` (any disagreement is a tie) or ``"mean"``.

    Returns:
        The pair's preference, or None when either order is missing (one order alone would
        bring the position bias back).

    Raises:
        ConfigError: an unknown rule.
    """
    if rule not in PAIR_RULES:
        from deita_hf.errors import ConfigError

        raise ConfigError(f"Unknown pair rule {rule!r}; choose one of {', '.join(PAIR_RULES)}.")
    if first is None or second is None:
        return None
    if rule == "mean":
        return (first + second) / 2
    return first if first == second else 0.5


def win_rate_stats(preferences: Sequence[Any], *, swapped: Sequence[Any] | None = None,
                   output_lengths: Sequence[float] | None = None,
                   reference_lengths: Sequence[float] | None = None, pair_rule: str = "mean",
                   length_control: str | None = "length_controlled_minimal",
                   instruction_index: Sequence[int] | None = None,
                   length_control_table: Any = None) -> dict[str, Any]:
    """Pairwise win rate of a model against a reference, from judged preferences.

    Args:
        preferences: per pair, the judge's preference for the model with the model shown
            first (1 win, 0.5 tie, 0 loss, or a number between; None/NaN missing).
        swapped: the same pairs judged with the order swapped (reference shown first), still
            as the preference FOR THE MODEL; the two combine by ``pair_rule``. None:
            single-order judgments.
        output_lengths: model output lengths (characters), for the length-controlled rate.
        reference_lengths: reference output lengths.
        pair_rule: ``"mean"`` or ``"fastchat"`` (:func:`pair_preference`).
        length_control: the estimator of
            :func:`~deita_hf.evaluation.length_control.length_controlled_win_rate`
            (``"length_controlled_v1"``, ``"length_controlled_noreg"``,
            ``"length_controlled_minimal"``) or None for none.
        instruction_index: per pair, the instruction's index in ``length_control_table``.
        length_control_table: a :class:`~deita_hf.evaluation.length_control.LengthControlTable`.

    Returns:
        AlpacaEval's numbers: ``win_rate`` and ``standard_error`` (percent; SE = sd/sqrt(n)),
        ``discrete_win_rate`` (each pair rounded to win/tie/loss), ``num_pairs`` (judged),
        ``num_missing_pairs``, ``num_wins``/``num_ties``/``num_losses`` (pair preference >,
        =, < 0.5), ``pair_rule``; with ``swapped``: ``num_flipped`` (one order says win, the
        other loss), ``num_disagreements`` (the orders differ at all), ``first_position_rate``
        (percent of decisive verdicts for the answer shown first); with lengths and
        ``length_control``: the length-controlled keys (``lc_win_rate``, ``lc_standard_error``,
        ``lc_estimator``, ``lc_weights``).

    Raises:
        ValueError: the inputs differ in length or a preference is outside [0, 1].
    """
    from deita_hf.evaluation.length_control import length_controlled_win_rate

    first = [None if is_missing(p) else float(p) for p in preferences]
    second = None if swapped is None else [None if is_missing(p) else float(p) for p in swapped]
    if second is not None and len(second) != len(first):
        raise ValueError(f"preferences ({len(first)}) and swapped ({len(second)}) differ in length")
    if any(p is not None and not 0 <= p <= 1 for p in first + (second or [])):
        raise ValueError("preferences must be in [0, 1] (1 = model better, 0.5 = tie)")
    pair_preference(None, None, pair_rule)      # checks the rule
    pairs = first if second is None else [pair_preference(a, b, pair_rule) for a, b in zip(first, second)]
    values = np.array([p for p in pairs if p is not None], dtype=float)
    discrete = np.where(values > 0.5, 1.0, np.where(values < 0.5, 0.0, 0.5))
    out: dict[str, Any] = {
        "win_rate": 100 * float(values.mean()) if len(values) else float("nan"),
        "standard_error": 100 * _se(values),
        "discrete_win_rate": 100 * float(discrete.mean()) if len(values) else float("nan"),
        "num_pairs": len(values), "num_missing_pairs": len(pairs) - len(values),
        "num_wins": int((values > 0.5).sum()), "num_ties": int((values == 0.5).sum()),
        "num_losses": int((values < 0.5).sum()), "pair_rule": pair_rule}
    if second is not None:
        both = [(a, b) for a, b in zip(first, second) if a is not None and b is not None]
        out["num_flipped"] = sum((a - 0.5) * (b - 0.5) < 0 for a, b in both)
        out["num_disagreements"] = sum(a != b for a, b in both)
        # the verdict for the answer in position A: the model in order 1, the reference in order 2
        shown_first = [a for a, _ in both] + [1 - b for _, b in both]
        decisive = [v for v in shown_first if v != 0.5]
        out["first_position_rate"] = 100 * float(np.mean(decisive)) if decisive else float("nan")
    if output_lengths is not None and reference_lengths is not None and length_control is not None:
        if not len(output_lengths) == len(reference_lengths) == len(pairs):
            raise ValueError("output_lengths and reference_lengths need one value per pair")
        # every pair, judged or not, as AlpacaEval (the missing ones are predicted, not fitted)
        out.update(length_controlled_win_rate(pairs, output_lengths, reference_lengths, estimator=length_control,
                                              instruction_index=instruction_index, table=length_control_table))
    return out


def _pair_summary(values: list[float | None]) -> dict[str, Any]:
    judged = [v for v in values if v is not None]
    n = len(judged)
    wins, losses = sum(v > 0.5 for v in judged), sum(v < 0.5 for v in judged)
    rate = (lambda k: k / n if n else float("nan"))
    return {"win": wins, "loss": losses, "tie": n - wins - losses, "num_missing": len(values) - n,
            "win_rate": rate(wins), "loss_rate": rate(losses),
            "win_rate_adjusted": float(np.mean(judged)) if n else float("nan")}


def mt_bench_pair_scores(first: Sequence[float | None], second: Sequence[float | None], categories: Sequence[str],
                         turns: Sequence[int], *, pair_rule: str = "fastchat") -> dict[str, Any]:
    """MT-Bench pairwise against a baseline, as FastChat's ``show_result --mode pairwise-baseline``.

    Args:
        first: per judged turn, the preference for the model with the model shown first
            (game 1: 1 win, 0.5 tie, 0 loss; None when the judge gave no verdict).
        second: the same with the baseline shown first (game 2), still FOR THE MODEL.
        categories: the question category of each judged turn.
        turns: the turn (1 or 2) of each.
        pair_rule: ``"fastchat"`` (default, FastChat's: any disagreement is a tie) or ``"mean"``.

    Returns:
        ``win``, ``loss``, ``tie`` (counts over judged turns), ``win_rate`` and ``loss_rate``
        (FastChat's: wins / all, losses / all), ``win_rate_adjusted`` (FastChat's ranking
        number: the mean pair preference, = (win + tie / 2) / all under FastChat's rule),
        ``num_missing`` (a game without a verdict: FastChat's ``error``, left out),
        ``num_judgments``, ``num_disagreements`` (the games differ), ``pair_rule``,
        ``per_turn`` and ``per_category`` (the same counts and rates).

    Raises:
        ValueError: the inputs differ in length.

    Example:
        >>> r = mt_bench_pair_scores([1, 1, 0.5, None], [1, 0.5, 0.5, 1], ["math"] * 4, [1, 1, 2, 2])
        >>> r["win"], r["tie"], r["num_missing"], round(r["win_rate_adjusted"], 3)
        (1, 2, 1, 0.667)
    """
    first, second, categories, turns = list(first), list(second), [str(c) for c in categories], list(turns)
    if not len(first) == len(second) == len(categories) == len(turns):
        raise ValueError("first, second, categories and turns need one value per judged turn")
    pairs = [pair_preference(None if a is None else float(a), None if b is None else float(b), pair_rule)
             for a, b in zip(first, second)]
    out = _pair_summary(pairs)
    out.update({"num_judgments": len(pairs), "pair_rule": pair_rule,
                "num_disagreements": sum(a is not None and b is not None and a != b for a, b in zip(first, second))})
    out["per_turn"] = {f"turn_{t}": _pair_summary([p for p, tt in zip(pairs, turns) if tt == t])
                       for t in sorted(set(turns))}
    out["per_category"] = {c: _pair_summary([p for p, cc in zip(pairs, categories) if cc == c])
                           for c in dict.fromkeys(categories)}
    return out
