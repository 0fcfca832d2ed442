"""select_facility_location: equal to the plain (non-lazy) float64 greedy, ties, blocks; the
default kernel against a port of Superfiltering's diversity step (submodlib's euclidean kernel)."""

import math
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
    kw.setdefault("similarity", "cosine")  # reference_facility's kernel
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


def superfiltering_fla(x, budget):
    """Superfiltering's do_fla (tianyi-lab/Superfiltering @ f0764afa536ec910b994d1d6aa2b883354505f4f,
    code_diversity_fla/do_fla.py): FacilityLocationFunction(mode="dense", data=X,
    metric="euclidean").maximize(budget, optimizer="LazyGreedy"). The kernel as submodlib's
    create_square_kernel_dense builds it (decile-team/submodlib @ 72ae33a1ead9761e7240c2e095873047339ada7c,
    cpp/utils/helper.cpp): k[r][r] = 1; k[r][c] = exp(-sqrt(sum((x_r - x_c)^2)) * (1 / dim)).
    The greedy is the plain one LazyGreedy accelerates: f(S) = sum_i max_{j in S} k[i][j]."""
    x = np.asarray(x, dtype=np.float64)
    n, dim = x.shape
    k = np.ones((n, n))
    for r in range(n):
        for c in range(r + 1, n):
            k[r, c] = k[c, r] = math.exp(-math.sqrt(((x[r] - x[c]) ** 2).sum()) * (1.0 / dim))
    cover, picked, gains = np.zeros(n), [], []
    for _ in range(budget):
        g = np.maximum(k - cover[:, None], 0).sum(axis=0)
        g[picked] = -np.inf
        picked.append(int(np.argmax(g)))
        gains.append(float(g[picked[-1]]))
        cover = np.maximum(cover, k[:, picked[-1]])
    return picked, gains


def test_default_kernel_is_superfilterings_on_real_rows(pool):
    """120 real Dolly rows embedded as do_fla embeds them with --emb_type instruction
    (instruction + "\\n" + input + "\\n", all-MiniLM-L6-v2, L2-normalised): the same 40 picks in
    the same order, and the same gains."""
    from sample_data import DOLLY, read_jsonl

    from deita_hf.embedding.sentence import SentenceEmbedder

    rows = read_jsonl(DOLLY, 120)
    x = np.asarray(SentenceEmbedder().embed_texts(
        [r["instruction"] + "\n" + r["input"] + "\n" for r in rows]))
    ref, ref_gains = superfiltering_fla(x, 40)
    out, stats = run(pool(x), 40, similarity="euclidean")
    assert out["idx"][:] == ref and stats.params["similarity"] == "euclidean"
    np.testing.assert_allclose(out["facility_gain"][:], ref_gains, rtol=1e-6, atol=1e-9)
    assert select_facility_location(pool(x), 40, progress=False)["idx"][:] == ref  # the default
    cosine = run(pool(x), 40, similarity="cosine")[0]["idx"][:]
    assert cosine != ref  # max(0, cos), the old default, is another method


@pytest.mark.parametrize("seed,budget,block,noise,dim", [(0, 30, 8192, 0.4, 12), (1, 45, 17, 0.4, 12),
                                                        (2, 60, 64, 0.01, 8), (5, 70, 33, 0.3, 32)])
def test_euclidean_kernel_equals_the_port_across_blocks(clustered, pool, seed, budget, block, noise, dim):
    """Near-duplicates (noise 0.01) included: the float64 distances are summed from differences
    where 2 - 2·cos would cancel, as the port's are."""
    emb, _ = clustered(150, dim, 6, seed, noise=noise, duplicates=15)
    x = emb.astype(np.float64)
    unit = x / np.linalg.norm(x, axis=1)[:, None]  # do_fla's F.normalize (float64 here)
    ref, ref_gains = superfiltering_fla(unit, budget)
    out, stats = run(pool(emb), budget, similarity="euclidean", block_size=block)
    assert out["idx"][:] == ref
    np.testing.assert_allclose(out["facility_gain"][:], ref_gains, rtol=1e-6, atol=1e-9)
