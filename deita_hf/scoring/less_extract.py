"""LESS feature extraction over a whole dataset: as a ``Dataset.map``, or over several
processes / GPUs with ``accelerate``.

:func:`extract_features` gives every process of ``accelerate launch`` a contiguous, balanced
share of the rows (``PartialState.split_between_processes``); each computes its rows'
features on its own device, and ``accelerate.utils.gather_object`` hands every process all of
them, put back in row order. The result equals a one-process run up to float rounding (the
same rows meet in other mini-batches only when the shares cut the length-sorted order).
LESS itself runs on one GPU.

Example:
    >>> from deita_hf.scoring.less_extract import shares
    >>> shares(10, 3)
    [(0, 4), (4, 7), (7, 10)]

Under ``accelerate launch --num_processes 8 extract.py``::

    scorer = LessGradientScorer("/models/llama", warmup_dir="out/.less/warmup-…")
    feats = extract_features(pool, scorer.prepare())      # (rows, dim × checkpoints) on every rank
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from deita_hf.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np
    from datasets import Dataset

__all__ = ["extract_features", "map_features", "shares"]


def shares(n: int, processes: int) -> list[tuple[int, int]]:
    """The contiguous ``[start, stop)`` row range of each process (the first ``n % processes``
    get one row more), as ``split_between_processes`` divides a list.

    Args:
        n: rows.
        processes: the number of processes.

    Returns:
        One ``(start, stop)`` per process, in process order.
    """
    base, extra = divmod(n, processes)
    out, start = [], 0
    for p in range(processes):
        stop = start + base + (1 if p < extra else 0)
        out.append((start, stop))
        start = stop
    return out


def map_features(ds: Dataset, scorer: Any, *, progress: bool = True,
                 batch_size: int = 256) -> Dataset:
    """``ds`` with the scorer's ``less_grad`` and ``less_grad_id`` columns (one process).

    Args:
        ds: the rows.
        scorer: a prepared :class:`~deita_hf.scoring.less.LessGradientScorer`.
        progress: show a progress bar.
        batch_size: rows per ``map`` batch.

    Returns:
        ``ds`` with the two columns.

    Raises:
        ConfigError: ``ds`` already has one of the columns.
    """
    from datasets.utils.logging import is_progress_bar_enabled

    from deita_hf.scoring.less import FEATURES_COLUMN, ID_COLUMN

    present = [c for c in (FEATURES_COLUMN, ID_COLUMN) if c in ds.column_names]
    if present:
        raise ConfigError(f"The dataset already has a {present[0]!r} column; remove it "
                          f"(ds.remove_columns) to compute the LESS features again.")
    show = progress and is_progress_bar_enabled()
    return ds.map(scorer, batched=True, with_indices=True, batch_size=batch_size,
                  desc=f"LESS {scorer.gradient} features" if show else None)


def extract_features(ds: Dataset, scorer: Any, *, state: Any = None, progress: bool = True,
                     batch_size: int = 256) -> np.ndarray:
    """The LESS features of every row of ``ds``, computed over all ``accelerate`` processes.

    Args:
        ds: the rows.
        scorer: a prepared :class:`~deita_hf.scoring.less.LessGradientScorer` (its
            ``gradient`` decides Adam or SGD features).
        state: an ``accelerate.PartialState`` (default: this process's; one process without
            a launcher).
        progress: show a progress bar on the main process.
        batch_size: rows handed to the scorer at a time.

    Returns:
        ``(len(ds), dim × checkpoints)`` float32, in row order, on every process.
    """
    import numpy as np
    from tqdm.auto import tqdm

    from deita_hf.runtime import dist_state

    state = state or dist_state(scorer.device)
    if scorer.device is None and state.num_processes > 1:
        scorer.device = str(state.device)
    start, stop = shares(len(ds), state.num_processes)[state.process_index]
    parts = []
    with tqdm(total=stop - start, desc=f"LESS {scorer.gradient} features [rank "
              f"{state.process_index}]", unit="row",
              disable=not (progress and state.is_main_process)) as bar:
        for lo in range(start, stop, batch_size):
            hi = min(stop, lo + batch_size)
            parts.append(scorer.row_features(ds[lo:hi], list(range(lo, hi))))
            bar.update(hi - lo)
    local = np.concatenate(parts) if parts else None
    if state.num_processes == 1:
        return local if local is not None else np.zeros((0, 0), dtype=np.float32)
    from accelerate.utils import gather_object

    gathered = gather_object([(start, local)])
    pieces = [arr for _, arr in sorted(gathered, key=lambda item: item[0]) if arr is not None]
    return np.concatenate(pieces)
