"""``select_facility_location``: greedy facility-location selection (Superfiltering's diversity step).

Maximises f(S) = Σ_i max_{j∈S} s(i, j) over the pool (rows normalised to unit length), with
the kernel s (``similarity=``):

- ``"euclidean"`` (default): submodlib's euclidean kernel, s = exp(−‖u_i − u_j‖ / dim), as
  Superfiltering's diversity step builds it (github.com/tianyi-lab/Superfiltering at commit
  f0764afa536ec910b994d1d6aa2b883354505f4f, ``code_diversity_fla/do_fla.py``:
  ``FacilityLocationFunction(mode="dense", data=X, metric="euclidean")`` then ``maximize(...,
  optimizer="LazyGreedy")`` on L2-normalised sentence embeddings; submodlib
  (github.com/decile-team/submodlib at commit 72ae33a1ead9761e7240c2e095873047339ada7c)
  ``cpp/utils/helper.cpp`` ``euclidean_similarity``: ``exp(−distance · (1 / dim))``, 1 on the
  diagonal). Rows are normalised here as ``do_fla.py``'s embeddings are (``F.normalize``).
- ``"cosine"``: sim⁺ = max(0, cosine), deita_hf's own kernel (not Superfiltering's).

Every term is >= 0, f(∅) = 0 and f is monotone submodular. Each step adds
the row with the largest gain f(S ∪ {j}) − f(S); gains within ``tie_tolerance(n)`` = n·2⁻⁴⁷ of
the largest count as ties, which go to the lowest row index. (Ties are common: two uncovered
rows that only improve each other have equal gains in exact arithmetic, and float64 rounding
would otherwise decide between them.)

How it is fast: lazy greedy (gains only shrink, so a stale gain bounds the fresh one: only
rows whose bound can still win are re-evaluated), and every product is blocked (``block_size``
rows at a time), so the n × n similarity matrix is never materialised (the first step is n²·dim
work in blocks; each later step a few matrix-vector products).

What is exact: gains are computed from float32 products with float64 sums, each with a proven
error bound (per term ``2·float32_margin(dim) + 2⁻²²`` over the rows it can touch, cosine;
for the euclidean kernel, per term, ``min(√ε, ε / √a) / dim + 2⁻²¹`` with a = 2 − 2c and
ε = 2·(float32_margin(dim) + 2⁻²¹), plus the coverage's own bound); a row is
only ruled out when its bound is below what another row surely reaches, and when several rows
could still win, their gains are recomputed in float64 (``sum(max(U @ u_j − cover, 0))`` with
float64 unit rows ``U`` and coverage, the kernel applied). The picks are those of the plain
float64 greedy with the same tie rule (submodlib's float32 LazyGreedy can order near ties
differently).

Example:
    >>> from datasets import Dataset
    >>> ds = Dataset.from_dict({"embedding": [[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]]})
    >>> out = select_facility_location(ds, 2, progress=False)
    >>> out["embedding"][:]
    [[0.9, 0.1], [0.0, 1.0]]
    >>> select_facility_location(ds, 2, similarity="cosine", progress=False)["embedding"][:]
    [[0.9, 0.1], [0.0, 1.0]]
"""

from __future__ import annotations

import heapq
import math
import time

import numpy as np
import torch
from datasets import Dataset
from tqdm.auto import tqdm

from deita_hf.runtime import torch_device
from deita_hf.selection.common import (
    RANK_COLUMN,
    check_block_size,
    check_budget,
    check_choice,
    check_free_columns,
    finish,
    highest_precision,
    warn_short,
)
from deita_hf.selection.greedy import float32_margin
from deita_hf.selection.pool_vectors import PoolVectors
from deita_hf.selection.result import SelectionStats
from deita_hf.selection.score_columns import require_columns

__all__ = ["GAIN_COLUMN", "SIMILARITIES", "select_facility_location", "tie_tolerance"]

#: the kernels: submodlib's euclidean (Superfiltering's; the default) and max(0, cosine)
SIMILARITIES = ("euclidean", "cosine")
#: the column giving each pick's gain f(S ∪ {j}) − f(S)
GAIN_COLUMN = "facility_gain"
#: candidates re-evaluated per matrix product in the lazy step
LAZY_BATCH = 32


def tie_tolerance(n: int) -> float:
    """Gains this close to the largest are ties (far above float64 rounding of n terms).

    Example:
        >>> tie_tolerance(2**20) == 2.0**-27
        True
    """
    return n * 2.0**-47


class _Facility:
    """Coverage in float32 (device) and float64 (exact), and gains with error bounds."""

    def __init__(self, pool: PoolVectors, block: int, similarity: str = "cosine") -> None:
        self.pool, self.block, n = pool, block, pool.n
        self.u64 = pool.exact(np.arange(n))
        self.cover32 = torch.zeros(n, device=pool.device)
        self.cover64 = np.zeros(n)
        self.euclidean = similarity == "euclidean"
        self.tau = 2 * float32_margin(pool.dim) + 2.0**-22  # per-term error bound (cosine)
        if self.euclidean:  # error of a = 2 - 2c (its float32 rounding <= 2^-22 included)
            self.a_err = 2 * (float32_margin(pool.dim) + 2.0**-21)
            self.cover_err = torch.zeros(n, device=pool.device)  # per-row error of cover32
        self.slack = 4.0 * n * n * 2.0**-53 + 1e-300  # float64 accumulation of n terms <= 2

    def kernel32(self, cos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The kernel of float32 cosines (cosine: as is; the gain clips at 0) and, for the
        euclidean kernel, a bound on each value's error: with a = 2 − 2c known within ε,
        |Δ√a| <= min(√ε, ε / √a) and |Δ exp(−s / d)| <= |Δs| / d, plus 2⁻²¹ for float32
        rounding."""
        if not self.euclidean:
            return cos, None
        s = torch.sqrt((2.0 - 2.0 * cos).clamp_(min=0.0))
        err = torch.minimum(torch.full_like(s, math.sqrt(self.a_err)), self.a_err / s)
        return torch.exp(-s / self.pool.dim), err.div_(self.pool.dim).add_(2.0**-21)

    def kernel64(self, j: int) -> np.ndarray:
        """The float64 kernel column of row ``j`` (a fresh copy of its row: same inputs, same
        result): max(0, cos), or exp(−‖u_i − u_j‖ / dim) with ‖u_i − u_j‖² = 2 − 2·cos, summed
        from the differences where it is below 10⁻³ (2 − 2·cos cancels there)."""
        u_j = self.u64[j].copy()
        cos = self.u64 @ u_j
        if not self.euclidean:
            return np.maximum(cos, 0.0)
        a = np.maximum(2.0 - 2.0 * cos, 0.0)
        near = np.flatnonzero(a < 1e-3)
        a[near] = ((self.u64[near] - u_j) ** 2).sum(axis=1)
        return np.exp(-np.sqrt(a) / self.pool.dim)

    def approx(self, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Float32-product gains of rows ``cols`` (float64 sums) and a bound on their error."""
        x = self.pool.x
        c = x[torch.as_tensor(cols, device=x.device)]
        gain = torch.zeros(len(cols), dtype=torch.float64, device=x.device)
        touched = torch.zeros(len(cols), dtype=torch.float64, device=x.device)
        for lo in range(0, self.pool.n, self.block):
            k, k_err = self.kernel32(x[lo: lo + self.block] @ c.T)
            t = k - self.cover32[lo: lo + self.block, None]
            if k_err is None:
                touched += (t >= -self.tau).sum(dim=0)
            else:  # per-term bounds: the kernel's and the coverage's errors
                bound = k_err.add_(self.cover_err[lo: lo + self.block, None])
                touched += (bound * (t >= -bound)).sum(dim=0, dtype=torch.float64)
            gain += t.clamp_(min=0).sum(dim=0, dtype=torch.float64)
        err = 1.01 * (touched if self.euclidean else self.tau * touched) + self.slack
        return gain.cpu().numpy(), err.cpu().numpy()

    def exact(self, j: int) -> float:
        """The float64 gain of row ``j`` (fresh copy of its row: same inputs, same result)."""
        return float(np.maximum(self.kernel64(j) - self.cover64, 0.0).sum())

    def add(self, j: int) -> float:
        """Add row ``j`` to the selection; return its float64 gain."""
        x = self.pool.x
        k, k_err = self.kernel32(x @ x[j])
        torch.maximum(self.cover32, k.clamp_(min=0), out=self.cover32)
        if k_err is not None:  # |max_j a_j − max_j b_j| <= max_j |a_j − b_j|
            torch.maximum(self.cover_err, k_err, out=self.cover_err)
        sims = self.kernel64(j)
        gain = float(np.maximum(sims - self.cover64, 0.0).sum())
        np.maximum(self.cover64, sims, out=self.cover64)
        return gain


def _lazy_step(state: _Facility, heap: list) -> tuple[int, bool]:
    """Pop, re-evaluate and pick the row of largest exact gain; push the others back."""
    seen: dict[int, tuple[float, float]] = {}
    tol = tie_tolerance(state.pool.n)
    floor = -np.inf  # the largest gain some evaluated row surely reaches, less the tolerance
    while heap and -heap[0][0] >= floor:
        batch = [heapq.heappop(heap)[1]]
        while seen and heap and -heap[0][0] >= floor and len(batch) < LAZY_BATCH:
            batch.append(heapq.heappop(heap)[1])
        gains, errs = state.approx(np.asarray(batch))
        for j, g, e in zip(batch, gains.tolist(), errs.tolist()):
            seen[j] = (g, e)
            floor = max(floor, g - e - tol)
    near = sorted(j for j, (g, e) in seen.items() if g + e >= floor)
    bounds = {j: g + e for j, (g, e) in seen.items()}
    pick, checked = near[0], len(near) > 1
    if checked:  # float32 cannot tell: float64 gains; ties to the lowest row (near is ascending)
        exact = np.array([state.exact(j) for j in near])
        pick = near[int(np.flatnonzero(exact >= exact.max() - tol)[0])]
        bounds.update(zip(near, exact.tolist()))
    for j, bound in bounds.items():
        if j != pick:
            heapq.heappush(heap, (-bound, j))
    return pick, checked


def select_facility_location(
    ds: Dataset,
    budget: int,
    *,
    embedding_column: str = "embedding",
    similarity: str = "euclidean",
    device: str | torch.device | None = None,
    block_size: int | None = None,
    progress: bool = True,
    return_stats: bool = False,
) -> Dataset | tuple[Dataset, SelectionStats]:
    """Select ``budget`` rows by greedy facility-location maximisation (exact lazy greedy).

    Args:
        ds: the pool; every column is kept in the output.
        budget: rows to select (>= 1); with fewer rows, all are returned with a warning.
        embedding_column: one list of numbers per row (no zero vectors), all of one dimension.
        similarity: ``"euclidean"`` (default; submodlib's exp(−‖u_i − u_j‖ / dim) on unit rows,
            Superfiltering's kernel) or ``"cosine"`` (clipped at 0: sim⁺ = max(0, cos),
            deita_hf's own).
        device: torch device of the products (default: CUDA if available, else CPU).
        block_size: pool rows per product block (memory: ``block_size²`` floats in the first
            step; default 8192). The result never depends on it.
        progress: show progress bars.
        return_stats: also return a :class:`~deita_hf.selection.result.SelectionStats`
            (``params["objective"]``: the float64 f(S) of the selection).

    Returns:
        The picks in order with ``facility_gain`` (the pick's float64 gain) and
        ``selection_rank``; with ``return_stats=True``, ``(dataset, stats)``.

    Raises:
        ConfigError: a bad budget, similarity, device or block size, or an added column
            already there.
        SelectionError: a missing column; null, ragged, zero or NaN/inf embeddings (names the
            column and row).

    Example:
        >>> from datasets import Dataset
        >>> ds = Dataset.from_dict({"embedding": [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]})
        >>> [round(g, 6) for g in select_facility_location(ds, 3, progress=False)["facility_gain"]]
        [2.364058, 0.317971, 0.317971]
        >>> out = select_facility_location(ds, 3, similarity="cosine", progress=False)
        >>> [round(g, 6) for g in out["facility_gain"]]
        [2.414214, 0.292893, 0.292893]
    """
    start = time.perf_counter()
    budget = check_budget(budget)
    check_choice("similarity", similarity, SIMILARITIES)
    block = check_block_size(block_size)
    require_columns(ds, {"embedding_column": embedding_column})
    check_free_columns(ds, (RANK_COLUMN, GAIN_COLUMN), read=())
    dev = torch_device(device)
    k = min(budget, len(ds))
    rows: list[int] = []
    gains: list[float] = []
    rechecks = 0
    with highest_precision():
        pool = PoolVectors(ds, embedding_column, "cosine", dev, block, progress)
        state = _Facility(pool, block, similarity)
        heap: list[tuple[float, int]] = []
        for lo in tqdm(range(0, pool.n if k else 0, block), desc="initial gains",
                       disable=not progress):
            cols = np.arange(lo, min(lo + block, pool.n))
            g, e = state.approx(cols)
            heap.extend(zip((-(g + e)).tolist(), cols.tolist()))
        heapq.heapify(heap)
        for _ in tqdm(range(k), desc="select_facility_location", unit="pick",
                      disable=not progress):
            pick, checked = _lazy_step(state, heap)
            rows.append(pick)
            gains.append(state.add(pick))
            rechecks += checked
    warn_short(len(rows), budget, "are in the pool")
    return finish(
        ds, np.asarray(rows, dtype=np.int64), strategy="facility", budget=budget, start=start,
        added={GAIN_COLUMN: gains, RANK_COLUMN: list(range(len(rows)))},
        params={"similarity": similarity, "objective": float(state.cover64.sum()),
                "near_tie_rechecks": rechecks},
        columns={"embedding_column": embedding_column}, device=str(dev),
        return_stats=return_stats,
    )
