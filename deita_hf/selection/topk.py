"""``select_topk``: the rows with the highest (or lowest) value of one column.

The single-score baselines of the DEITA study (top complexity, top quality, longest response,
...): per-turn list columns are summed per row; ties go to the lower row index.

Example:
    >>> from datasets import Dataset
    >>> ds = Dataset.from_dict({"text": ["a", "b", "c"], "quality": [[1.0, 2.0], [4.0], [3.0]]})
    >>> out = select_topk(ds, 2, column="quality", progress=False)
    >>> out["text"][:], out["selection_score"][:], out["selection_rank"][:]
    (['b', 'a'], [4.0, 3.0], [0, 1])
"""

from __future__ import annotations

import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from datasets import Dataset

from deita_hf.errors import ConfigError, SelectionError
from deita_hf.selection.common import (
    RANK_COLUMN,
    SCORE_COLUMN,
    check_budget,
    check_free_columns,
    finish,
    warn_short,
)
from deita_hf.selection.result import SelectionStats
from deita_hf.selection.score_columns import column_of, turn_values

__all__ = ["VECTOR_LENGTH", "row_sums", "select_topk"]

#: a list column whose rows all hold this many numbers or more, the same number in every row,
#: is a vector (an embedding, gradient features), not per-turn scores
VECTOR_LENGTH = 32


def row_sums(ds: Dataset, column: str) -> np.ndarray:
    """Per-row values of ``column`` (float64): numbers as they are, per-turn lists summed.

    Args:
        ds: the pool.
        column: numbers, or lists of numbers (one per turn).

    Returns:
        ``np.ndarray`` of shape ``(len(ds),)``.

    Raises:
        SelectionError: ``column`` missing, not numbers, a null, NaN/inf or an empty list
            (names the column and row), or a column of vectors (fixed-size lists, or lists of
            the same length >= :data:`VECTOR_LENGTH` in every row: an embedding is not a
            score, and its sum ranks nothing).

    Example:
        >>> from datasets import Dataset
        >>> row_sums(Dataset.from_dict({"c": [[1.0, 2.5], [3.0]]}), "c").tolist()
        [3.5, 3.0]
    """
    arr = column_of(ds, column) if column in ds.column_names else None
    if arr is not None and (pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type)
                            or pa.types.is_fixed_size_list(arr.type)) and len(arr):
        lengths = pc.list_value_length(arr).to_numpy(zero_copy_only=False)
        if pa.types.is_fixed_size_list(arr.type) or (
                lengths.min() == lengths.max() and lengths.min() >= VECTOR_LENGTH):
            raise SelectionError(
                f"Column {column!r} holds vectors (every row a list of {int(lengths.max())} "
                f"numbers, e.g. an embedding), not a score: its sum ranks nothing. Rank by a "
                f"score column (one number, or one per turn), e.g. topk:column=quality.")
    values = turn_values(ds, column)  # checks the column, nulls, NaN/inf; names the row
    arr = column_of(ds, column)
    if not (pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type)
            or pa.types.is_fixed_size_list(arr.type)):
        return values
    lengths = pc.list_value_length(arr).to_numpy(zero_copy_only=False).astype(np.int64)
    if (lengths == 0).any():
        row = int(np.flatnonzero(lengths == 0)[0])
        raise SelectionError(f"Column {column!r}, row {row}: empty list (no per-turn values).")
    parents = np.repeat(np.arange(len(lengths)), lengths)
    return np.bincount(parents, weights=values, minlength=len(lengths)).astype(np.float64)


def select_topk(
    ds: Dataset,
    budget: int,
    *,
    column: str | None = None,
    descending: bool = True,
    progress: bool = True,
    return_stats: bool = False,
) -> Dataset | tuple[Dataset, SelectionStats]:
    """Select the ``budget`` rows with the highest (``descending``) or lowest values of ``column``.

    Rows are ordered by the per-row value (per-turn lists summed), ties by ascending row
    index, and the first ``budget`` are kept.

    Args:
        ds: the pool; every column is kept in the output.
        budget: rows to select (>= 1); with fewer rows, all are returned with a warning.
        column: numbers, or per-turn lists of numbers (summed per row); may be negative.
            Required.
        descending: highest first (default) or lowest first.
        progress: accepted for a uniform interface (one vectorised sort: no bar is shown).
        return_stats: also return a :class:`~deita_hf.selection.result.SelectionStats`.

    Returns:
        The kept rows in order with ``selection_score`` (the per-row value) and
        ``selection_rank``; with ``return_stats=True``, ``(dataset, stats)``.

    Raises:
        ConfigError: no ``column``, a bad budget, ``descending`` not a bool, or an added
            column already there.
        SelectionError: ``column`` missing; a null, NaN/inf, non-numeric value or empty list
            (names the column and row).

    Example:
        >>> from datasets import Dataset
        >>> ds = Dataset.from_dict({"n": [2, 1, 2]})
        >>> select_topk(ds, 3, column="n", descending=False, progress=False)["n"][:]
        [1, 2, 2]
    """
    start = time.perf_counter()
    if column is None:
        raise ConfigError("topk needs column=NAME, the score column to rank by (Python: "
                          "select(ds, n, 'topk', column='quality'); spec: 'topk:column=quality').")
    budget = check_budget(budget)
    if not isinstance(descending, (bool, np.bool_)):
        raise ConfigError(f"descending must be True or False, got {descending!r}.")
    check_free_columns(ds, (RANK_COLUMN, SCORE_COLUMN), read=(column,))
    scores = row_sums(ds, column)
    order = np.argsort(-scores if descending else scores, kind="stable")  # ties: lower index
    rows = order[:budget]
    warn_short(len(rows), budget, "are in the pool")
    return finish(
        ds, rows, strategy="topk", budget=budget, start=start,
        added={SCORE_COLUMN: scores[rows].tolist(), RANK_COLUMN: list(range(len(rows)))},
        params={"descending": bool(descending)}, columns={"score_column": column},
        pool_scores=scores, return_stats=return_stats,
    )
