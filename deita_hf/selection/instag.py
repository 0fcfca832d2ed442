"""``select_instag_diversity``: InsTag's complexity-first diverse sampling.

Algorithm 1 of Lu et al., 2023 (*#InsTag: Instruction Tagging for Analyzing Supervised
Fine-tuning of Large Language Models*, arXiv:2308.07074; github.com/OFA-Sys/InsTag at commit
aac2f27e153f4e8b1eca3603a7a52676f5d6d89c ships no selection code, so the paper is the
reference). Rows are walked by descending score (default: the number of distinct tags, InsTag's
complexity; ties by ascending row index); in each pass the covered tag set starts empty and a
row is kept (and leaves the pool) iff its tag set holds a tag not covered by the rows kept
before it in that pass. Passes repeat until ``budget`` rows are kept or only rows without tags
remain. ``repeat=False`` stops after the first pass (deita_hf's earlier behaviour; fewer rows,
with a warning). Tags are compared as exact strings (normalise them beforehand if needed).

Example:
    >>> from datasets import Dataset
    >>> ds = Dataset.from_dict({"tags": [["math"], ["math", "code"], ["code"], ["poem"]]})
    >>> out = select_instag_diversity(ds, 2, progress=False)
    >>> out["tags"][:], out["instag_new_tags"][:]
    ([['math', 'code'], ['poem']], [2, 1])
    >>> select_instag_diversity(ds, 4, progress=False)["tags"][:]  # a second pass
    [['math', 'code'], ['poem'], ['math'], ['code']]
"""

from __future__ import annotations

import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from datasets import Dataset
from tqdm.auto import tqdm

from deita_hf.errors import SelectionError
from deita_hf.selection.common import (
    RANK_COLUMN,
    SCORE_COLUMN,
    check_budget,
    check_free_columns,
    finish,
    resolve_scores,
    warn_short,
)
from deita_hf.selection.result import SelectionStats
from deita_hf.selection.score_columns import column_of, require_columns

__all__ = ["NEW_TAGS_COLUMN", "select_instag_diversity", "tag_ids", "tag_table"]

#: the column giving how many tags each kept row added to the covered set
NEW_TAGS_COLUMN = "instag_new_tags"


def tag_ids(ds: Dataset, column: str) -> tuple[np.ndarray, np.ndarray, int]:
    """The tags of every row as integer ids: ``(offsets, ids, number of distinct tags)``;
    row i's ids are ``ids[offsets[i]:offsets[i + 1]]``.

    Raises:
        SelectionError: as :func:`tag_table`.

    Example:
        >>> from datasets import Dataset
        >>> offsets, ids, n = tag_ids(Dataset.from_dict({"t": [["b", "a"], [], ["b"]]}), "t")
        >>> offsets.tolist(), ids.tolist(), n
        ([0, 2, 2, 3], [1, 0, 1], 2)
    """
    offsets, ids, names = tag_table(ds, column)
    return offsets, ids, len(names)


def tag_table(ds: Dataset, column: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """:func:`tag_ids` with the tag names: ``(offsets, ids, names)``, id j naming ``names[j]``
    (the distinct tags in sorted order).

    Raises:
        SelectionError: a missing column, not a list of strings per row, a null row or a null
            tag (names the column and row).

    Example:
        >>> from datasets import Dataset
        >>> tag_table(Dataset.from_dict({"t": [["b", "a"], [], ["b"]]}), "t")[2]
        ['a', 'b']
    """
    require_columns(ds, {"tags_column": column})
    arr = column_of(ds, column)
    t = arr.type
    is_list = pa.types.is_list(t) or pa.types.is_large_list(t)
    if not is_list or not (pa.types.is_string(t.value_type) or pa.types.is_large_string(
            t.value_type) or pa.types.is_null(t.value_type)):
        raise SelectionError(f"Column {column!r} holds {t}; a tags column holds one list of "
                             f"strings per row (e.g. InsTag's tags).")
    if arr.null_count:
        row = int(np.flatnonzero(np.asarray(arr.is_null()))[0])
        raise SelectionError(f"Column {column!r}, row {row}: tags are missing (null); use an "
                             f"empty list for a row without tags.")
    lengths = pc.list_value_length(arr).to_numpy(zero_copy_only=False).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    values = pc.list_flatten(arr)
    if values.null_count:
        bad = int(np.flatnonzero(np.asarray(values.is_null()))[0])
        row = int(np.searchsorted(offsets, bad, side="right") - 1)
        raise SelectionError(f"Column {column!r}, row {row}: a tag is null.")
    names = values.to_numpy(zero_copy_only=False).astype(object)
    uniq, ids = np.unique(names, return_inverse=True) if len(names) else (names, names)
    return offsets, np.asarray(ids, dtype=np.int64).ravel(), [str(t) for t in uniq]


def select_instag_diversity(
    ds: Dataset,
    budget: int,
    *,
    tags_column: str = "tags",
    score_column: str | None = None,
    complexity_column: str | None = None,
    quality_column: str | None = None,
    repeat: bool = True,
    progress: bool = True,
    return_stats: bool = False,
) -> Dataset | tuple[Dataset, SelectionStats]:
    """InsTag's Algorithm 1: passes by descending score, each from an empty tag set, keeping
    a row iff it adds a tag not yet covered in its pass, until ``budget`` rows are kept.

    Args:
        ds: the pool; every column is kept in the output.
        budget: rows to keep (>= 1); when fewer rows have tags (or, with ``repeat=False``, add
            a new tag in the one pass), all of them are returned with a warning.
        tags_column: one list of strings per row (may be empty: such a row is never kept).
        score_column: a ready score; complexity_column, quality_column: instead, the DEITA
            score Σ c × q; neither: the number of distinct tags of the row.
        repeat: repeat passes as the paper's Algorithm 1 does (default); False: one pass.
        progress: show a progress bar over the rows walked.
        return_stats: also return a :class:`~deita_hf.selection.result.SelectionStats`
            (``params``: tags in the pool, tags covered and passes).

    Returns:
        The kept rows in walk order with ``selection_score``, ``instag_new_tags`` (tags the
        row added in its pass) and ``selection_rank``; with ``return_stats=True``, ``(dataset, stats)``.

    Raises:
        ConfigError: a bad budget or score-column combination, or an added column already
            there.
        SelectionError: a missing column, bad tags or bad scores (names the column and row).

    Example:
        >>> from datasets import Dataset
        >>> ds = Dataset.from_dict({"tags": [["a"], ["b"], ["a", "b"]], "s": [3.0, 2.0, 1.0]})
        >>> select_instag_diversity(ds, 2, score_column="s", progress=False)["s"][:]
        [3.0, 2.0]
    """
    start = time.perf_counter()
    budget = check_budget(budget)
    offsets, ids, n_tags = tag_ids(ds, tags_column)
    scores, columns = resolve_scores(ds, score_column=score_column,
                                     complexity_column=complexity_column,
                                     quality_column=quality_column)
    if scores is None:  # the number of distinct tags per row
        parents = np.repeat(np.arange(len(ds)), np.diff(offsets))
        pairs = np.unique(parents * max(n_tags, 1) + ids)
        scores = np.bincount(pairs // max(n_tags, 1), minlength=len(ds)).astype(np.float64)
    check_free_columns(ds, (RANK_COLUMN, SCORE_COLUMN, NEW_TAGS_COLUMN),
                       read=[tags_column, *columns.values()])
    order = np.argsort(-scores, kind="stable")
    covered = np.zeros(n_tags, dtype=bool)
    ever = np.zeros(n_tags, dtype=bool)
    rows, added = [], []
    walked = passes = 0
    bounds = offsets.tolist()
    with tqdm(total=min(budget, len(ds)), desc="select_instag_diversity", unit="row",
              disable=not progress) as bar:
        remaining = order.tolist()
        while remaining and len(rows) < budget:
            passes += 1
            covered[:] = False
            left = []
            for pos, row in enumerate(remaining):
                walked += 1
                tags = ids[bounds[row]: bounds[row + 1]]
                new = np.unique(tags[~covered[tags]])
                if len(new):
                    covered[new] = True
                    rows.append(row)
                    added.append(len(new))
                    if len(rows) == budget:
                        left.extend(remaining[pos + 1:])
                        break
                else:
                    left.append(row)
            ever |= covered
            bar.update(len(remaining) - len(left))
            if not repeat or len(left) == len(remaining):  # a pass adding nothing: no tags left
                break
            remaining = left
    warn_short(len(rows), budget, "have tags" if repeat else
               "add a tag not covered by the rows before them")
    rows_arr = np.asarray(rows, dtype=np.int64)
    return finish(
        ds, rows_arr, strategy="instag", budget=budget, start=start,
        added={SCORE_COLUMN: scores[rows_arr].tolist(), NEW_TAGS_COLUMN: added,
               RANK_COLUMN: list(range(len(rows)))},
        params={"tags_in_pool": int(n_tags), "tags_covered": int(ever.sum()), "passes": passes,
                "repeat": bool(repeat)},
        columns={"tags_column": tags_column, **columns}, pool_scores=scores, examined=walked,
        return_stats=return_stats,
    )
