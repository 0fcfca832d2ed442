"""``select_deita``: DEITA's score-first, diversity-aware selection on a ``datasets.Dataset``.

Example:
    >>> import deita_hf
    >>> from datasets import Dataset
    >>> ds = Dataset.from_dict({
    ...     "text": ["a", "a again", "b"],
    ...     "complexity": [3.0, 3.0, 1.0], "quality": [2.0, 2.0, 2.0],
    ...     "embedding": [[1.0, 0.0], [1.0, 0.001], [0.0, 1.0]]})
    >>> out = ds.select_deita(2, progress=False)     # "a again" is a near-duplicate of "a"
    >>> list(out["text"]), list(out["deita_rank"])
    (['a', 'b'], [0, 1])
"""

from __future__ import annotations

import math
import numbers
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from deita_hf.errors import ConfigError
from deita_hf.runtime import torch_device
from deita_hf.selection.common import (
    check_budget,
    finish,
    highest_precision,
    warn_short,
)
from deita_hf.selection.greedy import greedy_select
from deita_hf.selection.result import SelectionStats
from deita_hf.selection.score_columns import pool_scores, require_columns
from deita_hf.selection.vectors import EmbeddingReader

if TYPE_CHECKING:
    from datasets import Dataset

__all__ = ["RANK_COLUMN", "SCORE_COLUMN", "SelectionStats", "check_threshold", "select_deita"]

#: columns added to the selected rows
SCORE_COLUMN, RANK_COLUMN = "deita_score", "deita_rank"


def check_threshold(threshold: Any) -> float:
    """A cosine-similarity threshold: a real number in [-1, 1] (numpy scalars accepted,
    booleans refused); returns it as a float.

    Example:
        >>> check_threshold(np.float32(0.5))
        0.5
    """
    if isinstance(threshold, (bool, np.bool_)) or not isinstance(threshold, numbers.Real) \
            or not math.isfinite(float(threshold)) or not -1.0 <= float(threshold) <= 1.0:
        raise ConfigError(
            f"threshold must be a finite number in [-1, 1] (a cosine similarity), got "
            f"{threshold!r}. At 1.0 nothing is dropped; the paper uses 0.9."
        )
    return float(threshold)


def _check_added_columns(ds: Dataset, score_column: str | None) -> None:
    for col in (SCORE_COLUMN, RANK_COLUMN):
        if col in ds.column_names and score_column != SCORE_COLUMN:
            raise ConfigError(
                f"The dataset already has a {col!r} column (from an earlier selection?), which "
                f"select_deita would overwrite. Pass score_column='deita_score' to re-select on "
                f"those scores (both columns are then recomputed), or "
                f"ds.remove_columns([{col!r}]) / ds.rename_column({col!r}, ...) first."
            )


def select_deita(
    ds: Dataset,
    budget: int,
    *,
    threshold: float = 0.9,
    embedding_column: str = "embedding",
    complexity_column: str = "complexity",
    quality_column: str = "quality",
    score_column: str | None = None,
    device: str | torch.device | None = None,
    block_size: int | None = None,
    progress: bool = True,
    return_stats: bool = False,
    decontaminate: Any = None,
) -> Dataset | tuple[Dataset, SelectionStats]:
    """Select ``budget`` high-scoring, mutually dissimilar rows (DEITA, exact).

    Rows are ordered by descending DEITA score (Σ over turns of complexity × quality, or
    ``score_column``); rows of equal score are walked by ascending row index (a stable sort).
    Walking that order, a row is kept iff its cosine similarity to every row kept so far is
    <= ``threshold``; the walk stops once ``budget`` rows are kept. The result is that of the
    paper and (for untied scores, see the tie rule below) of the original code with batch
    size 1, computed in blocks (see :mod:`deita_hf.selection.greedy`), with decisions within
    float32 error of the threshold recomputed in float64. Embeddings are read from the Arrow table only for the rows walked,
    a block at a time.

    Tie rule: the original code sorts with pandas' ``sort_values`` (not a stable sort), so its
    order among rows of equal score is unspecified; the result equals the original's whenever
    no two rows share a score, and with ties it is the one given by ascending row index.

    Args:
        ds: the pool; every column is kept in the output.
        budget: rows to select (>= 1); an upper bound: with fewer rows or survivors, all
            survivors are returned with a warning.
        threshold: the largest cosine similarity allowed to an already kept row (kept if equal).
        embedding_column: one list of numbers per row (any dimension, all rows equal).
        complexity_column, quality_column: numbers, or per-turn lists of numbers.
        score_column: a ready score (one number per row); when set, complexity and quality are
            not read. Ready scores may be negative but must be finite.
        device: torch device for the similarity products (default: CUDA if available, else CPU).
        block_size: candidates checked per matrix product (at most 4096); ``None`` (default)
            adapts it to the kept-set size and survival rate. The result never depends on it.
        progress: show a progress bar over the rows walked.
        return_stats: also return a :class:`SelectionStats`.
        decontaminate: first drop the rows whose user turns match benchmark prompts
            (``"mt_bench"``, ``"mt_bench,alpaca_eval=PATH,FILE"`` or a
            :class:`~deita_hf.selection.decontamination.Decontaminator`), so the budget is filled
            from the rows left; the stats then carry the report (``stats.decontamination``).

    Returns:
        The kept rows in selection order with the added columns ``deita_score`` (float) and
        ``deita_rank`` (0..kept-1); with ``return_stats=True``, ``(dataset, stats)``. If fewer
        than ``budget`` rows survive the similarity filter, all survivors are returned with a
        warning giving the count.

    Raises:
        ValueError: bad budget/threshold; a missing column; null/NaN/inf/negative scores;
            per-turn lists of different lengths; null, empty, ragged, all-zero or NaN/inf
            embeddings (rows walked are value-checked). Messages name the column and row.

    Example:
        >>> from datasets import Dataset
        >>> ds = Dataset.from_dict({"s": [1.0, 2.0], "embedding": [[1.0, 0.0], [0.0, 1.0]]})
        >>> select_deita(ds, 1, score_column="s", progress=False)["deita_score"][:]
        [2.0]
    """
    if decontaminate is not None:
        from deita_hf.selection.decontamination import select_decontaminated

        return select_decontaminated(
            select_deita, ds, budget, decontaminate, threshold=threshold,
            embedding_column=embedding_column, complexity_column=complexity_column,
            quality_column=quality_column, score_column=score_column, device=device,
            block_size=block_size, progress=progress, return_stats=return_stats)
    start = time.perf_counter()
    budget = check_budget(budget)
    check_threshold(threshold)
    require_columns(ds, {"embedding_column": embedding_column})
    _check_added_columns(ds, score_column)
    if block_size is not None and (isinstance(block_size, bool) or int(block_size) < 1):
        raise ConfigError(
            f"block_size must be a positive int or None (adaptive), got {block_size!r}."
        )
    scores = pool_scores(
        ds,
        complexity_column=complexity_column,
        quality_column=quality_column,
        score_column=score_column,
    )
    reader = EmbeddingReader(ds, embedding_column)
    order = np.argsort(-scores, kind="stable")  # descending score, ties: lower index first
    dev = torch_device(device)
    with highest_precision():  # no TF32: the float32 error bound must hold
        result = greedy_select(
            order,
            reader,
            min(budget, len(ds)),
            float(threshold),
            device=dev,
            block_size=None if block_size is None else int(block_size),
            progress=progress,
        )
    rows = result.rows
    warn_short(len(rows), budget, f"survive the similarity filter (threshold {threshold})",
               hint="Raise the threshold to allow more similar rows, or lower the budget.")
    # a same-named score/rank column is replaced (only with score_column == "deita_score")
    return finish(
        ds, rows, strategy="deita", budget=budget, start=start,
        added={SCORE_COLUMN: scores[rows].astype(np.float64).tolist(),
               RANK_COLUMN: list(range(len(rows)))},
        params={"threshold": float(threshold)},
        columns={
            "embedding_column": embedding_column,
            "complexity_column": None if score_column else complexity_column,
            "quality_column": None if score_column else quality_column,
            "score_column": score_column,
        },
        pool_scores=scores, examined=int(result.examined), device=str(dev),
        max_similarity=result.max_similarity, return_stats=return_stats,
    )
