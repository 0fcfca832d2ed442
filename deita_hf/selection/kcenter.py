"""``select_kcenter``: k-center greedy (farthest-first traversal) on embeddings, exact and fast.

The first centre is the highest-scoring row when a score is given, else row 0; each next pick
is the row farthest from its nearest picked row; ties go to the lowest row index. Distances:
``cosine`` = 1 − (a/|a|)·(b/|b|), ``l2`` = |a − b|.

How it is fast: the pool is read once into a float32 matrix (unit rows for cosine; for l2,
rows minus the pool mean, which leaves distances unchanged and keeps the expansion accurate);
a ``min_dist`` vector over the pool is updated after each pick with ONE matrix-vector product
(cosine ``1 − x·c``; l2 ``|x|² − 2x·c + |c|²``, clamped at 0), so each pick reads the pool once.

What is exact: every float32 distance is within a proven bound ``eps`` of the float64 one
(:meth:`PoolVectors.eps`), so only rows whose float32 ``min_dist`` is within ``2·eps`` of the
largest can be the float64 farthest row; when there are several, their float64 distances (to
the centres that float32 cannot rule out) are computed (and cached) and the largest wins, ties
to the lowest index. The picks are those of the float64 greedy computed row by row, up to
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

import numpy as np
import torch
from datasets import Dataset
from tqdm.auto import tqdm

from deita_hf.errors import SelectionError
from deita_hf.runtime import torch_device
from deita_hf.selection.dispatch import (
    RANK_COLUMN,
    SCORE_COLUMN,
    check_block_size,
    check_budget,
    check_choice,
    check_free_columns,
    finish,
    highest_precision,
    resolve_scores,
    warn_short,
)
from deita_hf.selection.greedy import float32_margin
from deita_hf.selection.score_columns import require_columns
from deita_hf.selection.vectors import EmbeddingReader

__all__ = ["DISTANCE_COLUMN", "METRICS", "PoolVectors", "exact_rows", "float32_bound",
           "select_kcenter"]

METRICS = ("cosine", "l2")
#: the column giving each pick's distance to its nearest earlier pick
DISTANCE_COLUMN = "kcenter_distance"


def float32_bound(value: float, *, up: bool) -> float:
    """``value`` rounded to float32 outwards (up or down), so a float32 comparison with it
    never loses a row that the float64 bound keeps."""
    v = np.float32(value)
    if (float(v) < value) if up else (float(v) > value):  # compare in float64 (NEP 50)
        v = np.nextafter(v, np.float32(np.inf if up else -np.inf))
    return float(v)


def _check_finite(values: np.ndarray, rows: np.ndarray, column: str, what: str) -> None:
    bad = ~np.isfinite(values).all(axis=1)
    if bad.any():
        row = int(rows[np.flatnonzero(bad)[0]])
        raise SelectionError(f"Column {column!r}, row {row}: embedding values are {what}.")


def exact_rows(reader: EmbeddingReader, rows: np.ndarray, *, unit: bool) -> np.ndarray:
    """Float64 embeddings of ``rows``: unit rows (``unit``; zero vectors are errors) or the
    stored values (NaN/inf are errors); errors name the column and row."""
    rows = np.asarray(rows, dtype=np.int64)
    if unit:
        return reader.unit_rows(rows)
    raw = reader.raw_rows(rows).astype(np.float64, copy=False)
    _check_finite(raw, rows, reader.column, "NaN or inf; re-embed the row or drop it")
    return raw


def _host(t: torch.Tensor):
    """A CPU tensor as a numpy view (vector bookkeeping in single-threaded numpy: no stalls at
    thread barriers on a busy machine), a GPU tensor as it is."""
    return t.numpy() if t.device.type == "cpu" else t


def _numpy(a) -> np.ndarray:
    return a if isinstance(a, np.ndarray) else a.cpu().numpy()


class PoolVectors:
    """The pool's embeddings read once into a float32 ``n × dim`` matrix ``x`` on ``device``.

    ``cosine``: unit rows. ``l2``: rows minus the float64 pool mean, with squared norms ``sq``
    (float32). Float64 rows for exact checks come from :meth:`exact`. Every row is validated.

    Raises:
        SelectionError: null, ragged, NaN/inf (or, for cosine, all-zero) embeddings, naming
            the column and row.
    """

    def __init__(self, ds: Dataset, column: str, metric: str, device, block_size: int,
                 progress: bool = False):
        self.reader = EmbeddingReader(ds, column)
        self.column, self.metric, self.device = column, metric, torch.device(device)
        probe = _host(torch.empty(0, device=self.device))
        self.xp = np if isinstance(probe, np.ndarray) else torch  # ops on the _host() arrays
        self.n, self.dim = len(ds), self.reader.dim
        self.x = torch.empty((self.n, self.dim), dtype=torch.float32, device=device)
        blocks = [np.arange(lo, min(lo + block_size, self.n))
                  for lo in range(0, self.n, block_size)]
        bar = tqdm(total=self.n * (1 if metric == "cosine" else 2), desc="read embeddings",
                   unit="row", disable=not progress)
        with bar:
            if metric == "cosine":
                for rows in blocks:
                    self.x[rows[0]: rows[-1] + 1] = self.reader.unit_rows_float32(rows, device)
                    bar.update(len(rows))
                return
            total = np.zeros(self.dim)
            for rows in blocks:
                total += self.exact(rows).sum(axis=0)
                bar.update(len(rows))
            self.mean = total / max(self.n, 1)
            sq = np.empty(self.n)
            for rows in blocks:
                y = self.exact(rows) - self.mean
                sq[rows] = np.einsum("ij,ij->i", y, y)
                y32 = y.astype(np.float32)
                _check_finite(y32, rows, self.column, "too large for float32; rescale them")
                self.x[rows[0]: rows[-1] + 1] = torch.from_numpy(y32).to(device)
                bar.update(len(rows))
            self.r2 = float(sq.max()) if self.n else 0.0
            self.sq = _host(torch.from_numpy(sq.astype(np.float32)).to(device))

    def exact(self, rows: np.ndarray) -> np.ndarray:
        """Float64 rows as the reference uses them: unit rows (cosine) or the stored values."""
        return exact_rows(self.reader, rows, unit=self.metric == "cosine")

    def eps(self) -> float:
        """Bound on |float32 − float64| of one distance (cosine) or squared distance (l2)."""
        if self.metric == "cosine":
            return float32_margin(self.dim) + 2.0**-23
        return 1.01 * (2 * self.dim + 16) * 2.0**-24 * self.r2 + 1e-30

    def distances(self, centre: int, x=None, sq=None, out=None):
        """Float32 distances (l2: squared) of the rows of ``x`` (default: the pool; ``sq``:
        their squared norms) to pool row ``centre``: one matrix-vector product, then
        ``1 − p`` (cosine) or ``max(0, −2p + sq + sq_centre)`` (l2) in place.

        Returns:
            The distances (into ``out``, a float32 tensor, when given), as :func:`_host`.
        """
        x, sq = (self.x, getattr(self, "sq", None)) if x is None else (x, sq)
        if out is None:
            out = torch.empty(x.shape[0], device=self.device)
        d = _host(torch.mv(x, self.x[centre], out=out))
        if self.metric == "cosine":
            d *= -1.0
            d += 1.0
            return d
        d *= -2.0
        d += sq
        d += self.sq[centre]
        d[d < 0] = 0.0
        return d

    def exact_distances(self, x: np.ndarray, centres: np.ndarray) -> np.ndarray:
        """Float64 distances of one row ``x`` to each centre row (elementwise, row by row)."""
        if self.metric == "cosine":
            return 1.0 - (centres * x).sum(axis=1)
        return np.sqrt(((centres - x) ** 2).sum(axis=1))


class _Farthest:
    """The k-center greedy state: float32 nearest and second-nearest centre distances of every
    row (and the nearest centre), plus float64 checks of near-ties."""

    def __init__(self, pool: PoolVectors, budget: int):
        self.pool, self.eps, n = pool, pool.eps(), pool.n
        self.min_dist = _host(torch.full((n,), float("inf"), device=pool.device))
        self.second = _host(torch.full((n,), float("inf"), device=pool.device))
        self.nearest = _host(torch.zeros(n, dtype=torch.int64, device=pool.device))
        self.buf = torch.empty(n, device=pool.device)
        self.centres: list[int] = []
        self.c64 = np.empty((budget, pool.dim))
        self.c32 = torch.empty((budget, pool.dim), device=pool.device)  # centres, contiguous
        self.c_sq = _host(torch.empty(budget, device=pool.device))
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
        near = np.flatnonzero(_numpy(self.min_dist >= float32_bound(best - 2 * self.eps,
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
        gap = _numpy(self.second[rows]).astype(np.float64) - _numpy(self.min_dist[rows])
        nearest = _numpy(self.nearest[rows])
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
                    idx = idx[_numpy(d32 <= lim)]
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
):
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
    scores, columns = resolve_scores(ds, score_column=score_column,
                                     complexity_column=complexity_column,
                                     quality_column=quality_column)
    added = [RANK_COLUMN, DISTANCE_COLUMN] + ([SCORE_COLUMN] if scores is not None else [])
    check_free_columns(ds, added, read=list(columns.values()))
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
