"""DEITA scores: Σ over turns of complexity × quality, for one row or a whole pool.

The pool version reads the score columns straight from Arrow and is vectorised, so a pool
of millions of rows is scored (and validated) in one pass of numpy, not a Python loop.

Example:
    >>> from deita_hf.selection.score_columns import deita_score
    >>> deita_score(3.0, 4.0)
    12.0
    >>> deita_score([2.0, 3.0], [1.0, 2.0])     # two turns: 2*1 + 3*2
    8.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from datasets import Dataset

from deita_hf.errors import SelectionError

__all__ = ["deita_score", "pool_scores", "turn_values", "column_of", "require_columns"]


def _where(index: int | None) -> str:
    return f"row {index}: " if index is not None else ""


def _check_value(value: object, name: str, index: int | None) -> float:
    if isinstance(value, bool) or not isinstance(value, (Real, np.floating, np.integer)):
        raise SelectionError(f"{_where(index)}{name} score {value!r} is not a number.")
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        raise SelectionError(
            f"{_where(index)}{name} score is {value}; scores must be finite. Re-score this row "
            f"or drop it (ds.filter) before selecting."
        )
    if value < 0:
        raise SelectionError(
            f"{_where(index)}{name} score is negative ({value}); DEITA scores are >= 0. "
            f"Check the scorer output for this row."
        )
    return value


def deita_score(
    complexity: float | Sequence[float],
    quality: float | Sequence[float],
    *,
    index: int | None = None,
) -> float:
    """The DEITA score of one row: Σ over turns of complexity × quality.

    Args:
        complexity: a number (single-turn row) or a list with one number per turn.
        quality: a number or a list with one number per turn (same kind and length as
            ``complexity``).
        index: the row index, used in error messages.

    Returns:
        The score as a float.

    Raises:
        ValueError: a NaN/inf or negative score, lists of different lengths, an empty list, or
            a number mixed with a list; the message names the row ``index`` when given.

    Example:
        >>> deita_score([1.0, 2.0], [3.0, 4.0], index=7)
        11.0
    """
    c_list = isinstance(complexity, (Sequence, np.ndarray)) and not isinstance(complexity, str)
    q_list = isinstance(quality, (Sequence, np.ndarray)) and not isinstance(quality, str)
    if c_list != q_list:
        raise SelectionError(
            f"{_where(index)}complexity is {'a list' if c_list else 'a number'} but quality is "
            f"{'a list' if q_list else 'a number'}; give both per turn (lists of equal length) "
            f"or both per row (numbers)."
        )
    if not c_list:
        return _check_value(complexity, "complexity", index) * _check_value(
            quality, "quality", index
        )
    if len(complexity) != len(quality):
        raise SelectionError(
            f"{_where(index)}{len(complexity)} complexity scores but {len(quality)} quality "
            f"scores; there must be one of each per turn."
        )
    if len(complexity) == 0:
        raise SelectionError(f"{_where(index)}no per-turn scores (empty lists).")
    total = 0.0
    for c, q in zip(complexity, quality):
        total += _check_value(c, "complexity", index) * _check_value(q, "quality", index)
    return total


def require_columns(ds: Dataset, names: dict[str, str | None]) -> None:
    """Raise a ValueError naming every missing column (``names``: argument name -> column)."""
    missing = [f"{arg}={col!r}" for arg, col in names.items() if col and col not in ds.column_names]
    if missing:
        raise SelectionError(
            f"Column(s) not found: {', '.join(missing)}. The dataset has columns "
            f"{ds.column_names}. Pass the right names, e.g. select_deita(ds, 6000, "
            f"embedding_column=..., score_column=...)."
        )


def column_of(ds: Dataset, name: str) -> pa.Array:
    """The column ``name`` of ``ds`` as one Arrow array in dataset order (indices applied)."""
    col = ds.data.column(name)
    if ds._indices is not None:  # after select/shuffle/filter: map positions to table rows
        col = col.take(ds._indices.column(0))
    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _numbers(arr: pa.Array, column: str, rows: np.ndarray | None = None) -> np.ndarray:
    """Float64 values of a numeric Arrow array; ``rows`` maps value i -> dataset row."""
    if not (pa.types.is_floating(arr.type) or pa.types.is_integer(arr.type)):
        raise SelectionError(
            f"Column {column!r} holds {arr.type}, not numbers. Score columns must hold numbers "
            f"(or per-turn lists of numbers)."
        )
    if arr.null_count:
        bad = _first(np.asarray(arr.is_null()))
        row = bad if rows is None else int(rows[bad])
        raise SelectionError(f"Column {column!r}, row {row}: missing score (null). Re-score it.")
    values = arr.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    bad = ~np.isfinite(values)
    if bad.any():
        i = _first(bad)
        row = i if rows is None else int(rows[i])
        raise SelectionError(f"Column {column!r}, row {row}: score is {values[i]}; must be finite.")
    return values


def _nonnegative(values: np.ndarray, column: str, rows: np.ndarray | None = None) -> None:
    neg = values < 0
    if neg.any():
        i = _first(neg)
        row = i if rows is None else int(rows[i])
        raise SelectionError(
            f"Column {column!r}, row {row}: negative score ({values[i]}); DEITA scores are >= 0."
        )


def _is_list(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)


def _no_null_lists(arr: pa.Array, column: str) -> None:
    if arr.null_count:
        raise SelectionError(
            f"Column {column!r}, row {_first(np.asarray(arr.is_null()))}: missing per-turn "
            f"scores (null)."
        )


def turn_values(ds: Dataset, column: str) -> np.ndarray:
    """Every value of a score column (per-row numbers, or per-turn lists flattened in row order),
    validated as :func:`pool_scores` validates them (nulls and NaN/inf name their row).

    Example:
        >>> from datasets import Dataset
        >>> turn_values(Dataset.from_dict({"q": [[1.0, 2.0], [3.0]]}), "q").tolist()
        [1.0, 2.0, 3.0]
    """
    require_columns(ds, {"column": column})
    arr = column_of(ds, column)
    if not _is_list(arr.type):
        return _numbers(arr, column)
    _no_null_lists(arr, column)
    parents = pc.list_parent_indices(arr).to_numpy(zero_copy_only=False)
    return _numbers(pc.list_flatten(arr), column, parents)


def pool_scores(
    ds: Dataset,
    *,
    complexity_column: str = "complexity",
    quality_column: str = "quality",
    score_column: str | None = None,
) -> np.ndarray:
    """The DEITA score of every row of ``ds`` (float64), vectorised over Arrow columns.

    Args:
        ds: the pool.
        complexity_column, quality_column: numbers, or per-turn lists of numbers.
        score_column: a ready score (numbers); when given the other two are not read. Ready
            scores may be negative (other scorers' scales) but must be finite.

    Returns:
        ``np.ndarray`` of shape ``(len(ds),)``.

    Raises:
        ValueError: a missing column, nulls, NaN/inf, negative complexity/quality, per-turn lists
            of different lengths, or a list mixed with a number; names the column and row.

    Example:
        >>> from datasets import Dataset
        >>> ds = Dataset.from_dict({"complexity": [[1.0, 2.0], [3.0]],
        ...                         "quality": [[2.0, 2.0], [1.0]]})
        >>> pool_scores(ds).tolist()
        [6.0, 3.0]
    """
    if score_column is not None:
        require_columns(ds, {"score_column": score_column})
        arr = column_of(ds, score_column)
        if _is_list(arr.type):
            raise SelectionError(
                f"score_column {score_column!r} holds lists; a ready score is one number per "
                f"row. For per-turn scores use complexity_column/quality_column instead."
            )
        return _numbers(arr, score_column)
    require_columns(ds, {"complexity_column": complexity_column, "quality_column": quality_column})
    c_arr, q_arr = column_of(ds, complexity_column), column_of(ds, quality_column)
    c_list, q_list = _is_list(c_arr.type), _is_list(q_arr.type)
    if c_list != q_list:
        raise SelectionError(
            f"Column {complexity_column!r} holds {c_arr.type} but {quality_column!r} holds "
            f"{q_arr.type}; both must be per-row numbers or both per-turn lists."
        )
    if not c_list:
        c = _numbers(c_arr, complexity_column)
        q = _numbers(q_arr, quality_column)
        _nonnegative(c, complexity_column)
        _nonnegative(q, quality_column)
        return _finite_product(c * q, complexity_column, quality_column)
    n = len(c_arr)
    for arr, col in ((c_arr, complexity_column), (q_arr, quality_column)):
        _no_null_lists(arr, col)
    c_len = pc.list_value_length(c_arr).to_numpy(zero_copy_only=False)
    q_len = pc.list_value_length(q_arr).to_numpy(zero_copy_only=False)
    if (c_len != q_len).any():
        i = _first(c_len != q_len)
        raise SelectionError(
            f"Row {i}: {c_len[i]} values in {complexity_column!r} but {q_len[i]} in "
            f"{quality_column!r}; there must be one complexity and one quality score per turn."
        )
    if (c_len == 0).any():
        raise SelectionError(f"Row {_first(c_len == 0)}: no per-turn scores (empty lists).")
    parents = pc.list_parent_indices(c_arr).to_numpy(zero_copy_only=False)
    c = _numbers(pc.list_flatten(c_arr), complexity_column, parents)
    q = _numbers(pc.list_flatten(q_arr), quality_column, parents)
    _nonnegative(c, complexity_column, parents)
    _nonnegative(q, quality_column, parents)
    with np.errstate(over="ignore"):
        total = np.bincount(parents, weights=c * q, minlength=n).astype(np.float64)
    return _finite_product(total, complexity_column, quality_column)


def _finite_product(scores: np.ndarray, complexity_column: str, quality_column: str) -> np.ndarray:
    """The DEITA scores, or an error naming the first row whose score overflowed to inf."""
    if not np.isfinite(scores).all():
        i = _first(~np.isfinite(scores))
        raise SelectionError(
            f"Row {i}: the DEITA score (sum of {complexity_column!r} x {quality_column!r}) "
            f"overflows to inf; the scores are far outside DEITA's 1..6 scale. Rescale them or "
            f"pass a ready score_column.")
    return scores
