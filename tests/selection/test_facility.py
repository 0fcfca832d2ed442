"""select_facility_location: equal to the plain (non-lazy) float64 greedy, ties, blocks."""

import warnings

import numpy as np
import pytest

from deita_hf.selection import facility
from deita_hf.selection.facility import select_facility_location, tie_tolerance


def reference_facility(emb, budget):
    """Plain greedy on f(S) = Σ_i max_{j∈S} max(0, cos(i, j)), float64, every gain recomputed;
    gains within the tie tolerance of the largest are ties, to the lowest row."""
    u = np.asarray(emb, dtype=np.float64)
    u = u / np.linalg.norm(u, axis=1)[:, None]
    cover, picked, gains = np.zeros(len(u)), [], []
    while len(picked) < min(budget, len(u)):
        g = np.array([-np.inf if j in picked else np.maximum(u @ u[j] - cover, 0).sum()
                      for j in range(len(u))])
        picked.append(int(np.flatnonzero(g >= g.max() - tie_tolerance(len(u)))[0]))
        gains.append(float(g[picked[-1]]))
        cover = np.maximum(cover, np.maximum(u @ u[picked[-1]], 0))
    return picked, gains, float(cover.sum())


def run(ds, budget, **kw):
    kw.setdefault("progress", False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return select_facility_location(ds, budget, return_stats=True, **kw)


@pytest.mark.parametrize("seed,budget,block", [(0, 30, 8192), (1, 50, 17), (2, 12, 64)])
def test_equals_plain_greedy_reference(clustered, pool, seed, budget, block):
    emb, _ = clustered(120, 10, 8, seed, noise=0.4, duplicates=20)
    ref, ref_gains, objective = reference_facility(emb, budget)
    out, stats = run(pool(emb), budget, block_size=block)
    assert out["idx"][:] == ref
    np.testing.assert_allclose(out["facility_gain"][:], ref_gains, rtol=1e-9, atol=1e-9)
    assert stats.params["objective"] == pytest.approx(objective, rel=1e-9)
    assert out["selection_rank"][:] == list(range(budget))


def test_lazy_batches_of_one_give_the_same_picks(clustered, pool, monkeypatch):
    monkeypatch.setattr(facility, "LAZY_BATCH", 1)
    emb, _ = clustered(80, 6, 5, 5, duplicates=10)
    out, _ = run(pool(emb), 40)
    assert out["idx"][:] == reference_facility(emb, 40)[0]


def test_exact_ties_and_zero_gains_go_to_the_lowest_row(pool):
    emb = [[0.0, 1.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]
    out, stats = run(pool(emb), 5)
    # 0 and 3 tie with 1 and 2 (gain 2), then -1 0 (gain 1), then the duplicates (gain 0)
    assert out["idx"][:] == reference_facility(emb, 5)[0] == [0, 1, 4, 2, 3]
    assert out["facility_gain"][:] == [2.0, 2.0, 1.0, 0.0, 0.0]
    assert stats.params["near_tie_rechecks"] >= 1


def test_budget_over_pool_warns(pool):
    with pytest.warns(UserWarning, match="Only 2 rows"):
        out = select_facility_location(pool([[1, 0], [0, 1]]), 5, progress=False)
    assert len(out) == 2


def test_symmetric_pairs_are_ties_despite_rounding(pool):
    # after row 1, rows 2 and 3 have equal gains in exact arithmetic (1 + s23 - s12 - s13)
    emb = [[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]]
    out, _ = run(pool(emb), 2)
    assert out["idx"][:] == reference_facility(emb, 2)[0] == [1, 2]
