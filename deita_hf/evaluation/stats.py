"""The aggregations: MT-Bench scores, pairwise win rates, the length-controlled win rate.

Missing judgments (None, NaN, and FastChat's ``-1`` for ratings) are counted and left out of
every mean: a missing rating is never filled in.

Length-controlled win rate (after AlpacaEval 2.0, Dubois et al. 2024, arXiv:2404.04475): with
``y_i`` the preference for the model on pair ``i`` (1 win, 0.5 tie, 0 loss; the mean of both
presentation orders) and ``d_i = len(model output) - len(reference output)`` in characters,
fit the logistic model

    P(model preferred | i) = sigmoid(b0 + b1 * tanh(d_i / sd(d)))

by maximum likelihood with ``y_i`` as soft labels (cross-entropy; a 1e-5 ridge keeps the fit
finite when every pair is won). ``tanh`` of the standardized difference is AlpacaEval's length
feature; the length-controlled win rate is the predicted win rate at zero length difference,
``100 * sigmoid(b0)``, and its standard error comes from the sandwich (robust) covariance of
``b0`` by the delta method. AlpacaEval also fits per-instruction difficulty over many models;
with one model and one reference that term is not identifiable and is left out.

Example:
    >>> r = mt_bench_scores([8, 6, None, 4], ["writing", "writing", "math", "math"], turns=[1, 2, 1, 2])
    >>> r["score"], r["num_missing"], r["per_category"]["math"]["score"]
    (6.0, 1, 4.0)
    >>> w = win_rate_stats([1, 0.5, 0, 1], swapped=[1, 0.5, 1, None])
    >>> round(w["win_rate"], 1), w["num_pairs"], w["num_flipped"], w["num_missing_pairs"]
    (66.7, 3, 1, 1)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["is_missing", "length_controlled_win_rate", "mt_bench_scores", "win_rate_stats"]

_RIDGE = 1e-5


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


def length_controlled_win_rate(preferences: Sequence[float], output_lengths: Sequence[float],
                               reference_lengths: Sequence[float]) -> dict[str, float]:
    """The length-controlled win rate (see the module docstring for the model).

    Args:
        preferences: preference for the model per pair, in [0, 1] (no missing values).
        output_lengths: length of the model's output per pair (characters).
        reference_lengths: length of the reference output per pair.

    Returns:
        ``{"lc_win_rate", "lc_standard_error"}`` in percent, ``"length_coefficient"`` (b1) and
        ``"intercept"`` (b0); NaN for fewer than 2 pairs.

    Example:
        A model that wins mostly by writing longer answers (raw win rate 58.3%):

        >>> r = length_controlled_win_rate([1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0],
        ...     [900, 800, 950, 700, 880, 910, 860, 940, 100, 120, 90, 110], [500] * 12)
        >>> round(r["lc_win_rate"], 1), round(r["length_coefficient"], 2)
        (51.4, 1.37)
    """
    from scipy.optimize import minimize
    from scipy.special import expit

    y = np.asarray(preferences, dtype=float)
    diff = np.asarray(output_lengths, dtype=float) - np.asarray(reference_lengths, dtype=float)
    if not len(y) == len(diff) or np.any((y < 0) | (y > 1)) or not np.all(np.isfinite(diff)):
        raise ValueError("preferences must be in [0, 1] and match the finite lengths one to one")
    n = len(y)
    nan = {"lc_win_rate": float("nan"), "lc_standard_error": float("nan"),
           "length_coefficient": float("nan"), "intercept": float("nan")}
    if n < 2:
        return nan
    sd = diff.std(ddof=1)
    z = np.tanh(diff / sd) if sd > 0 else np.zeros(n)
    x = np.column_stack([np.ones(n), z])

    def loss(beta: np.ndarray) -> tuple[float, np.ndarray]:
        eta = x @ beta
        value = np.mean(np.logaddexp(0.0, eta) - y * eta) + 0.5 * _RIDGE * beta @ beta
        return float(value), x.T @ (expit(eta) - y) / n + _RIDGE * beta

    beta = minimize(loss, np.zeros(2), jac=True, method="BFGS", options={"gtol": 1e-10}).x
    p = expit(x @ beta)
    hessian = (x.T * (p * (1 - p))) @ x / n + _RIDGE * np.eye(2)
    scores = x * (p - y)[:, None]
    meat = scores.T @ scores / n
    try:
        bread = np.linalg.inv(hessian)
        var_b0 = float((bread @ meat @ bread)[0, 0] / n)
    except np.linalg.LinAlgError:
        var_b0 = float("nan")
    lc = float(expit(beta[0]))
    return {"lc_win_rate": 100 * lc, "lc_standard_error": 100 * lc * (1 - lc) * math.sqrt(max(var_b0, 0.0)),
            "length_coefficient": float(beta[1]), "intercept": float(beta[0])}


def win_rate_stats(preferences: Sequence[Any], *, swapped: Sequence[Any] | None = None,
                   output_lengths: Sequence[float] | None = None,
                   reference_lengths: Sequence[float] | None = None) -> dict[str, Any]:
    """Pairwise win rate of a model against a reference, from judged preferences.

    Args:
        preferences: per pair, the judge's preference for the model with the model shown
            first (1 win, 0.5 tie, 0 loss; None/NaN missing).
        swapped: the same pairs judged with the order swapped (reference shown first), still
            as the preference FOR THE MODEL. A pair's preference is the mean of both orders;
            a pair missing either order is missing (one order alone would bring the position
            bias back). None: single-order judgments.
        output_lengths: model output lengths (characters), for the length-controlled rate.
        reference_lengths: reference output lengths.

    Returns:
        ``win_rate`` and ``standard_error`` (percent; ties count 0.5; SE = sd/sqrt(n)),
        ``num_pairs`` (judged), ``num_missing_pairs``, ``num_wins``/``num_ties``/``num_losses``
        (pair preference >, =, < 0.5), and with ``swapped``: ``num_flipped`` (one order says
        win, the other loss), ``num_disagreements`` (the orders differ at all),
        ``first_position_rate`` (percent of decisive verdicts for the answer shown first);
        with lengths: :func:`length_controlled_win_rate`'s keys.

    Raises:
        ValueError: the inputs differ in length or a preference is outside [0, 1].
    """
    first = [None if is_missing(p) else float(p) for p in preferences]
    second = None if swapped is None else [None if is_missing(p) else float(p) for p in swapped]
    if second is not None and len(second) != len(first):
        raise ValueError(f"preferences ({len(first)}) and swapped ({len(second)}) differ in length")
    if any(p is not None and not 0 <= p <= 1 for p in first + (second or [])):
        raise ValueError("preferences must be in [0, 1] (1 = model better, 0.5 = tie)")
    pairs = first if second is None else [
        None if a is None or b is None else (a + b) / 2 for a, b in zip(first, second)]
    judged = [i for i, p in enumerate(pairs) if p is not None]
    values = np.array([pairs[i] for i in judged], dtype=float)
    out: dict[str, Any] = {
        "win_rate": 100 * float(values.mean()) if len(values) else float("nan"),
        "standard_error": 100 * _se(values), "num_pairs": len(values),
        "num_missing_pairs": len(pairs) - len(values), "num_wins": int((values > 0.5).sum()),
        "num_ties": int((values == 0.5).sum()), "num_losses": int((values < 0.5).sum())}
    if second is not None:
        both = [(a, b) for a, b in zip(first, second) if a is not None and b is not None]
        out["num_flipped"] = sum((a - 0.5) * (b - 0.5) < 0 for a, b in both)
        out["num_disagreements"] = sum(a != b for a, b in both)
        # the verdict for the answer in position A: the model in order 1, the reference in order 2
        shown_first = [a for a, _ in both] + [1 - b for _, b in both]
        decisive = [v for v in shown_first if v != 0.5]
        out["first_position_rate"] = 100 * float(np.mean(decisive)) if decisive else float("nan")
    if output_lengths is not None and reference_lengths is not None:
        if not len(output_lengths) == len(reference_lengths) == len(pairs):
            raise ValueError("output_lengths and reference_lengths need one value per pair")
        out.update(length_controlled_win_rate(
            values, [output_lengths[i] for i in judged], [reference_lengths[i] for i in judged]))
    return out
