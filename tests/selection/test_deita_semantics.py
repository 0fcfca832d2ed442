"""select_deita: exact DEITA semantics, against hand-made cases and a slow one-at-a-time reference."""

import math
import warnings

import numpy as np
import pytest
from datasets import Dataset

import deita_hf  # noqa: F401  (attaches Dataset.select_deita)
from deita_hf.selection import select_deita


def reference_select(emb, scores, budget, threshold):
    """The paper's greedy, one candidate at a time, float64 numpy (what select_deita must equal)."""
    emb = np.asarray(emb, dtype=np.float64)
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    unit = [e / math.sqrt(float(np.dot(e, e))) for e in emb]
    kept, max_sims = [], []
    for i in order:
        sims = [float(np.dot(unit[i], unit[j])) for j in kept]
        if sims and max(sims) > threshold:
            continue
        kept.append(i)
        max_sims.append(max(sims) if sims else None)
        if len(kept) == budget:
            break
    return kept, max_sims


def clustered(n, dim, n_clusters, seed, noise=0.25, n_scores=5):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((n_clusters, dim))
    emb = centers[rng.integers(0, n_clusters, n)] + noise * rng.standard_normal((n, dim))
    scores = rng.integers(0, n_scores, n).astype(float)  # few values: many ties
    return emb.astype(np.float32), scores


def pool(emb, scores, **extra):
    return Dataset.from_dict({"embedding": np.asarray(emb).tolist(), "score": list(scores), **extra})


def run(ds, budget, **kw):
    kw.setdefault("score_column", "score")
    kw.setdefault("progress", False)
    return select_deita(ds, budget, return_stats=True, **kw)


def test_ties_go_to_lower_index_first():
    ds = pool([[1, 0], [0, 1], [1, 1], [-1, 0]], [1.0, 2.0, 2.0, 2.0])
    out, _ = run(ds, 4, threshold=0.99)
    assert out["deita_rank"][:] == [0, 1, 2, 3]
    # rows 1, 2, 3 tie at 2.0 -> kept in index order, then row 0
    assert [tuple(e) for e in out["embedding"]] == [(0, 1), (1, 1), (-1, 0), (1, 0)]


def test_exact_duplicates_keep_only_the_first():
    ds = pool([[1, 2, 3], [1, 2, 3], [2, 4, 6], [3, -1, 0]], [5.0, 5.0, 4.0, 1.0], id=[0, 1, 2, 3])
    out, stats = run(ds, 2)
    assert out["id"][:] == [0, 3]
    assert stats.examined == 4 and stats.kept == 2
    assert stats.max_similarity[0] is None
    assert stats.max_similarity[1] == pytest.approx(np.dot([1, 2, 3], [3, -1, 0]) / (14**0.5 * 10**0.5), abs=1e-6)


@pytest.mark.parametrize("block_size", [1, 2, None])
def test_threshold_boundary_equal_is_kept_above_is_dropped(block_size):
    # cos([1,0],[3,4]) is exactly 0.6 in float64; it is not representable in float32
    ds = pool([[1, 0], [3, 4]], [2.0, 1.0])
    out, stats = run(ds, 2, threshold=0.6, block_size=block_size)
    assert len(out) == 2 and stats.max_similarity[1] == 0.6
    with pytest.warns(UserWarning, match="Only 1 rows survive"):
        out, _ = run(ds, 2, threshold=np.nextafter(0.6, 0.0), block_size=block_size)
    assert len(out) == 1


@pytest.mark.parametrize("block_size", [1, 3, None])
def test_threshold_boundary_against_kept_set_and_within_block(block_size):
    # rows 1 and 2 each sit exactly at 0.6 from row 0; row 2 vs row 1 is 0.28
    ds = pool([[1, 0], [3, 4], [3, -4], [0.6, 0.8]], [4.0, 3.0, 2.0, 1.0])
    with pytest.warns(UserWarning, match="Only 3 rows"):
        out, _ = run(ds, 4, threshold=0.6, block_size=block_size)
    assert [tuple(e) for e in out["embedding"]] == [(1, 0), (3, 4), (3, -4)]  # row 3 == row 1


def test_budget_larger_than_survivors_warns_and_returns_all():
    emb, scores = clustered(60, 8, 5, seed=0, noise=0.01)
    with pytest.warns(UserWarning, match=r"Only 5 rows survive .* budget of 50; returning all 5"):
        out, stats = run(pool(emb, scores), 50)
    assert len(out) == 5 and stats.kept == 5 and stats.examined == 60


def test_budget_met_exactly_stops_walk():
    emb, scores = clustered(100, 16, 40, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, stats = run(pool(emb, scores), 10)
    ref, _ = reference_select(emb, scores, 10, 0.9)
    assert len(out) == 10
    order = sorted(range(100), key=lambda i: (-scores[i], i))
    assert stats.examined == order.index(ref[-1]) + 1


def test_within_block_resolution_differs_from_original_batch_mode():
    # a > b > c by score; sim(a,b) and sim(b,c) > 0.9 but sim(a,c) < 0.9.  Exact greedy keeps
    # a and c (b is dropped, so it cannot drop c).  The original batch mode drops c as well.
    ang = np.deg2rad([0.0, 20.0, 40.0])
    emb = np.stack([np.cos(ang), np.sin(ang)], axis=1)
    ds = pool(emb, [3.0, 2.0, 1.0], name=["a", "b", "c"])
    for block_size in (1, 2, 3, 100, None):
        with pytest.warns(UserWarning):
            out, _ = run(ds, 3, threshold=0.9, block_size=block_size)
        assert out["name"][:] == ["a", "c"], block_size


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("threshold", [0.5, 0.9])
@pytest.mark.parametrize("block_size", [1, 7, 64, None, 10_000])
def test_equals_reference_on_clustered_data(seed, threshold, block_size):
    emb, scores = clustered(400, 24, 60, seed=seed, noise=0.3 if threshold > 0.6 else 0.8)
    budget = 45
    ref, ref_sims = reference_select(emb, scores, budget, threshold)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, stats = run(pool(emb, scores, idx=list(range(400))), budget, threshold=threshold,
                         block_size=block_size)
    assert out["idx"][:] == ref
    assert out["deita_rank"][:] == list(range(len(ref)))
    assert out["deita_score"][:] == [scores[i] for i in ref]
    assert stats.kept == len(ref) and stats.examined > stats.kept  # near-duplicates were dropped
    assert stats.max_similarity[0] is None and ref_sims[0] is None
    np.testing.assert_allclose(stats.max_similarity[1:], ref_sims[1:], atol=2e-6)


def test_complexity_times_quality_order_and_deita_score_column():
    ds = Dataset.from_dict({
        "complexity": [[1.0, 2.0], [5.0], [1.0]],
        "quality": [[3.0, 3.0], [1.0], [2.0]],
        "embedding": [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
    })
    out = ds.select_deita(3, progress=False)
    assert out["deita_score"][:] == [9.0, 5.0, 2.0]
    assert out["complexity"][:] == [[1.0, 2.0], [5.0], [1.0]]


@pytest.mark.parametrize("seed", [3, 4])
def test_kept_set_scanned_in_chunks_equals_reference(monkeypatch, seed):
    # a small KEPT_CHUNK exercises the early exit of certainly-dropped candidates
    import deita_hf.selection.greedy as greedy

    monkeypatch.setattr(greedy, "KEPT_CHUNK", 3)
    emb, scores = clustered(300, 16, 40, seed=seed, noise=0.35)
    ref, ref_sims = reference_select(emb, scores, 60, 0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, stats = run(pool(emb, scores, idx=list(range(300))), 60, block_size=32)
    assert out["idx"][:] == ref and stats.examined > stats.kept
    np.testing.assert_allclose(stats.max_similarity[1:], ref_sims[1:], atol=2e-6)


def test_boundary_exact_across_kept_chunks(monkeypatch):
    import deita_hf.selection.greedy as greedy

    monkeypatch.setattr(greedy, "KEPT_CHUNK", 1)
    # kept: e0, e1, e2 (orthogonal); candidate (3, 0, 4) has cos 0.6 with e0 and 0.8 with e2
    ds = pool([[1, 0, 0], [0, 1, 0], [0, 0, 1], [3, 0, 4]], [4.0, 3.0, 2.0, 1.0])
    out, stats = run(ds, 4, threshold=0.8, block_size=1)
    assert len(out) == 4 and stats.max_similarity[3] == 0.8
    with pytest.warns(UserWarning, match="Only 3 rows"):
        run(ds, 4, threshold=np.nextafter(0.8, 0.0), block_size=1)
