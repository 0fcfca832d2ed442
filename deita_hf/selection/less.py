"""``select_less``: LESS's targeted selection, the rows whose gradient features point most
like a target set's (Xia et al., 2024; ``less/data_selection/matching.py``).

With ``f(z)`` a pool row's feature (``less_grad``: Adam-preconditioned, projected,
L2-normalised LoRA gradients of the warm-up checkpoints, each scaled by √weight; see
:mod:`deita_hf.scoring.less`) and ``f(z')`` a target row's (SGD gradients, same warm-up,
LoRA and projection), the score of ``z`` is

    ``score(z) = max over target tasks T of  (1/|T|) Σ_{z' ∈ T} cos(f(z), f(z'))``

i.e. LESS's influence ``Σ_c w_c ⟨Γ_c(z), ∇ℓ_c(z')⟩`` of normalised features, averaged over each
task's examples and maximised over tasks (``.mean(-1).max(-1)`` in ``matching.py``). Tasks are
the values of the target's ``task_column`` (default ``task``) when it has one, else the target
is one task. The ``budget`` rows of highest score are kept, ties by ascending row index.
Cosines are computed in float64 from the stored features.

The target is a ``Dataset`` or a path (any file or folder :func:`deita_hf.data.loading.load_pool`
reads) that holds features: ``deita-hf select --strategy less:target=PATH --scorer less:MODEL``
computes them first for a target of plain rows. Pool and target must carry the same feature id
(``less_grad_id``: the warm-up checkpoints and projection that made them); other ids, or
features of other dimensions, are an error.

Example:
    >>> from datasets import Dataset
    >>> pool = Dataset.from_dict({"less_grad": [[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]],
    ...                           "less_grad_id": ["adam:x"] * 3})
    >>> target = Dataset.from_dict({"less_grad": [[0.0, 1.0]], "less_grad_id": ["sgd:x"]})
    >>> out = select_less(pool, 2, target=target)
    >>> out["selection_rank"][:], [round(s, 2) for s in out["selection_score"][:]]
    ([0, 1], [1.0, 0.8])
"""

from __future__ import annotations

import time
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from deita_hf.errors import ConfigError, SelectionError
from deita_hf.selection.common import (
    RANK_COLUMN,
    SCORE_COLUMN,
    check_block_size,
    check_budget,
    check_free_columns,
    load_target,
    finish,
    warn_short,
)
from deita_hf.selection.vectors import EmbeddingReader

if TYPE_CHECKING:
    from datasets import Dataset

    from deita_hf.selection.result import SelectionStats

__all__ = ["TASK_COLUMN", "feature_id", "less_scores", "select_less", "task_means"]

#: the column naming each kept row's best-matching target task (with several tasks)
TASK_COLUMN = "less_task"


def feature_id(ds: Dataset, id_column: str, what: str) -> tuple[str, str]:
    """The ``(gradient kind, id)`` that every row of ``ds`` carries in ``id_column``.

    Args:
        ds: the pool or the target.
        id_column: the column of ``"kind:id"`` strings.
        what: ``"pool"`` or ``"target ..."``, for messages.

    Returns:
        ``(kind, id)``, e.g. ``("adam", "1f0c...")``.

    Raises:
        SelectionError: the column is missing, empty, malformed or holds several ids (names the
            first row that differs).
    """
    if id_column not in ds.column_names:
        raise SelectionError(
            f"The {what} has no {id_column!r} column, so its LESS features cannot be checked "
            f"against the other side's. Compute them with the less scorer "
            f"(--scorer less:MODEL, or LessGradientScorer), which writes it.")
    ids = ds.data.column(id_column).to_pylist()
    if not ids:
        raise SelectionError(f"The {what} has no rows.")
    first = ids[0]
    for row, value in enumerate(ids):
        if value != first or not isinstance(value, str) or ":" not in value:
            raise SelectionError(
                f"Column {id_column!r} of the {what}, row {row}: feature id {value!r} differs "
                f"from row 0's {first!r}; every row's features must come from one warm-up and "
                f"projection.")
    kind, _, fid = first.partition(":")
    return kind, fid


def task_means(target: Dataset, column: str, task_column: str | None) -> tuple[np.ndarray, list]:
    """The mean target feature of each task and the task names.

    Args:
        target: the target rows.
        column: their feature column.
        task_column: the task column (None or absent: one task).

    Returns:
        ``(means, names)``: float64 ``(tasks, dim)`` means of the unit features, and the task
        names in order of first appearance (``[None]`` for one task).
    """
    reader = EmbeddingReader(target, column)
    feats = reader.unit_rows(np.arange(len(target)))
    if task_column is None or task_column not in target.column_names:
        return feats.mean(axis=0, keepdims=True), [None]
    tasks = target.data.column(task_column).to_pylist()
    names = list(dict.fromkeys(tasks))
    labels = np.array([names.index(t) for t in tasks])
    return np.stack([feats[labels == k].mean(axis=0) for k in range(len(names))]), names


def less_scores(ds: Dataset, column: str, means: np.ndarray, *, block_size: int = 8192,
                progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Every pool row's score (max over tasks of the mean cosine) and best task index.

    Args:
        ds: the pool.
        column: its feature column.
        means: :func:`task_means` output.
        block_size: rows read at a time.
        progress: show a progress bar.

    Returns:
        ``(scores, best)``: float64 scores and the index of each row's best task.

    Raises:
        SelectionError: missing column, null/NaN/zero features, or a dimension other than the
            target's (names the column and row).
    """
    from tqdm.auto import tqdm

    reader = EmbeddingReader(ds, column)
    if len(ds) and reader.dim != means.shape[1]:
        raise SelectionError(
            f"Column {column!r}: pool features have {reader.dim} values per row but the "
            f"target's have {means.shape[1]}; both must come from the same projection and "
            f"checkpoints.")
    scores = np.empty(len(ds))
    best = np.empty(len(ds), dtype=np.int64)
    for lo in tqdm(range(0, len(ds), block_size), desc="LESS scores", disable=not progress):
        rows = np.arange(lo, min(len(ds), lo + block_size))
        sims = reader.unit_rows(rows) @ means.T
        best[rows] = sims.argmax(axis=1)
        scores[rows] = sims[np.arange(len(rows)), best[rows]]
    return scores, best


def select_less(
    ds: Dataset,
    budget: int,
    *,
    target: Any,
    features_column: str = "less_grad",
    target_column: str | None = None,
    id_column: str | None = "less_grad_id",
    task_column: str | None = "task",
    block_size: int | None = None,
    progress: bool = True,
    return_stats: bool = False,
) -> Dataset | tuple[Dataset, SelectionStats]:
    """Keep the ``budget`` rows with the highest LESS score against ``target``.

    Args:
        ds: the pool, with ``features_column`` and ``id_column`` (every column is kept).
        budget: rows to select (>= 1; fewer rows: all, with a warning).
        target: the target rows with features: a ``Dataset`` or a path.
        features_column: the pool's feature column.
        target_column: the target's feature column (default: ``features_column``).
        id_column: the feature-id column of both (None: features of unknown origin, not
            checked; with a warning).
        task_column: the target's task column (absent or None: one task).
        block_size: pool rows per block (default 8192).
        progress: show a progress bar.
        return_stats: also return a :class:`~deita_hf.selection.result.SelectionStats`.

    Returns:
        The kept rows in order with ``selection_score`` and ``selection_rank`` (and
        ``less_task`` with several tasks).

    Raises:
        ConfigError: a bad budget or target argument.
        SelectionError: missing columns, features of different ids or dimensions, bad values
            (names the column and row).
    """
    start = time.perf_counter()
    budget = check_budget(budget)
    block = check_block_size(block_size)
    target_ds, source = load_target(target, "LESS features")
    target_column = target_column or features_column
    for frame, col, what in ((ds, features_column, "pool"), (target_ds, target_column, "target")):
        if col not in frame.column_names:
            raise SelectionError(
                f"The {what} has no {col!r} column of LESS features (columns: "
                f"{sorted(frame.column_names)}). Compute them with --scorer less:MODEL (for the "
                f"pool) or LessGradientScorer.target_features (for the target).")
    if id_column is None:
        warnings.warn("select_less: id_column=None, so nothing checks that the pool's and the "
                      "target's features come from the same warm-up and projection.",
                      stacklevel=2)
        (pool_kind, pool_id), (target_kind, target_id) = ("adam", None), ("sgd", None)
    else:
        pool_kind, pool_id = feature_id(ds, id_column, "pool")
        target_kind, target_id = feature_id(target_ds, id_column, f"target {source!r}")
    if pool_id != target_id:
        raise SelectionError(
            f"The pool's LESS features (id {pool_id}) and the target's (id {target_id}) come "
            f"from different warm-ups, LoRA or projections (a projection drawn on CUDA is not "
            f"the CPU's), so their cosines mean nothing. Compute the target's with the same "
            f"less scorer (same model, warm-up and projection settings, same device type) that "
            f"made the pool's.")
    if (pool_kind, target_kind) != ("adam", "sgd"):
        warnings.warn(f"LESS compares Adam-preconditioned pool features with SGD target "
                      f"features; here the pool's are {pool_kind!r} and the target's "
                      f"{target_kind!r}.", stacklevel=2)
    use_tasks = task_column if task_column and task_column in target_ds.column_names else None
    added = [RANK_COLUMN, SCORE_COLUMN] + ([TASK_COLUMN] if use_tasks else [])
    check_free_columns(ds, added, read=())
    means, tasks = task_means(target_ds, target_column, use_tasks)
    scores, best = less_scores(ds, features_column, means, block_size=block, progress=progress)
    order = np.argsort(-scores, kind="stable")  # ties: lower row index first
    rows = order[:budget]
    warn_short(len(rows), budget, "are in the pool")
    extra = {SCORE_COLUMN: scores[rows].tolist(), RANK_COLUMN: list(range(len(rows)))}
    if use_tasks:
        extra[TASK_COLUMN] = [tasks[k] for k in best[rows]]
    return finish(
        ds, rows, strategy="less", budget=budget, start=start, added=extra,
        params={"target": source, "target_rows": len(target_ds), "tasks": len(tasks),
                "features_id": pool_id, "pool_gradient": pool_kind,
                "target_gradient": target_kind},
        columns={"features_column": features_column, "target_column": target_column,
                 "id_column": id_column, "task_column": use_tasks},
        pool_scores=scores, return_stats=return_stats,
    )
