"""The exact score-first greedy, done in blocks.

Semantics (the paper's, and the original implementation's with batch size 1): walk the rows in
the given order; keep a row iff its cosine similarity to every row kept before it is
<= ``threshold``; stop once ``budget`` rows are kept.

How it is fast and still exact:

1. Candidates come in blocks (in walk order). One matrix product of the block against the kept
   set, held in a single preallocated ``budget × dim`` float32 buffer of unit rows, drops every
   candidate whose largest similarity is above the threshold.
2. The block's survivors are resolved against each other in walk order with their own
   similarity matrix: a survivor is dropped only by an earlier survivor that was itself kept
   (the original's batch mode also let dropped rows drop others: that changes the result).
3. Float32 is only trusted away from the threshold. A float32 dot product of two unit vectors
   of dimension ``d`` is within ``(2d + 8) · 2⁻²⁴`` of the exact value (see
   :func:`float32_margin`), so every similarity within that margin of the threshold is recomputed in
   float64 from the stored values. The decision is therefore that of the float64 cosine
   ``(a/|a|)·(b/|b|)``, whatever the block size or device; a similarity exactly equal to the
   threshold is kept.

Example:
    >>> import numpy as np
    >>> from datasets import Dataset
    >>> from deita_hf.selection.vectors import EmbeddingReader
    >>> ds = Dataset.from_dict({"embedding": [[1.0, 0.0], [1.0, 0.01], [0.0, 1.0]]})
    >>> res = greedy_select(np.arange(3), EmbeddingReader(ds, "embedding"), 2, 0.9, progress=False)
    >>> res.rows.tolist(), res.examined
    ([0, 2], 3)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from deita_hf.selection.vectors import EmbeddingReader

__all__ = ["GreedyResult", "greedy_select", "float32_margin", "AUTO_MIN_BLOCK", "KEPT_CHUNK"]

#: first block size of the adaptive schedule, and its floor
AUTO_MIN_BLOCK = 64
#: the adaptive schedule keeps a block under this many values, and under AUTO_MAX_BLOCK rows
AUTO_MAX_VALUES = 1 << 22
AUTO_MAX_BLOCK = 2048
#: hard cap on rows per block (the survivors' similarity matrix is block² float64)
MAX_BLOCK = 4096
#: kept rows per product when checking candidates against the kept set
KEPT_CHUNK = 1024


@dataclass
class GreedyResult:
    """What :func:`greedy_select` returns.

    Attributes:
        rows: kept dataset row indices, in selection order.
        max_similarity: per kept row, its highest cosine similarity to the rows kept before it
            (``None`` for the first).
        examined: rows walked, up to and including the one that filled the budget.
    """

    rows: np.ndarray
    max_similarity: list[float | None]
    examined: int


def float32_margin(dim: int) -> float:
    """Bound on |float32 dot − exact dot| for two unit vectors of ``dim`` made by
    :meth:`EmbeddingReader.unit_rows_float32`: float32 norms are within ``(dim/2 + 1)`` ulps,
    so each unit component is within ``(dim/2 + 2)`` ulps; the float32 sum adds ``dim`` ulps."""
    return (2 * dim + 8) * 2.0**-24 * 1.01 + 1e-12


#: float64 similarities this close to +-1 are what identical (or opposite) vectors give up to
#: the rounding of normalising them: they are taken as exactly +-1
_UNIT_SNAP = 8 * np.finfo(np.float64).eps


def _exact(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise float64 dot products of unit rows (the reference similarity), in [-1, 1] as
    cosine similarity is, and exactly +-1 within :data:`_UNIT_SNAP` of it: a row's similarity
    to an identical copy is 1.0 and to its negation -1.0 (unrounded, normalising can give
    1.0000000000000002 or -0.9999999999999998, so ``threshold=1.0`` would drop a copy and
    ``threshold=-1.0`` an opposite row)."""
    sims = np.clip(np.einsum("ij,ij->i", a, b), -1.0, 1.0)
    return np.where(np.abs(sims) >= 1.0 - _UNIT_SNAP, np.sign(sims), sims)


class _Blocks:
    """Block-size schedule: fixed, or adapted to the kept-set size and survival rate.

    Checking a block of ``b`` candidates costs ``b·k`` dot products against ``k`` kept rows
    (needed anyway) plus ``s²`` among its ``s ≈ rate·b`` survivors (overhead), and rows past
    the one that fills the budget are wasted. The adaptive size keeps ``s² ≲ b·k/4`` and the
    block near the rows still needed, between ``AUTO_MIN_BLOCK`` and a memory cap.
    """

    def __init__(self, block_size: int | None, dim: int) -> None:
        self.fixed = None if block_size is None else min(block_size, MAX_BLOCK)
        self.cap = min(AUTO_MAX_BLOCK, max(AUTO_MIN_BLOCK, AUTO_MAX_VALUES // max(dim, 1)))
        self.rate = 1.0

    def next(self, kept: int, remaining_budget: int) -> int:
        if self.fixed is not None:
            return self.fixed
        rate = max(self.rate, 1e-3)
        want = min(kept / (4 * rate * rate), remaining_budget / rate * 1.05 + 1)
        return int(min(self.cap, max(AUTO_MIN_BLOCK, want)))

    def observe(self, kept: int, walked: int) -> None:
        if walked:
            self.rate = 0.5 * self.rate + 0.5 * max(kept / walked, 1.0 / walked)


def greedy_select(
    order: np.ndarray,
    reader: EmbeddingReader,
    budget: int,
    threshold: float,
    *,
    device: str | torch.device = "cpu",
    block_size: int | None = None,
    progress: bool = True,
) -> GreedyResult:
    """Run the greedy over dataset rows in ``order``.

    Args:
        order: dataset row indices in walk order (descending score).
        reader: where embeddings come from.
        budget: how many rows to keep at most.
        threshold: keep a row iff its cosine similarity to every kept row is <= this.
        device: torch device for the matrix products.
        block_size: candidates per block (at most ``MAX_BLOCK``, since the survivors'
            similarity matrix takes ``block_size²`` floats); ``None`` adapts it (small while
            most rows are kept, larger once most are dropped, never far past the budget).
            The result does not depend on it.
        progress: show a tqdm bar over walked rows.

    Returns:
        A :class:`GreedyResult`.
    """
    n, dim = len(order), reader.dim
    device = torch.device(device)
    margin = float32_margin(dim)
    kept_buf = torch.empty((budget, dim), dtype=torch.float32, device=device)
    kept_rows: list[int] = []
    max_sims: list[float | None] = []
    schedule = _Blocks(block_size, dim)
    bar = tqdm(total=n, desc="select_deita", unit="row", disable=not progress)
    pos, examined = 0, n
    try:
        while pos < n and len(kept_rows) < budget:
            k = len(kept_rows)
            rows = order[pos : pos + schedule.next(k, budget - k)]
            cand = reader.unit_rows_float32(rows, device)
            if k:
                best, drop = _against_kept(
                    cand, kept_buf[:k], rows, kept_rows, reader, threshold, margin
                )
            else:
                best, drop = np.full(len(rows), -np.inf), np.zeros(len(rows), dtype=bool)
            surv = np.flatnonzero(~drop)
            new_local: list[int] = []
            if len(surv):
                over, gram = _block_conflicts(cand[surv], rows[surv], reader, threshold, margin)
                dropped = np.zeros(len(surv), dtype=bool)
                in_block = np.full(len(surv), -np.inf)
                for j in range(len(surv)):
                    if dropped[j]:
                        continue
                    new_local.append(j)
                    m = max(best[surv[j]], in_block[j])
                    max_sims.append(None if m == -np.inf else float(m))
                    kept_rows.append(int(rows[surv[j]]))
                    if len(kept_rows) == budget:
                        examined = pos + int(surv[j]) + 1
                        break
                    dropped |= over[j]
                    np.maximum(in_block, gram[j], out=in_block)
                if new_local:
                    idx = torch.as_tensor(surv[new_local], device=device)
                    kept_buf[k : k + len(new_local)] = cand[idx]
            walked = len(rows) if len(kept_rows) < budget else examined - pos
            schedule.observe(len(new_local), walked)
            bar.update(walked)
            pos += len(rows)
    finally:
        bar.close()
    return GreedyResult(np.asarray(kept_rows, dtype=np.int64), max_sims, examined)


def _against_kept(
    cand: torch.Tensor,
    kept: torch.Tensor,
    rows: np.ndarray,
    kept_rows: list[int],
    reader: EmbeddingReader,
    threshold: float,
    margin: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Each candidate's max similarity to the kept set, and whether it is above ``threshold``.

    The kept set is scanned in column chunks; candidates already certainly dropped leave the
    scan (a dropped row needs one kept row above the threshold, not all of them), so the
    products shrink as the pool fills with near-duplicates. Max similarities are exact for
    survivors and lower bounds (> threshold) for dropped rows.
    """
    lo, hi = threshold - margin, threshold + margin
    b, k = cand.shape[0], kept.shape[0]
    best = torch.full((b,), -float("inf"), device=cand.device)
    active = torch.arange(b, device=cand.device)
    sub = cand
    for c0 in range(0, k, KEPT_CHUNK):
        m = (sub @ kept[c0 : c0 + KEPT_CHUNK].T).max(dim=1).values
        best[active] = torch.maximum(best[active], m)
        alive = m <= hi
        n_alive = int(alive.sum())
        if n_alive == 0:
            break
        if n_alive < 0.9 * len(active) and c0 + KEPT_CHUNK < k:
            active, sub = active[alive], sub[alive]
    best = best.cpu().numpy().astype(np.float64)
    drop = best > hi
    unsure = np.flatnonzero(~drop & (best > lo))
    if len(unsure):  # decide these in float64 against every kept row that could be > threshold
        close = ((cand[torch.as_tensor(unsure, device=cand.device)] @ kept.T) > lo).cpu().numpy()
        ci, kj = np.nonzero(close)
        uniq, inv = np.unique(kj, return_inverse=True)
        kept_unit = reader.unit_rows(np.asarray(kept_rows, dtype=np.int64)[uniq])
        cand_unit = reader.unit_rows(rows[unsure])
        exact = _exact(cand_unit[ci], kept_unit[inv])
        refined = np.full(len(unsure), -np.inf)
        np.maximum.at(refined, ci, exact)
        has = refined > -np.inf  # (a float32 max > lo with no column > lo cannot happen; be safe)
        best[unsure[has]] = refined[has]
        drop[unsure] = refined > threshold
    return best, drop


def _block_conflicts(
    cand: torch.Tensor, rows: np.ndarray, reader: EmbeddingReader, threshold: float, margin: float
) -> tuple[np.ndarray, np.ndarray]:
    """Survivor-vs-survivor similarities (float64, exact near the threshold) and ``> threshold``."""
    lo, hi = threshold - margin, threshold + margin
    gram32 = cand @ cand.T
    unsure = torch.triu((gram32 > lo) & (gram32 <= hi), diagonal=1)
    gram = gram32.cpu().numpy().astype(np.float64)
    if bool(unsure.any()):
        unsure_i, unsure_j = (t.cpu().numpy() for t in torch.nonzero(unsure, as_tuple=True))
        uniq, inv = np.unique(np.concatenate([unsure_i, unsure_j]), return_inverse=True)
        unit = reader.unit_rows(rows[uniq])
        exact = _exact(unit[inv[: len(unsure_i)]], unit[inv[len(unsure_i) :]])
        gram[unsure_i, unsure_j] = exact
        gram[unsure_j, unsure_i] = exact
    np.fill_diagonal(gram, -np.inf)
    return gram > threshold, gram
