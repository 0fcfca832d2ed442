"""``select_random``: a seeded uniform sample, the baseline of every data-selection study.

The sample is exactly ``numpy.random.default_rng(seed).permutation(len(ds))[:budget]``, in
that order: the same seed gives the same rows on every machine and numpy version that keeps
``default_rng``'s stream (PCG64, guaranteed stable by NumPy's policy for ``permutation``).

Example:
    >>> from datasets import Dataset
    >>> ds = Dataset.from_dict({"x": list(range(10))})
    >>> select_random(ds, 3, seed=1)["x"][:]
    [8, 4, 7]
"""

from __future__ import annotations

import time

import numpy as np
from datasets import Dataset

from deita_hf.errors import ConfigError
from deita_hf.selection.common import (
    RANK_COLUMN,
    check_budget,
    check_free_columns,
    finish,
    warn_short,
)
from deita_hf.selection.result import SelectionStats

__all__ = ["select_random"]


def select_random(
    ds: Dataset, budget: int, *, seed: int = 42, return_stats: bool = False
) -> Dataset | tuple[Dataset, SelectionStats]:
    """Select ``budget`` rows uniformly at random without replacement.

    Args:
        ds: the pool; every column is kept in the output.
        budget: rows to select (>= 1); with fewer rows, all are returned (shuffled) with a
            warning.
        seed: the seed of ``numpy.random.default_rng``; rows are
            ``default_rng(seed).permutation(len(ds))[:budget]`` in that order.
        return_stats: also return a :class:`~deita_hf.selection.result.SelectionStats`.

    Returns:
        The sampled rows with ``selection_rank`` (0..kept-1); with ``return_stats=True``,
        ``(dataset, stats)``.

    Raises:
        ConfigError: a bad budget, a seed that is not a non-negative int, or a
            ``selection_rank`` column already there.

    Example:
        >>> from datasets import Dataset
        >>> out, stats = select_random(Dataset.from_dict({"x": [5, 6]}), 1, seed=0,
        ...                            return_stats=True)
        >>> stats.strategy, stats.params
        ('random', {'seed': 0})
    """
    start = time.perf_counter()
    budget = check_budget(budget)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative int, got {seed!r}.")
    check_free_columns(ds, (RANK_COLUMN,), read=())
    rows = np.random.default_rng(int(seed)).permutation(len(ds))[:budget]
    warn_short(len(rows), budget, "are in the pool")
    return finish(
        ds, rows, strategy="random", budget=budget, start=start,
        added={RANK_COLUMN: list(range(len(rows)))}, params={"seed": int(seed)}, columns={},
        examined=len(ds), return_stats=return_stats,
    )
