"""PNG figures of a selection (matplotlib, Agg backend: no display needed).

Example:
    >>> import numpy as np, tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> values = {"selected": {"deita_score": np.array([3.0, 4.0]), "turns": np.array([1.0, 2.0])},
    ...           "pool": None, "max_similarity": np.array([0.2, 0.5])}
    >>> [p.name for p in write_figures(values, out, threshold=0.9)]
    ['scores.png', 'max_similarity.png', 'lengths.png']
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from types import ModuleType

    from matplotlib.axes import Axes

__all__ = ["FIGURES", "write_figures"]

#: file name -> title, in the order the card shows them
FIGURES: dict[str, str] = {
    "scores.png": "Scores: pool vs selection",
    "max_similarity.png": "Highest similarity of each kept row to the rows kept before it",
    "lengths.png": "Turns and lengths: pool vs selection",
}

_SCORES = (("complexity", "complexity (per turn)"), ("quality", "quality (per turn)"),
           ("deita_score", "DEITA score (per row)"))
_LENGTHS = (("turns", "turns per conversation"), ("chars", "characters per conversation"))


def _pyplot() -> ModuleType:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _hist_pair(ax: Axes, selected: np.ndarray, pool: np.ndarray | None, title: str,
               discrete: bool = False) -> None:
    data = [selected] if pool is None else [pool, selected]
    lo = min(float(d.min()) for d in data if len(d))
    hi = max(float(d.max()) for d in data if len(d))
    if discrete:
        bins = np.arange(np.floor(lo) - 0.5, np.ceil(hi) + 1.5, 1.0)
    else:
        bins = np.linspace(lo, hi if hi > lo else lo + 1.0, 41)
    if pool is not None and len(pool):
        ax.hist(pool, bins=bins, density=True, alpha=0.5, color="tab:gray", label="pool")
    ax.hist(selected, bins=bins, density=True, alpha=0.6, color="tab:blue", label="selected")
    if discrete and hi - lo <= 20:
        ax.set_xticks(np.arange(np.floor(lo), np.ceil(hi) + 1))
    ax.set_title(title, fontsize=10)
    ax.set_ylabel("density")
    ax.legend(fontsize=8)


def _row_of_histograms(plt: ModuleType, panels: list[tuple[np.ndarray, np.ndarray | None, str, bool]],
                       path: Path) -> Path:
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False)
    for ax, (sel, pool, title, discrete) in zip(axes[0], panels):
        _hist_pair(ax, sel, pool, title, discrete)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _similarity(plt: ModuleType, sims: np.ndarray, threshold: float | None, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6.0, 3.4))
    ax.hist(sims, bins=40, color="tab:blue")
    if threshold is not None:
        ax.axvline(float(threshold), color="tab:red", linestyle="--",
                   label=f"threshold {float(threshold):g}")
        ax.legend(fontsize=8)
    ax.set_xlabel("cosine similarity to the nearest earlier kept row")
    ax.set_ylabel("kept rows")
    ax.set_title(FIGURES["max_similarity.png"], fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_figures(values: dict[str, Any], out_dir: str | Path, *,
                  threshold: float | None = None) -> list[Path]:
    """Draw the selection's figures as PNG files.

    Args:
        values: ``selection_statistics(...)["values"]``: ``selected`` and ``pool`` measure
            arrays and the ``max_similarity`` array (either may be None).
        out_dir: folder for the PNG files (created).
        threshold: the selection's similarity threshold, drawn on the similarity figure.

    Returns:
        The written files, in :data:`FIGURES` order (figures without data are left out).

    Example:
        See the module docstring.
    """
    plt = _pyplot()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sel, pool = values["selected"], values.get("pool")
    written = []
    panels = [(sel[k], pool.get(k) if pool else None, label, False)
              for k, label in _SCORES if k in sel and len(sel[k])]
    if panels:
        written.append(_row_of_histograms(plt, panels, out / "scores.png"))
    sims = values.get("max_similarity")
    if sims is not None and len(sims):
        written.append(_similarity(plt, sims, threshold, out / "max_similarity.png"))
    length_panels = [(sel[k], pool.get(k) if pool else None, label, k == "turns")
                     for k, label in _LENGTHS if k in sel and len(sel[k])]
    if length_panels:
        written.append(_row_of_histograms(plt, length_panels, out / "lengths.png"))
    return written
