"""The aggregations: MT-Bench means with missing ratings, win rates with both orders and flips,
and the length-controlled win rate on synthetic data whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import expit

from deita_hf.evaluation.stats import (
    length_controlled_win_rate,
    mt_bench_scores,
    win_rate_stats,
)


def test_mt_bench_missing_ratings_are_counted_not_averaged():
    ratings = [9, None, 5, float("nan"), -1, 3]
    cats = ["writing", "writing", "math", "math", "coding", "coding"]
    r = mt_bench_scores(ratings, cats, turns=[1, 2, 1, 2, 1, 2])
    assert r["score"] == pytest.approx((9 + 5 + 3) / 3)
    assert (r["num_judgments"], r["num_rated"], r["num_missing"]) == (6, 3, 3)
    assert r["per_turn"]["turn_1"] == {"score": 7.0, "num_rated": 2, "num_missing": 1}
    assert r["per_turn"]["turn_2"] == {"score": 3.0, "num_rated": 1, "num_missing": 2}
    assert r["per_category"]["math"] == {"score": 5.0, "num_rated": 1, "num_missing": 1}
    assert list(r["per_category"]) == ["writing", "math", "coding"]


def test_mt_bench_all_missing_is_nan_and_bad_input_raises():
    r = mt_bench_scores([None, None], ["writing", "math"])
    assert math.isnan(r["score"]) and r["num_missing"] == 2 and r["per_turn"] == {}
    with pytest.raises(ValueError):
        mt_bench_scores([1, 2], ["writing"])
    with pytest.raises(ValueError):
        mt_bench_scores(["good"], ["writing"])


def test_win_rate_both_orders_ties_flips_and_missing():
    first = [1, 1, 0.5, 0, 1, None]
    swapped = [1, 0, 0.5, 0, 0.5, 1]   # per pair: win, flip, tie, loss, (win+tie), missing
    r = win_rate_stats(first, swapped=swapped)
    pairs = np.array([1, 0.5, 0.5, 0, 0.75])
    assert r["win_rate"] == pytest.approx(100 * pairs.mean())
    assert r["standard_error"] == pytest.approx(100 * pairs.std(ddof=1) / math.sqrt(5))
    assert (r["num_pairs"], r["num_missing_pairs"]) == (5, 1)
    assert (r["num_wins"], r["num_ties"], r["num_losses"]) == (2, 2, 1)
    assert r["num_flipped"] == 1 and r["num_disagreements"] == 2
    # decisive verdicts for the answer shown first: pairs 0,1,3 (and 4's first order)
    shown_first = [1, 1, 0, 1] + [0, 1, 1]  # order 1 as is; order 2 as 1 - preference
    assert r["first_position_rate"] == pytest.approx(100 * np.mean(shown_first))


def test_win_rate_single_order_and_validation():
    r = win_rate_stats([1, 0, 0.5, 1])
    assert r["win_rate"] == 62.5 and "num_flipped" not in r
    with pytest.raises(ValueError):
        win_rate_stats([2.0])
    with pytest.raises(ValueError):
        win_rate_stats([1, 0], swapped=[1])


def _simulate(rng, n, b0, b1, ties=False):
    diff = rng.normal(300.0, 400.0, size=n)            # the model writes longer answers
    z = np.tanh(diff / diff.std(ddof=1))
    p = expit(b0 + b1 * z)
    if ties:  # two independent orders averaged: y in {0, 0.5, 1}, E[y] = p
        y = (rng.random(n) < p).astype(float) / 2 + (rng.random(n) < p).astype(float) / 2
    else:
        y = (rng.random(n) < p).astype(float)
    ref = np.full(n, 1000.0)
    return y, ref + diff, ref


@pytest.mark.parametrize("ties", [False, True])
def test_lc_win_rate_recovers_the_known_answer(ties):
    rng = np.random.default_rng(0)
    b0, b1 = 0.4, 1.5
    y, out, ref = _simulate(rng, 6000, b0, b1, ties=ties)
    r = length_controlled_win_rate(y, out, ref)
    truth = 100 * expit(b0)
    assert abs(r["lc_win_rate"] - truth) < 3 * r["lc_standard_error"] + 0.2
    assert 0.2 < r["lc_standard_error"] < 2.0
    assert r["length_coefficient"] == pytest.approx(b1, abs=0.25)
    raw = 100 * y.mean()
    assert raw > truth + 5            # the raw rate rewards the longer answers ...
    assert abs(r["lc_win_rate"] - truth) < abs(raw - truth) / 4   # ... the LC rate does not


def test_lc_win_rate_standard_error_matches_the_spread():
    rng = np.random.default_rng(1)
    estimates, ses = [], []
    for _ in range(60):
        y, out, ref = _simulate(rng, 400, -0.3, 1.0)
        r = length_controlled_win_rate(y, out, ref)
        estimates.append(r["lc_win_rate"])
        ses.append(r["lc_standard_error"])
    assert np.mean(estimates) == pytest.approx(100 * expit(-0.3), abs=1.5)
    assert np.std(estimates) == pytest.approx(np.mean(ses), rel=0.3)


def test_lc_without_length_effect_equals_raw_and_edge_cases():
    rng = np.random.default_rng(2)
    y, out, ref = _simulate(rng, 3000, 0.2, 0.0)
    r = win_rate_stats(list(y), output_lengths=list(out), reference_lengths=list(ref))
    assert r["lc_win_rate"] == pytest.approx(r["win_rate"], abs=1.5)
    same = length_controlled_win_rate([1, 0, 1, 1], [5] * 4, [5] * 4)   # no length difference at all
    assert same["lc_win_rate"] == pytest.approx(75.0, abs=0.01) and same["length_coefficient"] == pytest.approx(0)
    assert math.isnan(length_controlled_win_rate([1], [3], [2])["lc_win_rate"])
    all_won = length_controlled_win_rate([1.0] * 5, [1, 2, 3, 4, 5], [3] * 5)
    assert all_won["lc_win_rate"] > 99.9 and math.isfinite(all_won["intercept"])
