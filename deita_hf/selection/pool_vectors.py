"""The pool's embeddings read once into a float32 matrix, with float64 rows for exact checks.

:class:`PoolVectors` is what the embedding strategies (k-center, facility location) compute
on: a float32 ``n × dim`` matrix on the device (unit rows for cosine; for l2, rows minus the
pool mean), a proven bound :meth:`PoolVectors.eps` on the float32 error of one distance, and
float64 rows (:func:`exact_rows`) to settle what float32 cannot.

Example:
    >>> from datasets import Dataset
    >>> ds = Dataset.from_dict({"embedding": [[3.0, 4.0], [0.0, 2.0]]})
    >>> pool = PoolVectors(ds, "embedding", "cosine", "cpu", block_size=8192)
    >>> [round(float(d), 6) for d in pool.distances(0)]
    [0.0, 0.2]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
from tqdm.auto import tqdm

from deita_hf.errors import SelectionError
from deita_hf.selection.greedy import float32_margin
from deita_hf.selection.vectors import EmbeddingReader

if TYPE_CHECKING:
    from datasets import Dataset

__all__ = ["PoolVectors", "exact_rows", "float32_bound", "host", "to_numpy"]


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


def host(t: torch.Tensor) -> np.ndarray | torch.Tensor:
    """A CPU tensor as a numpy view (vector bookkeeping in single-threaded numpy: no stalls at
    thread barriers on a busy machine), a GPU tensor as it is."""
    return t.numpy() if t.device.type == "cpu" else t


def to_numpy(a: np.ndarray | torch.Tensor) -> np.ndarray:
    """``a`` as a numpy array (a tensor is copied to the CPU)."""
    return a if isinstance(a, np.ndarray) else a.cpu().numpy()


class PoolVectors:
    """The pool's embeddings read once into a float32 ``n × dim`` matrix ``x`` on ``device``.

    ``cosine``: unit rows. ``l2``: rows minus the float64 pool mean, with squared norms ``sq``
    (float32). Float64 rows for exact checks come from :meth:`exact`. Every row is validated.

    Raises:
        SelectionError: null, ragged, NaN/inf (or, for cosine, all-zero) embeddings, naming
            the column and row.
    """

    def __init__(self, ds: Dataset, column: str, metric: str, device: str | torch.device,
                 block_size: int, progress: bool = False) -> None:
        self.reader = EmbeddingReader(ds, column)
        self.column, self.metric, self.device = column, metric, torch.device(device)
        probe = host(torch.empty(0, device=self.device))
        self.xp = np if isinstance(probe, np.ndarray) else torch  # ops on the host() arrays
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
            self.sq = host(torch.from_numpy(sq.astype(np.float32)).to(device))

    def exact(self, rows: np.ndarray) -> np.ndarray:
        """Float64 rows as the reference uses them: unit rows (cosine) or the stored values."""
        return exact_rows(self.reader, rows, unit=self.metric == "cosine")

    def eps(self) -> float:
        """Bound on |float32 − float64| of one distance (cosine) or squared distance (l2)."""
        if self.metric == "cosine":
            return float32_margin(self.dim) + 2.0**-23
        return 1.01 * (2 * self.dim + 16) * 2.0**-24 * self.r2 + 1e-30

    def distances(
        self,
        centre: int,
        x: torch.Tensor | None = None,
        sq: np.ndarray | torch.Tensor | None = None,
        out: torch.Tensor | None = None,
    ) -> np.ndarray | torch.Tensor:
        """Float32 distances (l2: squared) of the rows of ``x`` (default: the pool; ``sq``:
        their squared norms) to pool row ``centre``: one matrix-vector product, then
        ``1 − p`` (cosine) or ``max(0, −2p + sq + sq_centre)`` (l2) in place.

        Returns:
            The distances (into ``out``, a float32 tensor, when given), as :func:`host`.
        """
        x, sq = (self.x, getattr(self, "sq", None)) if x is None else (x, sq)
        if out is None:
            out = torch.empty(x.shape[0], device=self.device)
        d = host(torch.mv(x, self.x[centre], out=out))
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
