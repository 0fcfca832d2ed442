"""Read embedding rows straight from a dataset's Arrow table, a block at a time.

:class:`EmbeddingReader` checks the column's structure for the whole pool at once from the
Arrow offsets alone (nulls, ragged dimensions: no values are read), then gathers only the rows
asked for, as numpy views of the Arrow buffers (no Python lists, no copy of the pool). Values are
checked (NaN/inf, zero vectors) as rows are read, so every row the selection looks at is
validated and no extra pass over the pool is made.

Example:
    >>> from datasets import Dataset
    >>> ds = Dataset.from_dict({"embedding": [[3.0, 4.0], [0.0, 2.0]]})
    >>> EmbeddingReader(ds, "embedding").unit_rows(np.array([1, 0])).tolist()
    [[0.0, 1.0], [0.6, 0.8]]
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import torch
from datasets import Dataset

from deita_hf.errors import SelectionError

__all__ = ["EmbeddingReader"]


def _is_list(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)


class EmbeddingReader:
    """Gather normalised embedding rows of ``ds[column]`` by dataset row index.

    Args:
        ds: the pool (``select``/``shuffle``/``filter`` results are fine: their indices mapping
            is applied).
        column: a column of lists of numbers, one list per row, all of the same length.

    Raises:
        ValueError: the column holds something else, a row is null, or rows differ in length;
            the message names the column and the (dataset) row.
    """

    def __init__(self, ds: Dataset, column: str) -> None:
        self.column = column
        chunked = ds.data.column(column)
        t = chunked.type
        if not _is_list(t) or not (
            pa.types.is_floating(t.value_type) or pa.types.is_integer(t.value_type)
        ):
            raise SelectionError(
                f"Column {column!r} holds {t}; an embedding column must hold one list of numbers "
                f"per row (e.g. from SentenceTransformer.encode(...).tolist())."
            )
        self._fixed = pa.types.is_fixed_size_list(t)
        self._chunks = [c for c in chunked.chunks if len(c)]
        sizes = np.array([len(c) for c in self._chunks], dtype=np.int64)
        self._starts = np.concatenate([[0], np.cumsum(sizes)])
        self._values: list[np.ndarray | None] = [None] * len(self._chunks)
        self._offsets: list[np.ndarray | None] = [None] * len(self._chunks)
        self._rows = (
            ds._indices.column(0).to_numpy().astype(np.int64) if ds._indices is not None else None
        )
        self.dim = self._check_structure(len(ds))

    # -- structure: the whole pool, from offsets and validity bitmaps only ------------------
    def _check_structure(self, n: int) -> int:
        lengths = np.empty(int(self._starts[-1]), dtype=np.int64)
        valid = np.ones(len(lengths), dtype=bool)
        for i, chunk in enumerate(self._chunks):
            lo, hi = self._starts[i], self._starts[i + 1]
            if self._fixed:
                lengths[lo:hi] = chunk.type.list_size
            else:
                lengths[lo:hi] = np.diff(self._offset_array(i))
            if chunk.null_count:
                valid[lo:hi] = np.asarray(chunk.is_valid())
        if self._rows is not None:
            lengths, valid = lengths[self._rows], valid[self._rows]
        if n == 0:
            return 0
        if not valid.all():
            row = int(np.flatnonzero(~valid)[0])
            raise SelectionError(
                f"Column {self.column!r}, row {row}: embedding is missing (null). Embed every "
                f"row (or drop it with ds.filter) before selecting."
            )
        dim = int(lengths[0])
        if dim == 0:
            raise SelectionError(f"Column {self.column!r}, row 0: embedding is empty.")
        if (lengths != dim).any():
            row = int(np.flatnonzero(lengths != dim)[0])
            raise SelectionError(
                f"Column {self.column!r}, row {row}: embedding has {lengths[row]} values but "
                f"row 0 has {dim}. All embeddings must come from one model (same dimension)."
            )
        return dim

    def _offset_array(self, i: int) -> np.ndarray:
        if self._offsets[i] is None:
            chunk = self._chunks[i]
            if self._fixed:
                size = chunk.type.list_size
                self._offsets[i] = (np.arange(len(chunk) + 1, dtype=np.int64) + chunk.offset) * size
            else:
                self._offsets[i] = chunk.offsets.to_numpy().astype(np.int64, copy=False)
        return self._offsets[i]

    def _value_array(self, i: int) -> np.ndarray:
        if self._values[i] is None:
            values = self._chunks[i].values
            if values.null_count:
                values = values.fill_null(float("nan"))  # reported as NaN for the row using it
            self._values[i] = values.to_numpy(zero_copy_only=False)
        return self._values[i]

    # -- values: only the rows asked for ---------------------------------------------------
    def raw_rows(self, rows: np.ndarray) -> np.ndarray:
        """The embeddings of dataset rows ``rows``, shape ``(len(rows), dim)``.

        The dtype is the stored one for float32/float64 columns, else float32.
        """
        rows = np.asarray(rows, dtype=np.int64)
        phys = self._rows[rows] if self._rows is not None else rows
        chunk_ids = np.searchsorted(self._starts, phys, side="right") - 1
        dtype = self._value_array(int(chunk_ids[0])).dtype if len(rows) else np.float32
        if dtype != np.float64:
            dtype = np.float32
        out = np.empty((len(rows), self.dim), dtype=dtype)
        dim = self.dim
        for c in np.unique(chunk_ids):
            where = np.flatnonzero(chunk_ids == c)
            values, offsets = self._value_array(c), self._offset_array(c)
            begins = offsets[phys[where] - self._starts[c]]
            if (begins == begins[0] + dim * np.arange(len(begins))).all():  # a run of rows
                out[where] = values[begins[0]: begins[0] + dim * len(begins)].reshape(-1, dim)
                continue
            for j, b in zip(where.tolist(), begins.tolist()):
                out[j] = values[b : b + dim]
        return out

    def _check_norms(self, norms: np.ndarray, raw: np.ndarray, rows: np.ndarray) -> None:
        bad = ~np.isfinite(norms) | (norms == 0)
        if not bad.any():
            return
        j = int(np.flatnonzero(bad)[0])
        row = int(np.asarray(rows)[j])
        if norms[j] == 0:
            raise SelectionError(
                f"Column {self.column!r}, row {row}: embedding is all zeros, so its cosine "
                f"similarity is undefined. Re-embed the row or drop it."
            )
        what = "NaN" if np.isnan(raw[j]).any() else "inf"
        raise SelectionError(
            f"Column {self.column!r}, row {row}: embedding contains {what} values. "
            f"Re-embed the row or drop it."
        )

    def _unit64(self, raw: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Rows divided by their L2 norms in float64; rows whose norm under- or overflows
        (values like 1e-300 or 1e200) are first divided by their largest absolute value."""
        norms = np.sqrt(np.einsum("ij,ij->i", raw, raw))
        bad = ~np.isfinite(norms) | (norms == 0)
        if bad.any():
            idx = np.flatnonzero(bad)
            sub = raw[idx]
            finite = np.isfinite(sub).all(axis=1)
            scale = np.where(finite, np.abs(np.where(np.isfinite(sub), sub, 0)).max(axis=1), 0.0)
            ok = finite & (scale > 0)
            if not ok.all():
                j = idx[np.flatnonzero(~ok)[0]]
                self._check_norms(np.where(finite[~ok][:1], 0.0, np.inf), raw[j:j + 1],
                                  np.asarray(rows)[j:j + 1])
            scaled = sub / scale[:, None]
            raw = raw.copy()
            raw[idx] = scaled
            norms = norms.copy()
            norms[idx] = np.sqrt(np.einsum("ij,ij->i", scaled, scaled))
        return raw / norms[:, None]

    def unit_rows(self, rows: np.ndarray) -> np.ndarray:
        """The embeddings of ``rows``, each divided by its L2 norm, in float64.

        This is the reference normalisation: the similarity of two rows is the float64 dot
        product of these vectors. Tiny or huge vectors (norms that under- or overflow) are
        rescaled first, so only all-zero and NaN/inf vectors are errors.

        Raises:
            SelectionError: a row has a NaN/inf value or is all zeros (names column and row).
        """
        return self._unit64(self.raw_rows(rows).astype(np.float64, copy=False), rows)

    def unit_rows_float32(self, rows: np.ndarray, device: str | torch.device) -> torch.Tensor:
        """Like :meth:`unit_rows`, as float32 on ``device`` (the fast path).

        Norms are taken in float32 (each within ``dim/2 + 1`` ulps); rows whose float32 norm
        is zero or not finite (including values beyond float32's range) are normalised in
        float64 by :meth:`unit_rows` instead (or reported, if all zeros or NaN/inf).
        """
        raw = self.raw_rows(rows)
        with np.errstate(over="ignore"):
            x = torch.from_numpy(raw).to(device).to(torch.float32)
        norms = torch.linalg.vector_norm(x, dim=1)
        bad = ~torch.isfinite(norms) | (norms == 0)
        if bool(bad.any()):
            idx = torch.nonzero(bad).flatten().cpu().numpy()
            unit = self._unit64(raw[idx].astype(np.float64), np.asarray(rows)[idx])
            x[torch.as_tensor(idx, device=x.device)] = torch.from_numpy(unit).to(x)
            norms[torch.as_tensor(idx, device=x.device)] = 1.0
        return x / norms[:, None]
