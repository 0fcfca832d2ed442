"""Agreement statistics equal scipy's; the card section is replaced, not duplicated."""

from __future__ import annotations

import math

import numpy as np
import pytest

from deita_hf.scorer_training.agreement import (
    agreement,
    kendall_tau_b,
    rankdata,
    spearman,
)
from deita_hf.scorer_training.card import agreement_markdown, update_scorer_card

stats = pytest.importorskip("scipy.stats")


@pytest.mark.parametrize("n, seed", [(2, 0), (7, 1), (60, 2), (1300, 3)])
def test_rank_correlations_equal_scipy(n, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(1, 7, n).astype(float)            # many ties, as real labels
    pred = np.round(labels + rng.normal(0, 1.2, n), 1)      # ties in predictions too
    assert rankdata(pred) == pytest.approx(stats.rankdata(pred))
    assert spearman(pred, labels) == pytest.approx(stats.spearmanr(pred, labels).statistic, abs=1e-12)
    assert kendall_tau_b(pred, labels, block=64) == pytest.approx(
        stats.kendalltau(pred, labels).statistic, abs=1e-12)


def test_constant_side_gives_nan_like_scipy():
    assert math.isnan(spearman([1, 2, 3], [2, 2, 2]))
    assert math.isnan(kendall_tau_b([1, 2, 3], [2, 2, 2]))
    assert math.isnan(spearman([1.0], [1.0]))


def test_groups_and_markdown():
    pred = [1.0, 2.0, 3.0, 3.0, 2.0, 5.0]
    lab = [1, 2, 3, 1, 2, 6]
    res = agreement(pred, lab, ["a", "a", "a", "b", "b", "c"])
    assert res["groups"]["a"]["spearman"] == 1.0 and res["groups"]["b"]["spearman"] == -1.0
    assert math.isnan(res["groups"]["c"]["spearman"])
    assert res["by_group"] == {"spearman": 0.0, "kendall": 0.0, "groups": 3, "groups_defined": 2}
    assert "groups" not in agreement(pred, lab, [None] * 6)
    assert "| Spearman, mean over seed groups | 0.0000 |" in agreement_markdown({**res, "rows": 6})


def test_update_card_replaces_the_section(tmp_path):
    (tmp_path / "README.md").write_text("# my scorer\n\n" + agreement_markdown(None) + "\n\n## After\n")
    res = agreement([1.0, 2.0, 4.0], [1, 2, 3])
    update_scorer_card(tmp_path, {**res, "rows": 3, "data": "held.jsonl"})
    text = update_scorer_card(tmp_path, {**res, "rows": 3, "data": "held.jsonl"}).read_text()
    assert text.count("## Held-out agreement") == 1 and "Not measured yet" not in text
    assert text.startswith("# my scorer") and text.rstrip().endswith("## After")
    assert "| Spearman (all rows) | 1.0000 |" in text
    (tmp_path / "README.md").write_text("# other card\n")
    assert "## Held-out agreement" in update_scorer_card(tmp_path, res).read_text()
