"""select_kcenter: equal to a one-pick-at-a-time float64 reference; ties; distances; bounds."""

import warnings

import numpy as np
import pytest

from deita_hf.selection.kcenter import PoolVectors, float32_bound, select_kcenter


def reference_kcenter(emb, budget, metric, scores=None):
    """Farthest-first in float64 numpy, every distance recomputed per pick (fresh arrays)."""
    x = np.asarray(emb, dtype=np.float64)
    if metric == "cosine":
        x = x / np.linalg.norm(x, axis=1)[:, None]
    picked = [int(np.argmax(scores)) if scores is not None else 0]
    dists = [None]
    while len(picked) < min(budget, len(x)):
        if metric == "cosine":
            d = np.stack([1.0 - x @ x[j] for j in picked], axis=1).min(axis=1)
        else:
            d = np.stack([np.linalg.norm(x - x[j], axis=1) for j in picked], axis=1).min(axis=1)
        d[picked] = -np.inf
        picked.append(int(np.argmax(d)))  # first maximum: ties to the lowest row
        dists.append(float(d[picked[-1]]))
    return picked, dists


def run(ds, budget, **kw):
    kw.setdefault("progress", False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return select_kcenter(ds, budget, return_stats=True, **kw)


@pytest.mark.parametrize("metric", ["cosine", "l2"])
@pytest.mark.parametrize("seed,budget,scored", [(0, 40, False), (1, 60, True), (2, 25, True),
                                                (3, 90, False)])
def test_equals_reference_on_clustered_data(clustered, pool, metric, seed, budget, scored):
    emb, scores = clustered(160, 12, 10, seed, noise=0.3 + 0.2 * seed, duplicates=25)
    ref, ref_d = reference_kcenter(emb, budget, metric, scores if scored else None)
    out, stats = run(pool(emb, scores), budget, metric=metric,
                     score_column="score" if scored else None, block_size=37)
    assert out["idx"][:] == ref
    assert out["selection_rank"][:] == list(range(budget))
    got = out["kcenter_distance"][:]
    assert got[0] is None and ref_d[0] is None
    np.testing.assert_allclose(got[1:], ref_d[1:], rtol=1e-5, atol=1e-5)
    assert stats.strategy == "kcenter" and stats.kept == budget and list(stats.rows) == ref
    if scored:
        assert out["selection_score"][:] == [scores[i] for i in ref]
    if metric == "cosine":
        np.testing.assert_allclose(stats.max_similarity[1:], 1 - np.array(ref_d[1:]), atol=1e-5)


def test_exact_ties_go_to_the_lowest_row(pool):
    # rows 1, 2, 4 and 5 are all at distance 5 from row 0; rows 2 and 4 duplicate each other
    emb = [[0, 0], [3, 4], [-3, 4], [1, 0], [-3, 4], [0, -5]]
    out, _ = run(pool(emb), 6, metric="l2")
    # 0; then 1 (lowest of 1, 2, 4, 5); then 2, 4 and 5 still tie at 5 -> 2; then 5, 3, 4
    ref, _ = reference_kcenter(emb, 6, "l2")
    assert out["idx"][:] == ref == [0, 1, 2, 5, 3, 4]
    assert out["kcenter_distance"][:][-1] == 0.0  # row 4 duplicates picked row 2


def test_all_duplicates_are_picked_in_row_order(pool):
    emb = [[1.0, 0.0]] * 3 + [[0.0, 1.0]] * 3
    out, _ = run(pool(emb), 6)
    assert out["idx"][:] == [0, 3, 1, 2, 4, 5]


def test_first_centre_is_the_top_score_lowest_row(pool):
    out, _ = run(pool([[1, 0], [0, 1], [1, 1]], [1.0, 3.0, 3.0]), 1, score_column="score")
    assert out["idx"][:] == [1]


def test_deita_score_columns_choose_the_first_centre(pool):
    ds = pool([[1, 0], [0, 1], [1, 1]], complexity=[1.0, 2.0, 3.0], quality=[[5.0], [1.0], [1.0]])
    ds = ds.map(lambda r: {"complexity": [r["complexity"]]})
    out, stats = run(ds, 2, complexity_column="complexity", quality_column="quality")
    assert out["idx"][0] == 0 and stats.columns["quality_column"] == "quality"


def test_budget_over_pool_returns_all_with_warning(pool):
    with pytest.warns(UserWarning, match="Only 3 rows"):
        out = select_kcenter(pool([[1, 0], [0, 1], [1, 1]]), 10, progress=False)
    assert sorted(out["idx"][:]) == [0, 1, 2]


def test_float32_bounds_are_outward():
    v = 0.1  # not a float32
    assert float32_bound(v, up=True) >= v >= float32_bound(v, up=False)
    assert float32_bound(0.5, up=True) == 0.5


@pytest.mark.parametrize("metric", ["cosine", "l2"])
def test_float32_error_bound_holds(clustered, pool, metric):
    emb, _ = clustered(200, 64, 5, 7)
    emb = emb + 3.0  # an offset: l2 centres the pool before the expansion
    p = PoolVectors(pool(emb), "embedding", metric, "cpu", 50)
    x = p.exact(np.arange(200))
    for c in (0, 17, 199):
        d32 = np.asarray(p.distances(c), dtype=np.float64)
        if metric == "cosine":
            d64 = 1 - x @ x[c]
        else:
            d64 = ((x - x[c]) ** 2).sum(axis=1)
        assert np.abs(d32 - d64).max() <= p.eps()


@pytest.mark.parametrize("metric", ["cosine", "l2"])
def test_torch_bookkeeping_path_gives_the_same_picks(clustered, pool, metric, monkeypatch):
    # on a GPU the per-pick vectors stay torch tensors; run that code path on the CPU
    from deita_hf.selection import kcenter, pool_vectors

    for module in (kcenter, pool_vectors):
        monkeypatch.setattr(module, "host", lambda t: t)
    emb, scores = clustered(120, 8, 8, 11, duplicates=15)
    out, _ = run(pool(emb, scores), 50, metric=metric)
    assert out["idx"][:] == reference_kcenter(emb, 50, metric)[0]
