"""The aggregations: MT-Bench means with missing ratings, win rates with both orders, flips and
the two pair rules, and MT-Bench pairwise counts (the length-controlled rates: test_length_control)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from deita_hf.errors import ConfigError
from deita_hf.evaluation.stats import (
    mt_bench_pair_scores,
    mt_bench_scores,
    pair_preference,
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


def test_pair_rules():
    """FastChat: the orders agree or it is a tie; mean: win + tie = 0.75 (a win, as AlpacaEval counts)."""
    first = [1, 1, 1, 0.5, 0, 0, None]
    second = [1, 0.5, 0, 0.5, 0.5, 0, 1]
    fast = win_rate_stats(first, swapped=second, pair_rule="fastchat")
    mean = win_rate_stats(first, swapped=second, pair_rule="mean")
    assert [pair_preference(a, b, "fastchat") for a, b in zip(first, second)] == [1, 0.5, 0.5, 0.5, 0.5, 0, None]
    assert [pair_preference(a, b, "mean") for a, b in zip(first, second)] == [1, 0.75, 0.5, 0.5, 0.25, 0, None]
    assert (fast["num_wins"], fast["num_ties"], fast["num_losses"]) == (1, 4, 1)
    assert (mean["num_wins"], mean["num_ties"], mean["num_losses"]) == (2, 2, 2)
    assert fast["win_rate"] == pytest.approx(100 * 3 / 6) and mean["win_rate"] == pytest.approx(100 * 3 / 6)
    assert mean["discrete_win_rate"] == pytest.approx(100 * (2 + 1) / 6) and mean["pair_rule"] == "mean"
    with pytest.raises(ConfigError):
        win_rate_stats(first, swapped=second, pair_rule="alpaca")


def test_mt_bench_pair_scores_by_fastchat_rule():
    g1 = [1, 1, 0, 0.5, None, 1, 0]
    g2 = [1, 0, 0, 0.5, 1, 0.5, 0.5]
    cats, turns = ["math", "math", "writing", "writing", "math", "coding", "coding"], [1, 2, 1, 2, 1, 2, 1]
    r = mt_bench_pair_scores(g1, g2, cats, turns)
    # FastChat: tie if g1 is a tie or the games differ, else the winner; an 'error' game is dropped
    assert (r["win"], r["loss"], r["tie"], r["num_missing"]) == (1, 1, 4, 1)
    assert r["win_rate"] == pytest.approx(1 / 6) and r["loss_rate"] == pytest.approx(1 / 6)
    assert r["win_rate_adjusted"] == pytest.approx((1 + 0.5 * 4) / 6)
    assert r["per_turn"]["turn_2"]["tie"] == 3 and r["per_category"]["coding"]["tie"] == 2
    assert r["num_disagreements"] == 3        # the missing game is not compared
    mean = mt_bench_pair_scores(g1, g2, cats, turns, pair_rule="mean")
    assert mean["win"] == 2 and mean["win_rate_adjusted"] == pytest.approx((1 + .5 + 0 + .5 + .75 + .25) / 6)
