"""``select_rds``: RDS+ (Ivison et al., 2025, *Large-Scale Data Selection for Instruction
Tuning*), the pool rows most similar to a target set, round-robin over the target's tasks.

As the authors' code runs it (github.com/hamishivi/automated-instruction-selection @
``df71a044d567976e37bebeae53cd59f992b1ea09``: ``minimal_multitask/compute_influence_cosinesim.py``
then ``get_top_aggregated_influences.py --selection_method max --aggregation_method
round_robin``), with ``e(z)`` the unit embedding of a row (:class:`~deita_hf.embedding.rds.
RdsEmbedder`: the position-weighted mean of the base model's last hidden states):

1. every pool row ``z`` gets, for every target task ``T``, the score
   ``s_T(z) = max over z' in T of cos(e(z), e(z'))`` (``selection_method max``);
2. each task's rows are sorted by ``s_T`` descending (a stable sort: ties by ascending row);
3. round-robin over the tasks, in their order: each task in turn takes its next row; a row that
   an earlier turn already took is not added again (the turn is spent, as in the authors'
   loop), and its score becomes the lower of the two (``min(score, old)``); this repeats until
   ``budget`` distinct rows are taken.

That is ``aggregation="max"``, the default when the target has several tasks (the values of
its ``task_column``, default ``task``, in order of first appearance). For one target task (no
such column) the authors select with ``get_top_influences.py --selection_method max`` instead,
the default then (``aggregation="round_robin"``): the same round-robin with every target
example as its own "task" (each example's rows sorted by their cosine to it), and a row taken
again keeps its first score (the authors drop the duplicate's score).

The kept rows come in the order they were first taken, with ``selection_score`` (the authors'
saved ``influence_score``) and, with several tasks, ``rds_task`` (the task of the turn that
first took it).

Streaming and exact at any pool size: no task takes more than ``budget`` rows before the budget
is met (after ``r`` rounds the first task alone has taken ``r`` distinct rows), so the pool is
read once, a block at a time, as float64 unit vectors (:class:`~deita_hf.selection.vectors.
EmbeddingReader`), and each task keeps only its ``budget`` best rows (ties by ascending row):
memory is ``budget × tasks`` plus one block plus one float64 score per pool row, whatever the
pool's size; the cosines are float64 products of the stored vectors.

Example:
    >>> from datasets import Dataset
    >>> pool = Dataset.from_dict({"embedding": [[1.0, 0.0], [0.6, 0.8], [0.0, 1.0], [0.8, 0.6]]})
    >>> target = Dataset.from_dict({"embedding": [[1.0, 0.0], [0.0, 1.0]], "task": ["a", "b"]})
    >>> out = select_rds(pool, 3, target=target, progress=False)
    >>> out["selection_rank"][:], out["rds_task"][:]
    ([0, 1, 2], ['a', 'b', 'a'])
    >>> one_task = target.remove_columns("task")  # round-robin over its two examples
    >>> select_rds(one_task, 2, target=one_task, progress=False)["embedding"][:]
    [[1.0, 0.0], [0.0, 1.0]]
    >>> [round(s, 2) for s in out["embedding"][2]]
    [0.8, 0.6]
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from deita_hf.errors import ConfigError, SelectionError
from deita_hf.selection.common import (
    RANK_COLUMN,
    SCORE_COLUMN,
    check_block_size,
    check_budget,
    check_choice,
    check_free_columns,
    load_target,
    finish,
    warn_short,
)
from deita_hf.selection.vectors import EmbeddingReader

if TYPE_CHECKING:
    from datasets import Dataset

    from deita_hf.selection.result import SelectionStats

__all__ = ["AGGREGATIONS", "RDS_COMMIT", "TASK_COLUMN", "round_robin", "select_rds", "target_tasks",
           "task_top_rows"]

#: the commit of hamishivi/automated-instruction-selection this module follows
RDS_COMMIT = "df71a044d567976e37bebeae53cd59f992b1ea09"
#: the column naming the target task that first took each kept row (with several tasks)
TASK_COLUMN = "rds_task"
#: ``max``: max over a task's examples, round-robin over tasks (get_top_aggregated_influences);
#: ``round_robin``: round-robin over every target example (get_top_influences)
AGGREGATIONS = ("max", "round_robin")


def target_tasks(target: Dataset, column: str, task_column: str | None
                 ) -> tuple[np.ndarray, np.ndarray, list]:
    """The target's unit embeddings grouped by task.

    Args:
        target: the target rows.
        column: their embedding column.
        task_column: the task column (None or absent: one task).

    Returns:
        ``(vectors, starts, names)``: float64 unit rows sorted by task (stable), the first
        column of each task in them, and the task names in order of first appearance
        (``[None]`` for one task).

    Raises:
        SelectionError: no rows, or bad embeddings (names the column and row).
    """
    if len(target) == 0:
        raise SelectionError("The RDS target has no rows; pass at least one target example.")
    vectors = EmbeddingReader(target, column).unit_rows(np.arange(len(target)))
    if task_column is None or task_column not in target.column_names:
        return vectors, np.array([0]), [None]
    tasks = target.data.column(task_column).to_pylist()
    names = list(dict.fromkeys(tasks))
    labels = np.array([names.index(t) for t in tasks])
    order = np.argsort(labels, kind="stable")
    starts = np.searchsorted(labels[order], np.arange(len(names)))
    return vectors[order], starts, names


def _keep_best(scores: np.ndarray, rows: np.ndarray, keep: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``keep`` entries of highest score, ties by lowest row (unsorted)."""
    if len(scores) <= keep:
        return scores, rows
    kth = -np.partition(-scores, keep - 1)[keep - 1]  # the keep-th highest score
    above = np.flatnonzero(scores > kth)
    tied = np.flatnonzero(scores == kth)
    tied = tied[np.argsort(rows[tied], kind="stable")[: keep - len(above)]]
    take = np.concatenate([above, tied])
    return scores[take], rows[take]


def task_top_rows(ds: Dataset, column: str, vectors: np.ndarray, starts: np.ndarray, keep: int,
                  *, block_size: int = 8192, progress: bool = False
                  ) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
    """Each task's ``keep`` best pool rows by its score (max cosine over its examples).

    Args:
        ds: the pool.
        column: its embedding column.
        vectors, starts: :func:`target_tasks` output.
        keep: rows to keep per task.
        block_size: pool rows read at a time.
        progress: show a progress bar.

    Returns:
        ``(per_task, best)``: per task, ``(rows, scores)`` sorted by score descending, ties by
        ascending row; and every pool row's highest task score (float64).

    Raises:
        SelectionError: bad embeddings, or a dimension other than the target's.
    """
    from tqdm.auto import tqdm

    reader = EmbeddingReader(ds, column)
    if len(ds) and reader.dim != vectors.shape[1]:
        raise SelectionError(
            f"Column {column!r}: pool embeddings have {reader.dim} values per row but the "
            f"target's have {vectors.shape[1]}; embed both with the same model (--embedder "
            f"rds:MODEL).")
    n_tasks = len(starts)
    top_s = [np.empty(0)] * n_tasks
    top_r = [np.empty(0, dtype=np.int64)] * n_tasks
    best = np.empty(len(ds))
    for lo in tqdm(range(0, len(ds), block_size), desc="RDS similarities", disable=not progress):
        rows = np.arange(lo, min(len(ds), lo + block_size))
        per_task = np.maximum.reduceat(reader.unit_rows(rows) @ vectors.T, starts, axis=1)
        best[rows] = per_task.max(axis=1)
        for t in range(n_tasks):
            top_s[t], top_r[t] = _keep_best(np.concatenate([top_s[t], per_task[:, t]]),
                                            np.concatenate([top_r[t], rows]), keep)
    out = []
    for s, r in zip(top_s, top_r):
        order = np.lexsort((r, -s))
        out.append((r[order], s[order]))
    return out, best


def round_robin(per_task: list[tuple[np.ndarray, np.ndarray]], budget: int, *,
                lower: bool = True) -> tuple[list[int], list[float], list[int]]:
    """The authors' round-robin over the tasks' sorted rows until ``budget`` distinct rows.

    Args:
        per_task: per task (or target example), ``(rows, scores)`` sorted best first.
        budget: distinct rows to take.
        lower: a row taken again gets the lower score (``get_top_aggregated_influences``);
            False: it keeps its first score (``get_top_influences``).

    Returns:
        ``(rows, scores, tasks)`` in order of first taking: the row, its score, the index of
        the list that first took it. Fewer than ``budget`` when every list runs out.

    Example:
        >>> a = (np.array([0, 1]), np.array([0.9, 0.5]))
        >>> b = (np.array([0, 2]), np.array([0.7, 0.6]))
        >>> round_robin([a, b], 2)
        ([0, 1], [0.7, 0.5], [0, 0])
    """
    taken: dict[int, list] = {}
    pos = [0] * len(per_task)
    while len(taken) < budget:
        moved = False
        for t, (rows, scores) in enumerate(per_task):
            if len(taken) >= budget:
                break
            if pos[t] >= len(rows):
                continue
            row, score = int(rows[pos[t]]), float(scores[pos[t]])
            pos[t] += 1
            moved = True
            if row in taken:
                if lower:
                    taken[row][0] = min(score, taken[row][0])
            else:
                taken[row] = [score, t]
        if not moved:
            break
    return list(taken), [v[0] for v in taken.values()], [v[1] for v in taken.values()]


def select_rds(
    ds: Dataset,
    budget: int,
    *,
    target: Any,
    embedding_column: str = "embedding",
    target_column: str | None = None,
    task_column: str | None = "task",
    aggregation: str | None = None,
    block_size: int | None = None,
    progress: bool = True,
    return_stats: bool = False,
) -> Dataset | tuple[Dataset, SelectionStats]:
    """Keep ``budget`` rows by RDS+: cosine to the target, round-robin over tasks or examples.

    Args:
        ds: the pool, with ``embedding_column`` (every column is kept).
        budget: rows to select (>= 1; fewer rows: all, with a warning).
        target: the target rows with embeddings from the same embedder: a ``Dataset`` or a
            path (``deita-hf select --strategy rds:target=PATH --embedder rds:MODEL`` embeds a
            target of plain rows first; see :mod:`deita_hf.pipeline.rds_target`).
        embedding_column: the pool's embedding column.
        target_column: the target's embedding column (default: ``embedding_column``).
        task_column: the target's task column (absent or None: one task).
        aggregation: ``"max"`` (max over each task's examples, round-robin over tasks) or
            ``"round_robin"`` (round-robin over every target example); default: ``"max"`` with
            several tasks, ``"round_robin"`` with one, as the authors' scripts do.
        block_size: pool rows per block (default 8192).
        progress: show a progress bar.
        return_stats: also return a :class:`~deita_hf.selection.result.SelectionStats`.

    Returns:
        The kept rows in the order taken, with ``selection_score`` and ``selection_rank`` (and
        ``rds_task`` with several tasks).

    Raises:
        ConfigError: a bad budget or target argument.
        SelectionError: missing columns, embeddings of different dimensions, bad values (names
            the column and row).
    """
    start = time.perf_counter()
    budget = check_budget(budget)
    block = check_block_size(block_size)
    target_ds, source = load_target(target, "embeddings")
    target_column = target_column or embedding_column
    for frame, col, what in ((ds, embedding_column, "pool"), (target_ds, target_column, "target")):
        if col not in frame.column_names:
            raise SelectionError(
                f"The {what} has no {col!r} column of embeddings (columns: "
                f"{sorted(frame.column_names)}). Embed it with --embedder rds:MODEL (RdsEmbedder), "
                f"the same model for the pool and the target.")
    use_tasks = task_column if task_column and task_column in target_ds.column_names else None
    if aggregation is None:
        aggregation = "max" if use_tasks else "round_robin"
    aggregation = check_choice("aggregation", aggregation, AGGREGATIONS)
    added = [RANK_COLUMN, SCORE_COLUMN] + ([TASK_COLUMN] if use_tasks else [])
    check_free_columns(ds, added, read=())
    vectors, starts, tasks = target_tasks(target_ds, target_column, use_tasks)
    groups = starts if aggregation == "max" else np.arange(len(vectors))
    per_group, best = task_top_rows(ds, embedding_column, vectors, groups, min(budget, len(ds)),
                                    block_size=block, progress=progress)
    rows, scores, firsts = round_robin(per_group, min(budget, len(ds)),
                                       lower=aggregation == "max")
    warn_short(len(rows), budget, "are in the pool")
    extra: dict[str, list] = {SCORE_COLUMN: scores, RANK_COLUMN: list(range(len(rows)))}
    if use_tasks:
        task_of = np.searchsorted(starts, groups[firsts], side="right") - 1 if firsts else []
        extra[TASK_COLUMN] = [tasks[t] for t in task_of]
    return finish(
        ds, np.asarray(rows, dtype=np.int64), strategy="rds", budget=budget, start=start,
        added=extra,
        params={"target": source, "target_rows": len(target_ds), "tasks": len(tasks),
                "aggregation": aggregation, "commit": RDS_COMMIT},
        columns={"embedding_column": embedding_column, "target_column": target_column,
                 "task_column": use_tasks},
        pool_scores=best, return_stats=return_stats,
    )
