"""select_mig and select_kmq against one-at-a-time references on seeded pools.

The MIG reference follows the authors' sampler (yichengchen24/MIG ``mig/sampler.py``,
``mig/label.py``) step by step with dense matrices: V (rows x labels), W (thresholded label
cosines), P (diagonal + weighted edges, column-normalised), U = V P, and each step the argmax of
U_i · Φ'(x) over the rows left. The kMQ reference draws the clusters with the kmeans reference
and splits the budget one row at a time.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from datasets import Dataset
from test_kmeans_instag import reference_kmeans_select

from deita_hf.errors import ConfigError, SelectionError
from deita_hf.selection.dispatch import parse_strategy, select
from deita_hf.selection.kmeans import select_kmeans_quality, split_budget_equal
from deita_hf.selection.kmq import select_kmq
from deita_hf.selection.mig import label_graph, select_mig


def reference_mig(tags, scores, vectors, budget, *, tau=0.9, beta=1.0, phi="pow", a=1e-6,
                  b=0.8, alpha=1.0, norm=False):
    labels = sorted({t for row in tags for t in row})
    index = {t: j for j, t in enumerate(labels)}
    e = np.array([vectors[t] for t in labels], dtype=np.float64)
    e /= np.linalg.norm(e, axis=1)[:, None]
    w = e @ e.T
    w = np.where(w >= tau, w, 0.0)
    eye = np.eye(len(labels))
    p = w * eye + w * (1 - eye) * beta
    p = p / p.sum(axis=0)
    v = np.zeros((len(tags), len(labels)))
    for i, row in enumerate(tags):
        for t in row:
            v[i, index[t]] = scores[i] / len(row) if norm else scores[i]
    u = v @ p
    x = np.zeros(len(labels))
    left, picked, gains = list(range(len(tags))), [], []
    while left and len(picked) < budget:
        g = b * (x + a) ** (b - 1) if phi == "pow" else alpha * np.exp(-alpha * x)
        candidate = [float(u[i] @ g) for i in left]
        j = int(np.argmax(candidate))
        picked.append(left.pop(j))
        gains.append(candidate[j])
        x += u[picked[-1]]
    return picked, gains, int((np.count_nonzero(w) - len(labels)) // 2)


def tagged_pool(seed, n=60, n_labels=24, groups=6, dim=16, empty=0, duplicates=False):
    """Rows with 1-4 distinct tags (with ``duplicates``, every third row repeats its first tag,
    as InsTag's tagger can), continuous scores, and label vectors in near groups."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((groups, dim))
    vectors = {f"tag{j}": (base[j % groups] + 0.15 * rng.standard_normal(dim)).tolist()
               for j in range(n_labels)}
    tags = [sorted({f"tag{int(t)}" for t in rng.integers(0, n_labels, rng.integers(1, 5))})
            for _ in range(n)]
    if duplicates:
        tags = [row + row[:1] if i % 3 == 0 else row for i, row in enumerate(tags)]
    for i in range(empty):
        tags[-1 - i] = []
    scores = rng.uniform(1.0, 30.0, n)
    return tags, scores, vectors


def embed_with(vectors):
    return lambda texts: [vectors[t] for t in texts]


def mig_pool(tags, scores, **extra):
    return Dataset.from_dict({"tags": tags, "score": list(map(float, scores)),
                              "idx": list(range(len(tags))), **extra})


@pytest.mark.parametrize("seed,budget,kw", [
    (0, 25, {}), (1, 40, {"norm": True}), (2, 30, {"phi": "exp", "alpha": 0.05}),
    (3, 35, {"beta": 0.4, "tau": 0.85}), (4, 60, {"b": 0.5, "a": 1e-3}),
    (5, 40, {"norm": True, "duplicates": True}), (6, 30, {"duplicates": True}),
])
def test_mig_equals_the_reference(seed, budget, kw):
    """The reference divides by len(row) with duplicates, as MIG's LabelGraph.vectorize
    (mig/label.py @ 969eb5383623b977807a181b25f3b66e2d04dab6) divides by len(dp.labels)."""
    kw = dict(kw)
    tags, scores, vectors = tagged_pool(seed, duplicates=kw.pop("duplicates", False))
    ref, ref_gains, edges = reference_mig(tags, scores, vectors, budget, **kw)
    assert edges > 0  # the graph propagates between labels
    names = {"norm": "normalize_by_tags", "beta": "propagation_weight", "tau":
             "similarity_threshold", "a": "phi_a", "b": "phi_b", "alpha": "phi_alpha"}
    out, stats = select_mig(mig_pool(tags, scores), budget, score_column="score",
                            label_embedder=embed_with(vectors), progress=False,
                            return_stats=True, **{names.get(k, k): v for k, v in kw.items()})
    assert out["idx"][:] == ref
    assert out["selection_score"][:] == pytest.approx(ref_gains, rel=1e-10)
    assert out["selection_rank"][:] == list(range(len(ref)))
    assert stats.params["edges"] == edges and stats.params["labels"] == 24
    assert list(stats.rows) == ref


def test_mig_normalize_by_tags_on_real_rows_with_repeated_tags():
    """Real Dolly rows tagged with the words of their instruction (repeats kept, as InsTag's
    tag lists can repeat): w_i = s_i / len(tags with repeats), as MIG's vectorize divides."""
    from sample_data import DOLLY, read_jsonl

    rows = read_jsonl(DOLLY, 150)
    words = [[w.strip(".,?!:;()\"'").lower() for w in r["instruction"].split()] for r in rows]
    common = {w for w, _ in __import__("collections").Counter(w for ws in words for w in ws).most_common(40)}
    tags = [[w for w in ws if w in common] for ws in words]
    assert sum(len(t) != len(set(t)) for t in tags) >= 10  # rows with repeated tags
    scores = [1.0 + len(r["output"]) / 100 for r in rows]
    rng = np.random.default_rng(3)
    base = rng.standard_normal((8, 16))
    vectors = {t: (base[j % 8] + 0.15 * rng.standard_normal(16)).tolist() for j, t in enumerate(sorted(common))}
    ref = reference_mig(tags, scores, vectors, 50, norm=True)[0]
    out = select_mig(mig_pool(tags, scores), 50, score_column="score", normalize_by_tags=True,
                     label_embedder=embed_with(vectors), progress=False)
    assert out["idx"][:] == ref
    distinct = reference_mig([sorted(set(t)) for t in tags], scores, vectors, 50, norm=True)[0]
    assert distinct != ref  # dividing by the distinct tags (the old rule) picks other rows


def test_mig_large_pool_and_rows_without_tags():
    tags, scores, vectors = tagged_pool(7, n=300, n_labels=40, groups=8, empty=5)
    scores[:10] = scores[10:20]  # exact ties between different rows
    ref, _, _ = reference_mig(tags, scores, vectors, 300)
    out = select_mig(mig_pool(tags, scores), 300, score_column="score",
                     label_embedder=embed_with(vectors), progress=False)
    assert out["idx"][:] == ref
    assert ref[-5:] == [295, 296, 297, 298, 299]  # no tags: no information, kept last


def test_mig_without_score_and_with_deita_columns():
    tags, scores, vectors = tagged_pool(5, n=40)
    ref, _, _ = reference_mig(tags, np.ones(40), vectors, 15)
    out = select_mig(mig_pool(tags, scores), 15, label_embedder=embed_with(vectors),
                     progress=False)
    assert out["idx"][:] == ref
    rng = np.random.default_rng(5)
    complexity = [rng.uniform(1, 6, 1 + i % 3).tolist() for i in range(40)]
    quality = [rng.uniform(1, 6, len(c)).tolist() for c in complexity]
    mean_cq = [float(np.mean(np.multiply(c, q))) for c, q in zip(complexity, quality)]
    ds = mig_pool(tags, scores, complexity=complexity, quality=quality)
    for mean, weights in ((True, mean_cq), (False, [m * len(c) for m, c in
                                                    zip(mean_cq, complexity)])):
        ref, _, _ = reference_mig(tags, weights, vectors, 15)
        out = select_mig(ds, 15, complexity_column="complexity", quality_column="quality",
                         mean_over_turns=mean, label_embedder=embed_with(vectors),
                         progress=False)
        assert out["idx"][:] == ref


def test_mig_tag_vocabulary(tmp_path):
    tags, scores, vectors = tagged_pool(9, n=50)
    keep = [f"tag{j}" for j in range(0, 24, 2)]
    path = tmp_path / "valid_tags.json"
    path.write_text(json.dumps(keep), encoding="utf-8")
    filtered = [[t for t in row if t in keep] for row in tags]
    ref, _, _ = reference_mig(filtered, scores, vectors, 20)
    out, stats = select_mig(mig_pool(tags, scores), 20, score_column="score",
                            tag_vocabulary=str(path), label_embedder=embed_with(vectors),
                            progress=False, return_stats=True)
    assert out["idx"][:] == ref and stats.params["labels"] == len(keep)
    assert out["tags"][0] == tags[ref[0]]  # the rows keep their own tags


def test_label_graph_is_the_dense_construction():
    rng = np.random.default_rng(3)
    e = rng.standard_normal((30, 5)) + np.repeat(rng.standard_normal((3, 5)) * 3, 10, axis=0)
    e /= np.linalg.norm(e, axis=1)[:, None]
    for block in (7, 4096):
        indptr, indices, data = label_graph(e, 0.8, 0.3, block)
        dense = np.zeros((30, 30))
        for r in range(30):
            dense[r, indices[indptr[r]: indptr[r + 1]]] = data[indptr[r]: indptr[r + 1]]
        w = np.where(e @ e.T >= 0.8, e @ e.T, 0.0)
        p = w * np.eye(30) + w * (1 - np.eye(30)) * 0.3
        assert dense == pytest.approx(p / p.sum(axis=0), abs=1e-15)
        assert np.allclose(dense.sum(axis=0), 1.0)


def test_mig_errors():
    tags, scores, vectors = tagged_pool(1, n=10)
    ds = mig_pool(tags, scores)
    embed = embed_with(vectors)
    with pytest.raises(ConfigError, match="label_embedder"):
        select_mig(ds, 3, progress=False)
    with pytest.raises(ConfigError, match="build_component"):
        select_mig(ds, 3, label_embedder="minilm", progress=False)
    for kw in ({"phi": "log"}, {"phi_b": 1.0}, {"phi_a": 0}, {"similarity_threshold": 1.5},
               {"propagation_weight": -1}, {"normalize_by_tags": "yes"}):
        with pytest.raises(ConfigError):
            select_mig(ds, 3, label_embedder=embed, progress=False, **kw)
    bad = ds.remove_columns("score").add_column("score", [-1.0] + [1.0] * 9)
    with pytest.raises(SelectionError, match=r"'score', row 0"):
        select_mig(bad, 3, score_column="score", label_embedder=embed, progress=False)
    with pytest.raises(SelectionError, match="tags"):
        select_mig(ds, 3, tags_column="nope", label_embedder=embed, progress=False)
    zero = {**vectors, "tag0": [0.0] * 16}
    with pytest.raises(SelectionError, match="tag0"):
        select_mig(mig_pool([["tag0"]] + tags[1:], scores), 3, label_embedder=embed_with(zero),
                   progress=False)
    with pytest.warns(UserWarning, match="Only 10 rows"):
        assert len(select_mig(ds, 50, label_embedder=embed, progress=False)) == 10
    assert parse_strategy("mig:similarity_threshold=0.8,phi=exp")[1] == {
        "similarity_threshold": 0.8, "phi": "exp"}


def equal_quota_one_at_a_time(sizes, m):
    """Give rows one at a time to the open cluster with the fewest so far (ties: larger, then
    lower cluster)."""
    quota = [0] * len(sizes)
    for _ in range(m):
        open_ = [c for c in range(len(sizes)) if quota[c] < sizes[c]]
        c = min(open_, key=lambda c: (quota[c], -sizes[c], c))
        quota[c] += 1
    return quota


def reference_kmq(emb, scores, budget, k, seed, iterations=300):
    """kMQ as the authors' KMenasRandomDeita weighs rows (for-ai/iterative-data-selection @
    6ac577259d6bc263763e6ac24a3271e14546d3bd): scores = np.array(scores, dtype=np.int64);
    per cluster p = exp(scores_i) / sum(exp(scores_i)); k-means on the raw embeddings. The
    draw without replacement with p is replayed with the package's Efraimidis-Spirakis keys
    (the same distribution as np.random.choice(replace=False, p=p); other random numbers)."""
    labels = reference_kmeans_select(emb, budget, k, seed, np.ones(len(emb)), iterations=iterations,
                                     normalize=False)[1]
    rng = np.random.default_rng(seed)  # replay the k-means++ draws, then the keys
    rng.integers(len(emb))
    for _ in range(k - 1):
        rng.random()
    u = 1.0 - rng.random(len(emb))
    sizes = [int((labels == c).sum()) for c in range(k)]
    quota = equal_quota_one_at_a_time(sizes, min(budget, len(emb)))
    int_scores = np.array(scores, dtype=np.int64)
    rows = []
    for c in range(k):
        members = [i for i in range(len(emb)) if labels[i] == c]
        scores_i = np.exp(int_scores[members])
        p = scores_i / np.sum(scores_i)
        keys = {i: math.log(u[i]) / p[j] for j, i in enumerate(members)}
        rows += sorted(members, key=lambda i: (-keys[i], i))[: quota[c]]
    return rows, labels, quota


@pytest.mark.parametrize("seed,k,budget", [(0, 4, 30), (1, 7, 45), (2, 3, 100), (3, 6, 17),
                                           (4, 5, 119)])
def test_kmq_equals_the_reference(clustered, pool, seed, k, budget):
    emb, scores = clustered(120, 8, 6, seed, noise=0.6)
    scores = scores + np.random.default_rng(seed).uniform(0, 0.99, len(scores))  # float scores
    ref, labels, quota = reference_kmq(emb, scores, budget, k, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, stats = select_kmq(pool(emb, scores), budget, n_clusters=k, seed=seed,
                                score_column="score", progress=False, return_stats=True)
        untruncated = select_kmq(pool(emb, scores), budget, n_clusters=k, seed=seed, truncate_scores=False,
                                 score_column="score", progress=False)
    assert out["idx"][:] == ref
    assert out["cluster"][:] == [int(labels[i]) for i in ref]
    assert out["selection_score"][:] == [float(scores[i]) for i in ref]  # reported as given
    assert stats.params["cluster_quotas"] == quota and stats.params["budget_split"] == "equal"
    assert stats.strategy == "kmq" and len(ref) == min(budget, 120)
    if budget < 119:  # the old weighting (float scores) draws other rows
        assert untruncated["idx"][:] != ref


def test_kmq_inclusion_probabilities_are_the_authors_np_random_choice(pool):
    """The authors' loop run literally (np.random.seed(42), np.random.choice(replace=False,
    p=softmax(int64 scores)) per cluster) vs select_kmq over seeds: inclusion frequencies on
    two well-separated clusters of real-valued scores."""
    rng = np.random.default_rng(0)
    emb = np.concatenate([rng.normal(0, 0.05, (6, 4)) + 5, rng.normal(0, 0.05, (6, 4)) - 5])
    scores = np.array([1.9, 1.1, 1.0, 2.95, 0.2, 3.5, 2.99, 2.0, 0.5, 1.5, 4.1, 4.9])
    labels = np.repeat([0, 1], 6)
    trials, budget, K = 250, 4, 2
    np.random.seed(42)
    authors = np.zeros(12)
    int_scores = np.array(scores, dtype=np.int64)
    for _ in range(4000):
        for i in range(K):
            indices_i = np.where(labels == i)[0]
            scores_i = np.exp(int_scores[indices_i])
            p = scores_i / np.sum(scores_i)
            size = np.minimum(int(budget / K), len(indices_i))
            authors[np.random.choice(indices_i, size=size, replace=False, p=p)] += 1
    ours = np.zeros(12)
    ds = pool(emb.astype(np.float32), scores)
    for seed in range(trials):
        ours[select_kmq(ds, budget, n_clusters=2, seed=seed, score_column="score", progress=False)["idx"][:]] += 1
    authors /= 4000
    assert np.abs(authors - ours / trials).max() < 0.1
    old = np.zeros(12)
    for seed in range(100):
        old[select_kmq(ds, budget, n_clusters=2, seed=seed, score_column="score", temperature=None,
                       truncate_scores=False, progress=False)["idx"][:]] += 1
    assert np.abs(authors - old / 100).max() > 0.2  # weights ∝ score: not the authors'


def test_kmq_differs_from_kmeans_only_in_the_split(clustered, pool):
    emb, scores = clustered(90, 6, 3, 11, noise=0.4)
    ds = pool(emb, scores)
    kw = {"n_clusters": 3, "seed": 5, "score_column": "score", "iterations": 50, "normalize": False,
          "progress": False, "return_stats": True}
    _, a = select_kmq(ds, 12, **kw)
    _, b = select_kmeans_quality(ds, 12, **kw)
    assert a.params["cluster_sizes"] == b.params["cluster_sizes"]
    assert a.params["cluster_quotas"] == [4, 4, 4]  # the authors' int(budget / K) each
    assert b.params["cluster_quotas"] != [4, 4, 4]  # proportional to the (unequal) sizes
    with pytest.raises(ConfigError, match="n_clusters=512 is more than the 90 rows"):
        select_kmq(ds, 5, progress=False)  # the authors' K by default


def test_split_budget_equal_matches_one_at_a_time():
    rng = np.random.default_rng(0)
    for _ in range(200):
        sizes = rng.integers(1, 30, rng.integers(1, 9))
        m = int(rng.integers(0, sizes.sum() + 1))
        assert split_budget_equal(sizes, m).tolist() == equal_quota_one_at_a_time(
            sizes.tolist(), m)


def test_select_dispatches_mig_and_kmq(clustered, pool):
    tags, scores, vectors = tagged_pool(2, n=20)
    a = select(mig_pool(tags, scores), 5, "mig:phi=exp", label_embedder=embed_with(vectors),
               score_column="score", progress=False)
    b = select_mig(mig_pool(tags, scores), 5, phi="exp", label_embedder=embed_with(vectors),
                   score_column="score", progress=False)
    assert a["idx"][:] == b["idx"][:]
    emb, s = clustered(40, 4, 2, 0)
    assert select(pool(emb, s), 6, "kmq:n_clusters=3", progress=False)["idx"][:] == \
        select_kmq(pool(emb, s), 6, n_clusters=3, progress=False)["idx"][:]
