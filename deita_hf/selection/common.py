"""The contract every selection strategy follows, as the helpers they share.

The budget is an int >= 1 and an upper bound (fewer rows: all of them, with a warning); the
output is the kept rows in selection order with every original column plus ``selection_rank``
(0..kept-1) and, where the strategy orders by a score, ``selection_score``;
``return_stats=True`` adds a :class:`~deita_hf.selection.result.SelectionStats`. Each
function is wrapped by one class of :mod:`deita_hf.selection.strategies` (the columns it reads
and adds declared; its ``select`` returns a
:class:`~deita_hf.selection.result.SelectionResult`). Argument
errors are :class:`~deita_hf.errors.ConfigError`, data errors
:class:`~deita_hf.errors.SelectionError` (missing columns, bad values: the message names the
column and row).

Example:
    >>> check_budget(3), check_block_size(None)
    (3, 8192)
"""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from datasets import Dataset

from deita_hf.errors import ConfigError
from deita_hf.selection.result import SelectionStats
from deita_hf.selection.score_columns import pool_scores as deita_scores

__all__ = [
    "RANK_COLUMN", "SCORE_COLUMN", "check_block_size", "check_budget", "check_choice",
    "check_free_columns", "finish", "highest_precision", "load_target", "resolve_scores",
    "scores_and_free_columns", "warn_short",
]

#: columns every strategy adds (the score one only where the strategy orders by a score)
RANK_COLUMN, SCORE_COLUMN = "selection_rank", "selection_score"


def check_budget(budget: Any) -> int:
    """The budget as an int >= 1, else :class:`ConfigError`."""
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)):
        raise ConfigError(f"budget must be an int (rows to select), got {budget!r}.")
    if budget <= 0:
        raise ConfigError(f"budget must be >= 1 (rows to select), got {budget}.")
    return int(budget)


def check_block_size(block_size: Any) -> int:
    """Rows per block when reading the pool (``None``: 8192)."""
    if block_size is None:
        return 8192
    if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)) \
            or block_size < 1:
        raise ConfigError(f"block_size must be a positive int or None, got {block_size!r}.")
    return int(block_size)


def check_choice(name: str, value: Any, accepted: Sequence[str]) -> str:
    """``value`` if it is one of ``accepted``, else :class:`ConfigError` listing them."""
    if value not in accepted:
        raise ConfigError(f"{name} must be one of {', '.join(map(repr, accepted))}; "
                          f"got {value!r}.")
    return value


def check_free_columns(ds: Dataset, added: Sequence[str], read: Sequence[str | None]) -> None:
    """Refuse to overwrite a column the selection adds, unless the selection reads it."""
    for col in added:
        if col in ds.column_names and col not in read:
            raise ConfigError(
                f"The dataset already has a {col!r} column (from an earlier selection?), which "
                f"this selection adds. Remove or rename it first: ds.remove_columns([{col!r}])."
            )


def resolve_scores(
    ds: Dataset,
    *,
    score_column: str | None = None,
    complexity_column: str | None = None,
    quality_column: str | None = None,
) -> tuple[np.ndarray | None, dict[str, str | None]]:
    """The score of every row: ``score_column`` (a ready number per row), or the DEITA score
    Σ complexity × quality of ``complexity_column`` and ``quality_column``, or ``None``.

    Returns:
        ``(scores or None, {"score_column": ..., "complexity_column": ..., "quality_column":
        ...})``.

    Raises:
        ConfigError: both kinds given, or only one of complexity/quality.
        SelectionError: a missing column or a bad value (names the column and row).
    """
    if score_column is not None and (complexity_column or quality_column):
        raise ConfigError("Give either score_column or complexity_column and quality_column, "
                          "not both.")
    if (complexity_column is None) != (quality_column is None):
        raise ConfigError("complexity_column and quality_column go together (the DEITA score "
                          "is their product); give both, or score_column.")
    cols = {"score_column": score_column, "complexity_column": complexity_column,
            "quality_column": quality_column}
    if score_column is None and complexity_column is None:
        return None, cols
    kw = {} if score_column else {"complexity_column": complexity_column,
                                  "quality_column": quality_column}
    return deita_scores(ds, score_column=score_column, **kw), cols


def scores_and_free_columns(
    ds: Dataset,
    added: Sequence[str],
    *,
    score_column: str | None,
    complexity_column: str | None,
    quality_column: str | None,
) -> tuple[np.ndarray | None, dict[str, str | None]]:
    """:func:`resolve_scores`, then :func:`check_free_columns` for ``added`` (plus
    ``selection_score`` when there is a score), allowing the score columns read."""
    scores, columns = resolve_scores(ds, score_column=score_column,
                                     complexity_column=complexity_column,
                                     quality_column=quality_column)
    added = [*added, *([SCORE_COLUMN] if scores is not None else [])]
    check_free_columns(ds, added, read=list(columns.values()))
    return scores, columns


@contextlib.contextmanager
def highest_precision() -> Iterator[None]:
    """Float32 matrix products without TF32 (the float32 error bounds assume true float32)."""
    import torch

    precision = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(precision)


def warn_short(kept: int, budget: int, why: str, hint: str = "") -> None:
    """Warn that ``kept < budget`` rows are returned (``why``: the reason, as a phrase;
    ``hint``: a sentence added at the end)."""
    if kept < budget:
        warnings.warn(f"Only {kept} rows {why}, fewer than the budget of {budget}; returning "
                      f"all {kept}.{' ' + hint if hint else ''}", stacklevel=3)


def finish(
    ds: Dataset,
    rows: np.ndarray,
    *,
    strategy: str,
    budget: int,
    start: float,
    added: dict[str, list],
    params: dict[str, Any],
    columns: dict[str, str | None],
    pool_scores: np.ndarray | None = None,
    examined: int | None = None,
    device: str = "cpu",
    max_similarity: list[float | None] | None = None,
    return_stats: bool = False,
) -> Dataset | tuple[Dataset, SelectionStats]:
    """Build the output (rows of ``ds`` in order, every column, then ``added`` columns, each
    replacing a same-named one) and, with ``return_stats``, the :class:`SelectionStats`."""
    rows = np.asarray(rows, dtype=np.int64)
    out = ds.select(rows.tolist())
    drop = [c for c in added if c in out.column_names]
    if drop:
        out = out.remove_columns(drop)
    if out._indices is not None:
        out = out.flatten_indices(keep_in_memory=True)
    for name, values in added.items():
        out = out.add_column(name, values)
    if not return_stats:
        return out
    stats = SelectionStats(
        strategy=strategy, budget=budget, pool_size=len(ds), kept=len(rows),
        examined=len(ds) if examined is None else int(examined),
        seconds=time.perf_counter() - start, params=params, columns=columns, device=device,
        max_similarity=list(max_similarity or []), rows=rows, pool_scores=pool_scores,
    )
    return out, stats


def load_target(target: Any, what: str) -> tuple[Dataset, str]:
    """The target rows of a target-based strategy (``less``, ``rds``) and where they came from.

    Args:
        target: a ``Dataset`` or a path to rows in any format :func:`load_pool` reads.
        what: what the rows must hold, for the error (e.g. ``"LESS features"``).

    Returns:
        ``(rows, source)``; ``source`` is ``"<Dataset>"`` or the path.

    Raises:
        ConfigError: ``target`` is neither.
    """
    if isinstance(target, Dataset):
        return target, "<Dataset>"
    if isinstance(target, (str, os.PathLike)):
        from deita_hf.data.loading import load_pool

        return load_pool(target), str(target)
    raise ConfigError(f"target must be a datasets.Dataset or a path to rows with {what}, "
                      f"got {type(target).__name__}.")
