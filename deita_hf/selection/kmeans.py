"""``select_kmeans_quality``: k-means clusters on embeddings, then score-weighted sampling per cluster.

The machinery (:func:`cluster_and_sample`) is shared with ``kmq``
(:mod:`deita_hf.selection.kmq`), which differs only in its budget split and defaults.

1. **k-means** (float64 numpy, deterministic): k-means++ seeding with
   ``rng = numpy.random.default_rng(seed)``: the first centre is row ``rng.integers(n)``, each
   next one row ``searchsorted(cumsum(D²), rng.random() * cumsum(D²)[-1], "right")`` (D² = squared
   distance to the nearest centre so far); then Lloyd iterations (assign each row to its nearest
   centre, ties to the lowest cluster; move each centre to the mean of its rows, an empty
   cluster keeps its centre) until no assignment changes or ``iterations`` is reached.
   Distances are ``((c − x)**2).sum()`` in float64; the fast blocked expansion
   ``|x|² − 2x·c + |c|²`` is only trusted where its error bound separates the two nearest centres.
2. **Budget split**: proportional to cluster size by largest remainder: cluster c gets
   ``floor(m·size_c / n)`` rows (m = min(budget, n)), and the ``m − Σ floor`` rows left go one
   each to the clusters of largest remainder ``m·size_c mod n`` (ties: lower cluster).
   ``kmq`` splits it equally instead (:func:`split_budget_equal`).
3. **Within a cluster**: weighted sampling without replacement (Efraimidis–Spirakis): with
   ``u = 1 − rng.random(n)`` (the same generator, one draw per row in row order), row i gets
   the key ``log(u_i) / w_i`` and each cluster keeps its rows of largest key (ties: lower row);
   rows of weight 0 come last. Weights: the score (``temperature=None``; scores must be >= 0),
   ``exp((score − max score in the cluster) / temperature)``, or 1 without a score.

The output lists cluster 0's rows (in key order), then cluster 1's, ... with a ``cluster`` column.

Example:
    >>> from datasets import Dataset
    >>> ds = Dataset.from_dict({"embedding": [[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]],
    ...                         "s": [1.0, 5.0, 2.0, 0.0]})
    >>> out = select_kmeans_quality(ds, 2, n_clusters=2, score_column="s", progress=False)
    >>> sorted(out["s"][:]), sorted(out["cluster"][:])
    ([2.0, 5.0], [0, 1])
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any

import numpy as np
from datasets import Dataset
from tqdm.auto import trange

from deita_hf.errors import ConfigError, SelectionError
from deita_hf.selection.common import (
    RANK_COLUMN,
    SCORE_COLUMN,
    check_block_size,
    check_budget,
    finish,
    scores_and_free_columns,
    warn_short,
)
from deita_hf.selection.pool_vectors import exact_rows
from deita_hf.selection.result import SelectionStats
from deita_hf.selection.score_columns import require_columns
from deita_hf.selection.vectors import EmbeddingReader

__all__ = ["CLUSTER_COLUMN", "SPLITS", "cluster_and_sample", "kmeans", "select_kmeans_quality",
           "split_budget", "split_budget_equal"]

CLUSTER_COLUMN = "cluster"


def _sq_dist(x: np.ndarray, c: np.ndarray, block: int) -> np.ndarray:
    """``((x_i − c)**2).sum()`` for every row of ``x``, in blocks."""
    return np.concatenate([((x[lo: lo + block] - c) ** 2).sum(axis=1)
                           for lo in range(0, len(x), block)] or [np.zeros(0)])


def _assign(x: np.ndarray, c: np.ndarray, block: int) -> np.ndarray:
    """Nearest centre of every row (ties: lowest centre) under the direct float64 distance."""
    d, sq_c = x.shape[1], (c * c).sum(axis=1)
    radius = math.sqrt(float((x * x).sum(axis=1).max())) + math.sqrt(float(sq_c.max()))
    eps = 1.01 * (3 * d + 20) * 2.0**-53 * radius**2  # |expansion − direct| bound
    labels = np.empty(len(x), dtype=np.int64)
    for lo in range(0, len(x), block):
        xb = x[lo: lo + block]
        dist = (xb * xb).sum(axis=1)[:, None] - 2.0 * (xb @ c.T) + sq_c[None, :]
        best = dist.min(axis=1)
        labels[lo: lo + len(xb)] = dist.argmin(axis=1)
        for i in np.flatnonzero((dist <= (best + 2 * eps)[:, None]).sum(axis=1) > 1):
            labels[lo + i] = int(np.argmin(((c - xb[i]) ** 2).sum(axis=1)))
    return labels


def kmeans(x: np.ndarray, k: int, rng: np.random.Generator, iterations: int,
           block: int = 8192, progress: bool = False) -> tuple[np.ndarray, np.ndarray, int]:
    """k-means++ seeding and Lloyd iterations, as described in the module docstring.

    Returns:
        ``(labels, centres, iterations_run)``; fewer than ``k`` centres (with a warning) when
        the rows have fewer distinct values.

    Example:
        >>> x = np.array([[0.0], [0.1], [5.0], [5.2]])
        >>> kmeans(x, 2, np.random.default_rng(0), 10)[0].tolist()
        [1, 1, 0, 0]
    """
    n = len(x)
    chosen = [int(rng.integers(n))]
    d2 = _sq_dist(x, x[chosen[0]], block)
    for _ in range(1, k):
        cum = np.cumsum(d2)
        if cum[-1] <= 0:
            warnings.warn(f"Only {len(chosen)} distinct embeddings: using {len(chosen)} "
                          f"clusters instead of {k}.", stacklevel=3)
            break
        i = int(np.searchsorted(cum, rng.random() * cum[-1], side="right"))
        i = min(i, int(np.flatnonzero(d2 > 0)[-1]))
        chosen.append(i)
        d2 = np.minimum(d2, _sq_dist(x, x[i], block))
    centres = x[chosen].copy()
    labels, run = None, 0
    for _ in trange(iterations, desc="k-means", disable=not progress):
        new = _assign(x, centres, block)
        run += 1
        if labels is not None and np.array_equal(new, labels):
            break
        labels = new
        for c in range(len(centres)):
            members = labels == c
            if members.any():
                centres[c] = x[members].mean(axis=0)
    return labels, centres, run


def split_budget(sizes: np.ndarray, m: int) -> np.ndarray:
    """Rows per cluster: proportional to ``sizes`` by largest remainder (exact integers).

    Example:
        >>> split_budget(np.array([5, 3, 2]), 4).tolist()
        [2, 1, 1]
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    n = int(sizes.sum())
    quota, rest = (m * sizes) // n, (m * sizes) % n
    left = m - int(quota.sum())
    order = np.lexsort((np.arange(len(sizes)), -rest))  # largest remainder, then lower cluster
    quota[order[:left]] += 1
    return quota


def split_budget_equal(sizes: np.ndarray, m: int) -> np.ndarray:
    """Rows per cluster: as equal as the cluster sizes allow (kMQ's split, filled to ``m``).

    Every cluster gets ``min(size_c, t)`` for the largest ``t`` with ``Σ min(size_c, t) <= m``;
    the ``m − Σ`` rows left go one each to the clusters that still have rows, largest first
    (ties: lower cluster).

    Example:
        >>> split_budget_equal(np.array([5, 1, 3]), 7).tolist()
        [3, 1, 3]
        >>> split_budget_equal(np.array([5, 4, 4]), 4).tolist()
        [2, 1, 1]
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    if m <= 0 or not len(sizes):
        return np.zeros(len(sizes), dtype=np.int64)
    low, high = 0, int(sizes.max())
    while low < high:  # the largest t with sum(min(sizes, t)) <= m
        mid = (low + high + 1) // 2
        if int(np.minimum(sizes, mid).sum()) <= m:
            low = mid
        else:
            high = mid - 1
    quota = np.minimum(sizes, low)
    left = m - int(quota.sum())
    open_ = np.flatnonzero(sizes > quota)
    order = open_[np.lexsort((open_, -sizes[open_]))]  # largest first, then lower cluster
    quota[order[:left]] += 1
    return quota


#: budget split name -> the function that splits ``m`` rows over cluster sizes
SPLITS = {"size": split_budget, "equal": split_budget_equal}


def _weights(scores: np.ndarray | None, labels: np.ndarray, temperature: float | None,
             score_name: str) -> np.ndarray:
    if scores is None:
        return np.ones(len(labels))
    if temperature is None:
        if (scores < 0).any():
            row = int(np.flatnonzero(scores < 0)[0])
            raise SelectionError(
                f"Column {score_name!r}, row {row}: negative score ({scores[row]}) cannot be a "
                f"sampling weight; pass temperature=... to weight by exp(score / temperature).")
        return scores.astype(np.float64)
    top = np.full(labels.max() + 1, -np.inf)
    np.maximum.at(top, labels, scores)
    return np.exp((scores - top[labels]) / temperature)


def _check_params(n_clusters: Any, iterations: Any, seed: Any, temperature: Any,
                  normalize: Any, n: int) -> None:
    for name, value, low in (("n_clusters", n_clusters, 1), ("iterations", iterations, 1),
                             ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ConfigError(f"{name} must be an int >= {low}, got {value!r}.")
    if n and n_clusters > n:
        raise ConfigError(f"n_clusters={n_clusters} is more than the {n} rows of the pool; "
                          f"pass fewer clusters (e.g. --strategy NAME:n_clusters={max(1, n // 10)}).")
    if temperature is not None and (isinstance(temperature, bool) or not isinstance(
            temperature, (int, float)) or not math.isfinite(temperature) or temperature <= 0):
        raise ConfigError(f"temperature must be None or a finite number > 0, got "
                          f"{temperature!r}.")
    if not isinstance(normalize, (bool, np.bool_)):
        raise ConfigError(f"normalize must be True or False, got {normalize!r}.")


def select_kmeans_quality(
    ds: Dataset,
    budget: int,
    *,
    n_clusters: int | None = None,
    embedding_column: str = "embedding",
    score_column: str | None = None,
    complexity_column: str | None = None,
    quality_column: str | None = None,
    seed: int = 0,
    iterations: int = 50,
    temperature: float | None = None,
    normalize: bool = True,
    block_size: int | None = None,
    progress: bool = True,
    return_stats: bool = False,
) -> Dataset | tuple[Dataset, SelectionStats]:
    """Cluster the embeddings with k-means, split the budget by cluster size, and draw rows in
    each cluster by score-weighted sampling without replacement (see the module docstring).

    Args:
        ds: the pool; every column is kept in the output.
        budget: rows to select (>= 1); with fewer rows, all are returned with a warning.
        n_clusters: k (1..len(ds)); required.
        embedding_column: one list of numbers per row, all of one dimension.
        score_column: a ready score; complexity_column, quality_column: instead, the DEITA
            score Σ c × q; neither: uniform sampling within clusters.
        seed: seed of the one ``numpy.random.default_rng`` (seeding, then the sampling keys).
        iterations: at most this many Lloyd iterations.
        temperature: ``None``: weight = score (>= 0); else weight = exp((score − cluster max)
            / temperature) (small: nearly top-k per cluster; large: nearly uniform).
        normalize: cluster unit rows (cosine geometry; zero vectors are errors) or raw rows.
        block_size: rows per distance block (memory only; default 8192).
        progress: show a progress bar over the Lloyd iterations.
        return_stats: also return a :class:`~deita_hf.selection.result.SelectionStats`.

    Returns:
        The kept rows (cluster by cluster) with ``cluster``, ``selection_rank`` and, with a
        score, ``selection_score``; with ``return_stats=True``, ``(dataset, stats)``.

    Raises:
        ConfigError: no or a bad n_clusters, a bad budget, iterations, seed, temperature,
            normalize or block size, or an added column already there.
        SelectionError: a missing column; bad embeddings or scores, or a negative score as a
            weight (names the column and row).

    Example:
        >>> from datasets import Dataset
        >>> ds = Dataset.from_dict({"embedding": [[0.0], [0.1], [5.0], [5.2]]})
        >>> select_kmeans_quality(ds, 4, n_clusters=2, normalize=False, progress=False
        ...                       )["cluster"][:]
        [0, 0, 1, 1]
    """
    if n_clusters is None:
        raise ConfigError("kmeans needs n_clusters=K, the number of k-means clusters (Python: "
                          "select(ds, n, 'kmeans', n_clusters=100); spec: "
                          "'kmeans:n_clusters=100').")
    return cluster_and_sample(
        ds, budget, strategy="kmeans", split="size", n_clusters=n_clusters,
        embedding_column=embedding_column, score_column=score_column,
        complexity_column=complexity_column, quality_column=quality_column, seed=seed,
        iterations=iterations, temperature=temperature, normalize=normalize,
        block_size=block_size, progress=progress, return_stats=return_stats)


def cluster_and_sample(
    ds: Dataset,
    budget: int,
    *,
    strategy: str,
    split: str,
    n_clusters: int,
    embedding_column: str,
    score_column: str | None,
    complexity_column: str | None,
    quality_column: str | None,
    seed: int,
    iterations: int,
    temperature: float | None,
    normalize: bool,
    block_size: int | None,
    progress: bool,
    return_stats: bool,
    truncate_scores: bool = False,
) -> Dataset | tuple[Dataset, SelectionStats]:
    """The machinery of ``kmeans`` and ``kmq``: k-means, a budget split (:data:`SPLITS`), then
    weighted sampling without replacement in each cluster (see the module docstring).

    Args:
        strategy: the name recorded in the stats (``"kmeans"``, ``"kmq"``).
        split: ``"size"`` (proportional to cluster size) or ``"equal"`` (kMQ's).
        truncate_scores: weight by the scores truncated toward zero (kMQ's authors cast them
            to int64); the ``selection_score`` column keeps the scores as given.
        The other arguments are those of :func:`select_kmeans_quality`.

    Returns:
        What :func:`select_kmeans_quality` returns.
    """
    start = time.perf_counter()
    budget = check_budget(budget)
    _check_params(n_clusters, iterations, seed, temperature, normalize, len(ds))
    block = check_block_size(block_size)
    require_columns(ds, {"embedding_column": embedding_column})
    scores, columns = scores_and_free_columns(
        ds, [CLUSTER_COLUMN, RANK_COLUMN], score_column=score_column,
        complexity_column=complexity_column, quality_column=quality_column)
    n, rows = len(ds), np.zeros(0, dtype=np.int64)
    labels, quota, run = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), 0
    if n:
        x = exact_rows(EmbeddingReader(ds, embedding_column), np.arange(n), unit=bool(normalize))
        rng = np.random.default_rng(int(seed))
        labels, _, run = kmeans(x, int(n_clusters), rng, int(iterations), block, progress)
        weighed = np.trunc(scores) if truncate_scores and scores is not None else scores
        weights = _weights(weighed, labels, temperature, score_column or "score")
        u = 1.0 - rng.random(n)
        with np.errstate(divide="ignore"):
            keys = np.where(weights > 0, np.log(u) / np.where(weights > 0, weights, 1), -np.inf)
        quota = SPLITS[split](np.bincount(labels, minlength=labels.max() + 1), min(budget, n))
        picks = []
        for c, q in enumerate(quota.tolist()):
            members = np.flatnonzero(labels == c)
            picks.append(members[np.lexsort((members, -keys[members]))[:q]])
        rows = np.concatenate(picks)
    warn_short(len(rows), budget, "are in the pool")
    out_cols = {CLUSTER_COLUMN: labels[rows].tolist(), RANK_COLUMN: list(range(len(rows)))}
    if scores is not None:
        out_cols[SCORE_COLUMN] = scores[rows].tolist()
    return finish(
        ds, rows, strategy=strategy, budget=budget, start=start, added=out_cols,
        params={"n_clusters": int(n_clusters), "seed": int(seed), "iterations": run,
                "temperature": temperature, "normalize": bool(normalize), "budget_split": split,
                "truncate_scores": bool(truncate_scores),
                "cluster_sizes": np.bincount(labels).tolist() if n else [],
                "cluster_quotas": quota.tolist()},
        columns={"embedding_column": embedding_column, **columns}, pool_scores=scores,
        return_stats=return_stats,
    )
