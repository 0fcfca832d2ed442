"""select_kmeans_quality and select_instag_diversity against slow, step-by-step references."""

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
from datasets import Dataset
from sample_data import DOLLY, read_jsonl

from deita_hf.errors import ConfigError, SelectionError
from deita_hf.selection.instag import select_instag_diversity
from deita_hf.selection.kmeans import select_kmeans_quality


def reference_kmeans_select(emb, budget, k, seed, weights, iterations=50, normalize=True):
    """k-means++ / Lloyd / largest remainder / Efraimidis-Spirakis keys, one row at a time."""
    x = np.asarray(emb, dtype=np.float64)
    if normalize:
        x = x / np.linalg.norm(x, axis=1)[:, None]
    n, rng = len(x), np.random.default_rng(seed)
    centres = [int(rng.integers(n))]
    while len(centres) < k:
        d2 = np.array([min(((x[i] - x[c]) ** 2).sum() for c in centres) for i in range(n)])
        cum = np.cumsum(d2)
        centres.append(int(np.searchsorted(cum, rng.random() * cum[-1], side="right")))
    c = x[centres].copy()
    labels = None
    for _ in range(iterations):
        new = np.array([int(np.argmin(((c - x[i]) ** 2).sum(axis=1))) for i in range(n)])
        if labels is not None and (new == labels).all():
            break
        labels = new
        for j in range(k):
            if (labels == j).any():
                c[j] = x[labels == j].mean(axis=0)
    m = min(budget, n)
    sizes = [int((labels == j).sum()) for j in range(k)]
    exact = [Fraction(m * s, n) for s in sizes]
    quota = [math.floor(e) for e in exact]
    by_rest = sorted(range(k), key=lambda j: (-(exact[j] - quota[j]), j))
    for j in by_rest[: m - sum(quota)]:
        quota[j] += 1
    u = 1.0 - rng.random(n)
    keys = [math.log(u[i]) / weights[i] if weights[i] > 0 else -math.inf for i in range(n)]
    rows = []
    for j in range(k):
        members = sorted((i for i in range(n) if labels[i] == j), key=lambda i: (-keys[i], i))
        rows += members[: quota[j]]
    return rows, labels


@pytest.mark.parametrize("seed,k,budget,temperature", [(0, 4, 30, None), (1, 7, 45, 0.5),
                                                       (2, 3, 100, None), (3, 5, 17, 2.0)])
def test_kmeans_equals_reference(clustered, pool, seed, k, budget, temperature):
    emb, scores = clustered(120, 8, 6, seed, noise=0.5, duplicates=10)
    if temperature is None:
        weights = scores
    else:
        ref_labels = reference_kmeans_select(emb, budget, k, seed, np.ones(120))[1]
        top = {j: scores[ref_labels == j].max() for j in range(k)}
        weights = np.exp((scores - np.array([top[j] for j in ref_labels])) / temperature)
    ref, labels = reference_kmeans_select(emb, budget, k, seed, weights)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, stats = select_kmeans_quality(pool(emb, scores), budget, n_clusters=k, seed=seed,
                                           score_column="score", temperature=temperature,
                                           progress=False, return_stats=True)
    assert out["idx"][:] == ref
    assert out["cluster"][:] == [int(labels[i]) for i in ref]
    assert out["selection_score"][:] == [scores[i] for i in ref]
    assert sum(stats.params["cluster_quotas"]) == len(ref) == min(budget, 120)
    if temperature is None:  # zero weights come last in their cluster
        assert all(scores[i] > 0 for i in ref[: budget // 4])


def test_kmeans_raw_rows_without_score(clustered, pool):
    emb, _ = clustered(90, 5, 4, 9)
    ref, _ = reference_kmeans_select(emb, 20, 4, 3, np.ones(90), normalize=False)
    out = select_kmeans_quality(pool(emb), 20, n_clusters=4, seed=3, normalize=False,
                                progress=False)
    assert out["idx"][:] == ref and "selection_score" not in out.column_names


def test_kmeans_arguments_and_weights(pool):
    ds = pool([[1, 0], [0, 1], [1, 1]], [1.0, -1.0, 2.0])
    for bad in ({"n_clusters": 0}, {"n_clusters": 4}, {"n_clusters": 2, "temperature": 0},
                {"n_clusters": 2, "iterations": 0}, {"n_clusters": 2, "seed": -1}):
        with pytest.raises(ConfigError):
            select_kmeans_quality(ds, 2, progress=False, **bad)
    with pytest.raises(SelectionError, match=r"'score', row 1: negative score"):
        select_kmeans_quality(ds, 2, n_clusters=2, score_column="score", progress=False)
    out = select_kmeans_quality(ds, 2, n_clusters=2, score_column="score", temperature=1.0,
                                progress=False)
    assert len(out) == 2


def reference_instag(tags, budget, scores=None, repeat=True):
    """Algorithm 1 of the InsTag paper (arXiv:2308.07074), step by step: sort by tag count;
    while |D_s| < N: T_B = {}; for q in D: if |T_B ∪ T_q| > |T_B|: D_s += q, T_B |= T_q,
    D -= q; stop at N. (A pass adding nothing ends it: only untagged rows are left.)"""
    scores = [len(set(t)) for t in tags] if scores is None else scores
    pool = sorted(range(len(tags)), key=lambda i: (-scores[i], i))
    kept = []
    while len(kept) < budget:
        covered, before = set(), len(kept)
        for i in list(pool):
            if len(covered | set(tags[i])) > len(covered):
                kept.append(i)
                covered |= set(tags[i])
                pool.remove(i)
            if len(kept) == budget:
                break
        if len(kept) == before or not repeat:
            break
    return kept


@pytest.mark.parametrize("seed,budget", [(0, 10), (1, 25), (2, 100), (3, 200)])
def test_instag_equals_reference(seed, budget):
    rng = np.random.default_rng(seed)
    vocab = [f"tag{i}" for i in range(60)]
    tags = [list(rng.choice(vocab, rng.integers(0, 6))) for _ in range(150)]
    ds = Dataset.from_dict({"tags": tags, "idx": list(range(150)),
                            "s": rng.integers(0, 4, 150).astype(float).tolist()})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, stats = select_instag_diversity(ds, budget, progress=False, return_stats=True)
        scored = select_instag_diversity(ds, budget, score_column="s", progress=False)
        once = select_instag_diversity(ds, budget, repeat=False, progress=False)
    ref = reference_instag(tags, budget)
    assert out["idx"][:] == ref
    assert scored["idx"][:] == reference_instag(tags, budget, ds["s"][:])
    assert once["idx"][:] == reference_instag(tags, budget, repeat=False)
    assert out["selection_score"][:] == [float(len(set(tags[i]))) for i in ref]
    assert stats.params["passes"] >= 1 and stats.examined >= len(ref)
    assert len(ref) == min(budget, sum(bool(t) for t in tags))  # passes fill the budget


def test_instag_repeats_passes_on_real_tagged_rows():
    """600 of 1,000 rows: the paper's repeated passes fill the budget, one pass does not."""
    rng = np.random.default_rng(7)
    rows = read_jsonl(DOLLY)
    vocab = sorted({w.strip(".,?!:;()\"'").lower() for r in rows for w in r["instruction"].split()} - {""})
    tags = [sorted(set(rng.choice(vocab[:80], rng.integers(1, 5)).tolist())) for _ in range(1000)]
    ds = Dataset.from_dict({"tags": tags, "idx": list(range(1000))})
    out, stats = select_instag_diversity(ds, 600, progress=False, return_stats=True)
    assert out["idx"][:] == reference_instag(tags, 600) and len(out) == 600 and stats.params["passes"] > 1
    with pytest.warns(UserWarning, match="fewer than the budget of 600"):
        once = select_instag_diversity(ds, 600, repeat=False, progress=False)
    assert len(once) < 600 and once["idx"][:] == out["idx"][:len(once)]


def test_instag_bad_tags_name_the_row():
    with pytest.raises(SelectionError, match=r"'tags', row 1: tags are missing"):
        select_instag_diversity(Dataset.from_dict({"tags": [["a"], None]}), 1, progress=False)
    with pytest.raises(SelectionError, match=r"'tags', row 1: a tag is null"):
        select_instag_diversity(Dataset.from_dict({"tags": [["a"], ["b", None]]}), 1,
                                progress=False)
    with pytest.raises(SelectionError, match="list of strings"):
        select_instag_diversity(Dataset.from_dict({"tags": [1, 2]}), 1, progress=False)
    with pytest.warns(UserWarning, match="Only 2 rows have tags"):
        out = select_instag_diversity(Dataset.from_dict({"tags": [["a"], ["a"], []]}), 3,
                                      progress=False)
    assert out["tags"][:] == [["a"], ["a"]]
    with pytest.warns(UserWarning, match="Only 1 rows add a tag"):
        out = select_instag_diversity(Dataset.from_dict({"tags": [["a"], ["a"], []]}), 3,
                                      repeat=False, progress=False)
    assert out["tags"][:] == [["a"]]
