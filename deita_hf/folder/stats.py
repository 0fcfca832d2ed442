"""Statistics of a DEITA selection: scores, turns, lengths and sources, pool vs selected.

The numbers shown in the dataset card and in ``deita-hf report`` come from here:
:func:`row_values` reads one array per measure from a ``Dataset``; :func:`selection_statistics`
turns the arrays of the selection (and of the pool, when given) into small tables.

Example:
    >>> from datasets import Dataset
    >>> ds = Dataset.from_dict({"instruction": ["a", "bb"], "output": ["x", "yy"],
    ...                         "complexity": [1.0, 2.0], "quality": [3.0, 4.0],
    ...                         "deita_score": [3.0, 8.0]})
    >>> stats = selection_statistics(ds, None, {})
    >>> stats["rows"]
    {'selected': 2, 'pool': None}
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import numpy as np
from datasets import Dataset
from datasets.utils.tqdm import tqdm  # off with --no-progress (datasets' global switch)

from deita_hf.data.formats import detect_format, turns_from_batch
from deita_hf.errors import SelectionError

__all__ = ["QUANTILES", "columns_from_settings", "quantiles", "row_values", "selection_statistics"]

#: quantiles shown in every table
QUANTILES: tuple[float, ...] = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)

#: measure name -> label shown in tables and figures
MEASURES: dict[str, str] = {
    "complexity": "complexity (per turn)",
    "quality": "quality (per turn)",
    "deita_score": "DEITA score (per row)",
    "turns": "turns per conversation",
    "chars": "characters per conversation",
    "response_chars": "response characters per conversation",
}

_BATCH = 1000


def columns_from_settings(settings: Mapping[str, Any]) -> dict[str, str]:
    """The column names a selection used, with the package's defaults for missing keys.

    Args:
        settings: the selection's settings (``deita_selection.json``).

    Returns:
        ``{"complexity": ..., "quality": ..., "score": ..., "embedding": ...}``.

    Example:
        >>> columns_from_settings({"score_column": "s"})["score"]
        's'
    """
    return {
        "complexity": settings.get("complexity_column") or "complexity",
        "quality": settings.get("quality_column") or "quality",
        "score": settings.get("score_column") or "deita_score",
        "embedding": settings.get("embedding_column") or "embedding",
    }


def row_values(ds: Dataset, *, columns: Mapping[str, str], compute_score: bool = False,
               scores: np.ndarray | None = None, desc: str = "Statistics",
               optional_score: bool = False) -> dict[str, np.ndarray]:
    """Read every measure of :data:`MEASURES` from a dataset as a float array.

    Args:
        ds: conversations in any :mod:`deita_hf.data.formats` format, with score columns.
        columns: column names, as :func:`columns_from_settings` returns them.
        compute_score: when the score column is missing, compute it from the complexity and
            quality columns with :func:`deita_hf.selection.score_columns.pool_scores` (for the pool).
        scores: the rows' scores when already known (``SelectionStats.pool_scores``): used
            instead of reading or computing them.
        desc: progress-bar label.
        optional_score: leave the score out (instead of raising) when it can be neither read
            nor computed (selections by strategies other than DEITA: random, k-center, ...).

    Returns:
        ``{measure: array}``; a score measure is absent when its column is missing.

    Raises:
        ValueError: a score column holds nulls or NaN/inf (names the column and row), or the
            score column is missing and cannot be computed.

    Example:
        >>> from datasets import Dataset
        >>> ds = Dataset.from_dict({"instruction": ["hi"], "output": ["yo"], "deita_score": [1.0]})
        >>> row_values(ds, columns=columns_from_settings({}))["chars"].tolist()
        [4.0]
    """
    from deita_hf.selection.score_columns import pool_scores, turn_values

    names = set(ds.column_names)
    c_col, q_col, s_col = columns["complexity"], columns["quality"], columns["score"]
    out: dict[str, np.ndarray] = {}
    if scores is not None:
        out["deita_score"] = np.asarray(scores, dtype=np.float64)
    elif s_col in names:
        out["deita_score"] = pool_scores(ds, score_column=s_col)
    elif optional_score and not (compute_score and c_col in names and q_col in names):
        pass  # no score to show: the measure is left out
    elif not compute_score:
        raise SelectionError(
            f"The selection has no {s_col!r} column (columns: {sorted(names)}). Publish the "
            f"output of select_deita, or pass score_column=<your column> in the settings."
        )
    elif c_col not in names or q_col not in names:
        raise SelectionError(
            f"The pool has no {s_col!r} column and cannot compute it: it needs {c_col!r} and "
            f"{q_col!r} (columns: {sorted(names)}). Pass the scored pool."
        )
    else:
        out["deita_score"] = pool_scores(ds, complexity_column=c_col, quality_column=q_col)
    for measure, col in (("complexity", c_col), ("quality", q_col)):
        if col in names:
            out[measure] = turn_values(ds, col)
    fmt = detect_format(names)
    skip = {columns["embedding"], c_col, q_col, s_col, "deita_rank"}
    text_view = ds.select_columns([c for c in ds.column_names if c not in skip])
    text: dict[str, list[float]] = {"turns": [], "chars": [], "response_chars": []}
    bar = tqdm(total=len(ds), desc=desc, unit="row", leave=False)
    for start in range(0, len(ds), _BATCH):
        stop = min(start + _BATCH, len(ds))
        # the turns the DEITA scorers score (a leading assistant message is one of them)
        for turns in turns_from_batch(text_view[start:stop], format=fmt,
                                      indices=range(start, stop), leading_assistant="keep"):
            text["turns"].append(float(len(turns)))
            text["chars"].append(float(sum(len(i) + len(r) for i, r in turns)))
            text["response_chars"].append(float(sum(len(r) for _, r in turns)))
        bar.update(stop - start)
    bar.close()
    out.update({m: np.asarray(v, dtype=np.float64) for m, v in text.items()})
    return {m: out[m] for m in MEASURES if m in out}


def quantiles(values: np.ndarray | None) -> dict[str, float] | None:
    """Count, mean and :data:`QUANTILES` of an array (None for None or empty).

    Example:
        >>> quantiles(np.array([1.0, 2.0, 3.0]))["p50"]
        2.0
    """
    if values is None or len(values) == 0:
        return None
    qs = np.quantile(values, QUANTILES)
    out = {"n": int(len(values)), "mean": float(values.mean())}
    out.update({f"p{round(q * 100)}": float(v) for q, v in zip(QUANTILES, qs)})
    return out


def _sources(selected: Dataset, pool: Dataset | None) -> list[dict[str, Any]] | None:
    if "source" not in selected.column_names:
        return None
    sel = Counter(str(s) for s in selected["source"])
    have_pool = pool is not None and "source" in pool.column_names
    pl = Counter(str(s) for s in pool["source"]) if have_pool else Counter()
    n_sel, n_pool = len(selected), (len(pool) if have_pool else 0)
    rows = []
    for name in sorted(set(sel) | set(pl), key=lambda s: (-sel.get(s, 0), -pl.get(s, 0), s)):
        rows.append({
            "source": name,
            "selected": sel.get(name, 0),
            "selected_share": sel.get(name, 0) / n_sel,
            "pool": pl.get(name) if have_pool else None,
            "pool_share": pl.get(name, 0) / n_pool if have_pool else None,
            "kept_rate": (sel.get(name, 0) / pl[name]) if have_pool and pl.get(name) else None,
        })
    return rows


def _turn_counts(selected: np.ndarray, pool: np.ndarray | None) -> list[dict[str, Any]]:
    sel = Counter(int(t) for t in selected)
    pl = Counter(int(t) for t in pool) if pool is not None else Counter()
    rows = []
    for turns in sorted(set(sel) | set(pl)):
        rows.append({
            "turns": turns,
            "selected": sel.get(turns, 0),
            "selected_share": sel.get(turns, 0) / max(len(selected), 1),
            "pool": pl.get(turns, 0) if pool is not None else None,
            "pool_share": pl.get(turns, 0) / len(pool) if pool is not None and len(pool) else None,
        })
    return rows


def selection_statistics(selected: Dataset, pool: Dataset | None,
                         settings: Mapping[str, Any],
                         pool_scores: np.ndarray | None = None) -> dict[str, Any]:
    """All statistics of a selection, pool vs selected.

    Args:
        selected: the selected rows (with the score columns).
        pool: the whole scored pool, or None when it is not available.
        settings: the selection settings (column names, ``max_similarity``, ...).
        pool_scores: every pool row's score, when the selection already computed them.

    Returns:
        A dict with ``rows`` (counts), ``measures`` (one row per measure: label, selected and
        pool quantiles), ``turn_counts``, ``sources`` (None without a ``source`` column),
        ``max_similarity`` (quantiles, or None) and ``values`` (the raw arrays, for figures:
        ``{"selected": {...}, "pool": {...} or None, "max_similarity": array or None}``).

    Example:
        >>> from datasets import Dataset
        >>> ds = Dataset.from_dict({"instruction": ["a"], "output": ["b"], "deita_score": [1.0]})
        >>> selection_statistics(ds, None, {})["measures"][0]["name"]
        'deita_score'
    """
    columns = columns_from_settings(settings)
    # another strategy than DEITA's: the DEITA score is shown when the rows allow it
    other = settings.get("strategy") not in (None, "deita")
    sel_values = row_values(selected, columns=columns, desc="Statistics (selection)",
                            compute_score=other, optional_score=other)
    pool_values = (
        row_values(pool, columns=columns, compute_score=True, desc="Statistics (pool)",
                   scores=pool_scores if pool_scores is not None and len(pool_scores) == len(pool)
                   else None, optional_score=other)
        if pool is not None else None
    )
    measures = []
    for name, label in MEASURES.items():
        if name not in sel_values:
            continue
        measures.append({
            "name": name,
            "label": label,
            "selected": quantiles(sel_values[name]),
            "pool": quantiles(pool_values.get(name)) if pool_values is not None else None,
        })
    sims = settings.get("max_similarity")
    sim_values = (
        np.asarray([s for s in sims if s is not None], dtype=np.float64) if sims else None
    )
    return {
        "rows": {"selected": len(selected), "pool": len(pool) if pool is not None else None},
        "measures": measures,
        "turn_counts": _turn_counts(sel_values["turns"],
                                    pool_values["turns"] if pool_values is not None else None),
        "sources": _sources(selected, pool),
        "max_similarity": quantiles(sim_values),
        "values": {"selected": sel_values, "pool": pool_values, "max_similarity": sim_values},
    }
