"""How well a scorer agrees with held-out labels: Spearman, Kendall (tau-b), MAE, a figure.

DEITA's scorers rank the evolved variants of one seed instruction, so with a ``seed_id`` the
rank correlations are computed within each seed group and averaged over the groups; overall
figures are always reported too. MAE is that of the expected score (sum_k k p(k)).

Example:
    >>> r = agreement([1.2, 2.1, 2.9, 4.5], [1, 2, 3, 4])
    >>> r["overall"]["spearman"], r["overall"]["kendall"], round(r["overall"]["mae"], 3)
    (1.0, 1.0, 0.225)
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["agreement", "kendall_tau_b", "rankdata", "spearman", "write_figure", "write_results"]

RESULTS_FILE = "results.json"
FIGURE_FILE = "predicted_vs_label.png"


def rankdata(x: Sequence[float]) -> np.ndarray:
    """Ranks from 1, ties given their average rank (scipy's ``rankdata(method="average")``).

    Example:
        >>> rankdata([3.0, 1.0, 3.0]).tolist()
        [2.5, 1.0, 2.5]
    """
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    starts = np.r_[True, sorted_x[1:] != sorted_x[:-1]]
    group = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    last = np.r_[first[1:], len(x)] - 1
    ranks = np.empty(len(x))
    ranks[order] = (first[group] + last[group]) / 2.0 + 1.0
    return ranks


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rho: Pearson's r of the average ranks; NaN when either side is constant."""
    if len(x) < 2:
        return math.nan
    rx, ry = rankdata(x), rankdata(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    den = math.sqrt(float(rx @ rx) * float(ry @ ry))
    return float(rx @ ry) / den if den > 0 else math.nan


def kendall_tau_b(x: Sequence[float], y: Sequence[float], *, block: int = 512) -> float:
    """Kendall's tau-b (ties in either variable corrected, as scipy's default); NaN when either
    side is constant. O(n^2) time in blocks of ``block`` rows, O(block * n) memory."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    n = len(x)
    if n < 2:
        return math.nan
    num = tx = ty = 0
    for start in range(0, n, block):
        i = np.arange(start, min(start + block, n))
        sx = np.sign(x[None, :] - x[i, None]).astype(np.int8)
        sy = np.sign(y[None, :] - y[i, None]).astype(np.int8)
        upper = np.arange(n)[None, :] > i[:, None]  # each pair once
        sx, sy = sx * upper, sy * upper
        num += int((sx.astype(np.int64) * sy).sum())
        tx += int(np.abs(sx).sum(dtype=np.int64))
        ty += int(np.abs(sy).sum(dtype=np.int64))
    return num / math.sqrt(tx * ty) if tx and ty else math.nan


def _stats(pred: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    return {"n": len(pred), "spearman": spearman(pred, labels),
            "kendall": kendall_tau_b(pred, labels),
            "mae": float(np.abs(pred - labels).mean()) if len(pred) else math.nan}


def _mean(values: list[float]) -> float:
    ok = [v for v in values if math.isfinite(v)]
    return float(np.mean(ok)) if ok else math.nan


def agreement(predictions: Sequence[float], labels: Sequence[float],
              groups: Sequence[Any] | None = None) -> dict[str, Any]:
    """Agreement of predicted (expected) scores with labels.

    Args:
        predictions: the scorer's expected scores.
        labels: the held-out labels (1..6).
        groups: one seed id per row (None or all None: no groups).

    Returns:
        ``{"overall": {n, spearman, kendall, mae}}``, plus with groups ``"groups"`` (seed id ->
        the same statistics) and ``"by_group"`` (the mean Spearman and Kendall over the groups
        where they are defined, how many groups that is, and how many there are).
    """
    pred = np.asarray(predictions, dtype=np.float64)
    lab = np.asarray(labels, dtype=np.float64)
    if pred.shape != lab.shape:
        raise ValueError(f"{len(pred)} predictions for {len(lab)} labels.")
    out: dict[str, Any] = {"overall": _stats(pred, lab)}
    if groups is not None and any(g is not None for g in groups):
        members: dict[str, list[int]] = {}
        for i, g in enumerate(groups):
            members.setdefault(str(g), []).append(i)
        per = {g: _stats(pred[idx], lab[idx]) for g, idx in members.items()}
        out["groups"] = per
        rho = [s["spearman"] for s in per.values()]
        out["by_group"] = {"spearman": _mean(rho), "kendall": _mean([s["kendall"] for s in per.values()]),
                           "groups": len(per), "groups_defined": sum(math.isfinite(v) for v in rho)}
    return out


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_results(results: dict[str, Any], output_dir: str | os.PathLike) -> Path:
    """Write ``results.json`` (NaN as null) into ``output_dir``; returns its path."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / RESULTS_FILE
    path.write_text(json.dumps(_json_safe(results), indent=2) + "\n", encoding="utf-8")
    return path


def write_figure(predictions: Sequence[float], labels: Sequence[float], path: str | os.PathLike,
                 *, title: str = "") -> Path:
    """Predicted expected score vs label: jittered points and each label's mean (matplotlib Agg).

    Example:
        >>> import tempfile
        >>> write_figure([1.5, 2.5, 5.0], [1, 2, 6], Path(tempfile.mkdtemp()) / "f.png").name
        'f.png'
    """
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    pred = np.asarray(predictions, dtype=np.float64)
    lab = np.asarray(labels, dtype=np.float64)
    jitter = np.random.default_rng(0).uniform(-0.15, 0.15, len(lab))
    fig, ax = plt.subplots(figsize=(5, 4.5))
    ax.scatter(lab + jitter, pred, s=8, alpha=0.4, color="tab:blue", label="rows")
    levels = np.unique(lab)
    ax.plot(levels, [pred[lab == v].mean() for v in levels], "o-", color="tab:red",
            label="mean per label")
    ax.plot([1, 6], [1, 6], "--", color="tab:gray", linewidth=1, label="y = x")
    ax.set_xlim(0.5, 6.5)
    ax.set_ylim(0.8, 6.2)
    ax.set_xlabel("label")
    ax.set_ylabel("predicted (expected score)")
    ax.set_title(title or "Scorer vs held-out labels", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
