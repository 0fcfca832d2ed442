"""``select_kcenter``: k-center greedy (farthest-first traversal) on embeddings, exact and fast.

The first centre is the highest-scoring row when a score is given, else row 0; each next pick
is the row farthest from its nearest picked row; ties go to the lowest row index. Distances:
``cosine`` = 1 − (a/|a|)·(b/|b|), ``l2`` = |a − b|.

How it is fast: the pool is read once into a float32 matrix (unit rows for cosine; for l2,
rows minus the pool mean, which leaves distances unchanged and keeps the expansion accurate);
a ``min_dist`` vector over the pool is updated after each pick with ONE matrix-vector product
(cosine ``1 − x·c``; l2 ``|x|² − 2x·c + |c|²``, clamped at 0), so each pick reads the pool once.

What is exact: every float32 distance is within a proven bound ``eps`` of the float64 one
(:meth:`~deita_hf.selection.pool_vectors.PoolVectors.eps`), so only rows whose float32
``min_dist`` is within ``2·eps`` of the largest can be the float64 farthest row; when there
are several, their float64 distances (to the centres that float32 cannot rule out) are
computed (and cached) and the largest wins, ties to the lowest index. The picks are those of the float64 greedy computed row by row, up to
float64 rounding itself (which decides only among rows whose distances agree to ~1e-16,
e.g. once every remaining row duplicates a picked one).

Example:
    >>> from datasets import Dataset
    >>> ds = Dataset.from_dict({"embedding": [[0.0, 0.0], [1.0, 0.0], [5.0, 0.0], [2.0, 0.0]]})
    >>> out = select_kcenter(ds, 3, metric="l2", progress=False)
    >>> out["embedding"][:], out["kcenter_distance"][:]
    ([[0.0, 0.0], [5.0, 0.0], [2.0, 0.0]], [None, 5.0, 2.0])
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
import torch
from tqdm.auto import tqdm

from deita_hf.runtime import torch_device
from deita_hf.selection.common import (
    RANK_COLUMN,
    SCORE_COLUMN,
    check_block_size,
    check_budget,
    check_choice,
    finish,
    highest_precision,
    scores_and_free_columns,
    warn_short,
)
from deita_hf.selection.pool_vectors import (
    PoolVectors,
    exact_rows,
    float32_bound,
    host,
    to_numpy,
)
from deita_hf.selection.score_columns import require_columns

if TYPE_CHECKING:
    from datasets import Dataset

    from deita_hf.selection.result import SelectionStats

__all__ = ["DISTANCE_COLUMN", "METRICS", "PoolVectors", "exact_rows", "float32_bound",
           "select_kcenter"]

METRICS = ("cosine", "l2")
#: the column giving each pick's distance to its nearest earlier pick
DISTANCE_COLUMN = "kcenter_distance"


class _Farthest:
    """The k-center greedy state: float32 nearest and second-nearest centre distances of every
    row (and the nearest centre), plus float64 checks of near-ties."""

    def __init__(self, pool: PoolVectors, budget: int) -> None:
        self.pool, self.eps, n = pool, pool.eps(), pool.n
        self.min_dist = host(torch.full((n,), float("inf"), device=pool.device))
        self.second = host(torch.full((n,), float("inf"), device=pool.device))
        self.nearest = host(torch.zeros(n, dtype=torch.int64, device=pool.device))
        self.buf = torch.empty(n, device=pool.device)
        self.centres: list[int] = []
        self.c64 = np.empty((budget, pool.dim))
        self.c32 = torch.empty((budget, pool.dim), device=pool.device)  # centres, contiguous
        self.c_sq = host(torch.empty(budget, device=pool.device))
        self.cache: dict[int, tuple[float, int]] = {}  # row -> (float64 min, centres covered)
        self.rechecks = 0

    def add(self, row: int) -> None:
        k, pool = len(self.centres), self.pool
        self.c64[k], self.c32[k] = pool.exact([row])[0], pool.x[row]
        if pool.metric == "l2":
            self.c_sq[k] = pool.sq[row]
        self.centres.append(row)
        dist, first, second = pool.distances(row, out=self.buf), self.min_dist, self.second
        closer = dist < first
        pool.xp.minimum(second, dist, out=second)
        second[closer] = first[closer]
        first[closer] = dist[closer]
        self.nearest[closer] = k
        first[row] = -float("inf")

    def farthest(self) -> tuple[int, float]:
        """The next pick and its distance to its nearest centre (l2: not squared)."""
        best = float(self.min_dist.max())
        near = np.flatnonzero(to_numpy(self.min_dist >= float32_bound(best - 2 * self.eps,
                                                                    up=False)))
        if len(near) == 1:
            return int(near[0]), best if self.pool.metric == "cosine" else best**0.5
        self.rechecks += 1
        values = self._exact_min(near)
        j = int(np.argmax(values))  # first maximum: near is ascending, so ties -> lowest row
        return int(near[j]), float(values[j])

    def _exact_min(self, rows: np.ndarray) -> np.ndarray:
        """Float64 distance of each row to its nearest centre: to the float32-nearest one when
        the second-nearest is over ``2·eps`` farther, else over the centres float32 cannot rule
        out (cached, so later calls only look at new centres)."""
        k, pool = len(self.centres), self.pool
        x64 = pool.exact(rows)
        gap = to_numpy(self.second[rows]).astype(np.float64) - to_numpy(self.min_dist[rows])
        nearest = to_numpy(self.nearest[rows])
        out = np.empty(len(rows))
        for j, row in enumerate(rows.tolist()):
            if gap[j] > 2 * self.eps:
                out[j] = pool.exact_distances(x64[j], self.c64[nearest[j]][None])[0]
                continue
            value, covered = self.cache.get(row, (np.inf, 0))
            if covered < k:
                idx = np.arange(covered, k)
                if len(idx) > 8:  # float32 rules out centres that cannot be the nearest
                    d32 = pool.distances(row, self.c32[covered:k], self.c_sq[covered:k])
                    lim = float32_bound(float(d32.min()) + 2 * self.eps, up=True)
                    idx = idx[to_numpy(d32 <= lim)]
                value = min(value, float(pool.exact_distances(x64[j], self.c64[idx]).min()))
                self.cache[row] = (value, k)
            out[j] = value
        return out


def select_kcenter(
    ds: Dataset,
    budget: int,
    *,
    embedding_column: str = "embedding",
    metric: str = "cosine",
    score_column: str | None = None,
    complexity_column: str | None = None,
    quality_column: str | None = None,
    device: str | torch.device | None = None,
    block_size: int | None = None,
    progress: bool = True,
    return_stats: bool = False,
) -> Dataset | tuple[Dataset, SelectionStats]:
    """Select ``budget`` rows by k-center greedy (farthest-first) on ``embedding_column``.

    Args:
        ds: the pool; every column is kept in the output.
        budget: rows to select (>= 1); with fewer rows, all are returned with a warning.
        embedding_column: one list of numbers per row, all of one dimension.
        metric: ``"cosine"`` (1 − cosine similarity; zero vectors are errors) or ``"l2"``.
        score_column: a ready score; the first centre is the highest-scoring row (ties: lowest
            index). complexity_column, quality_column: instead, the DEITA score Σ c × q.
            With no score, the first centre is row 0.
        device: torch device of the pool matrix (default: CUDA if available, else CPU).
        block_size: rows per block when reading the pool (memory only; default 8192).
        progress: show progress bars.
        return_stats: also return a :class:`~deita_hf.selection.result.SelectionStats`.

    Returns:
        The picks in order with ``kcenter_distance`` (distance to the nearest earlier pick,
        ``None`` for the first; float64 where near-ties were checked, else float32, within
        ``eps``), ``selection_rank`` and, with a score, ``selection_score``; with
        ``return_stats=True``, ``(dataset, stats)`` (cosine: ``max_similarity`` = 1 − distance).

    Raises:
        ConfigError: a bad budget, metric, device, block size or score-column combination, or
            an added column already there.
        SelectionError: a missing column; bad embeddings or scores (names the column and row).

    Example:
        >>> from datasets import Dataset
        >>> ds = Dataset.from_dict({"s": [1.0, 2.0, 0.0],
        ...                         "embedding": [[1.0, 0.0], [1.0, 0.1], [-1.0, 0.0]]})
        >>> select_kcenter(ds, 2, score_column="s", progress=False)["s"][:]
        [2.0, 0.0]
    """
    start = time.perf_counter()
    budget = check_budget(budget)
    check_choice("metric", metric, METRICS)
    block = check_block_size(block_size)
    require_columns(ds, {"embedding_column": embedding_column})
    scores, columns = scores_and_free_columns(
        ds, [RANK_COLUMN, DISTANCE_COLUMN], score_column=score_column,
        complexity_column=complexity_column, quality_column=quality_column)
    dev = torch_device(device)
    k = min(budget, len(ds))
    with highest_precision():
        pool = PoolVectors(ds, embedding_column, metric, dev, block, progress)
        state = _Farthest(pool, k)
        rows, dists = [], []
        if k:
            rows, dists = [int(np.argmax(scores)) if scores is not None else 0], [None]
        for _ in tqdm(range(k - 1), desc="select_kcenter", unit="pick", disable=not progress):
            state.add(rows[-1])
            row, dist = state.farthest()
            rows.append(row)
            dists.append(dist)
    warn_short(len(rows), budget, "are in the pool")
    out_cols = {DISTANCE_COLUMN: dists, RANK_COLUMN: list(range(len(rows)))}
    if scores is not None:
        out_cols = {SCORE_COLUMN: scores[rows].tolist(), **out_cols}
    sims = [None if d is None else 1.0 - d for d in dists] if metric == "cosine" else []
    return finish(
        ds, np.asarray(rows, dtype=np.int64), strategy="kcenter", budget=budget, start=start,
        added=out_cols, params={"metric": metric, "near_tie_rechecks": state.rechecks,
                                "eps": pool.eps()},
        columns={"embedding_column": embedding_column, **columns}, pool_scores=scores,
        device=str(dev), max_similarity=sims, return_stats=return_stats,
    )
