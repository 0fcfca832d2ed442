"""A Markdown or HTML report of a selection that is not (yet) published.

It shows the same settings, statistics, figures and example rows as the dataset card.

Example:
    >>> from deita_hf.hub import render_report
    >>> render_report("out/deita-6k", format="html")                    # doctest: +SKIP
    PosixPath('out/deita-6k/report.html')
"""

from __future__ import annotations

import base64
import os
import tempfile
from pathlib import Path

from deita_hf.errors import ConfigError
from deita_hf.hub.card import card_context, example_rows, render_template
from deita_hf.hub.figures import FIGURES, write_figures
from deita_hf.folder.selection import load_folder
from deita_hf.folder.stats import columns_from_settings, selection_statistics

__all__ = ["REPORT_FORMATS", "render_report"]

REPORT_FORMATS = ("md", "html")


def render_report(folder: str | os.PathLike, *, format: str = "md",
                  output: str | os.PathLike | None = None) -> Path:
    """Write a report of the selection in ``folder``.

    Args:
        folder: a selection folder (``data/*.parquet`` + ``deita_selection.json``, and
            ``pool/*.parquet`` for pool-vs-selection statistics).
        format: ``"md"`` (figures written next to the report, in ``<name>_figures/``) or
            ``"html"`` (one self-contained file, figures embedded).
        output: the report file; default ``<folder>/report.<format>``.

    Returns:
        The report's path.

    Raises:
        ValueError: unknown format.
        FileNotFoundError: ``folder`` is not a selection folder.

    Example:
        render_report("out/deita-6k", output="deita-6k.md")
    """
    if format not in REPORT_FORMATS:
        raise ConfigError(f"format must be one of {REPORT_FORMATS}, got {format!r}.")
    root = Path(folder)
    selected, pool, settings = load_folder(root)
    settings.pop("publishing", None)
    out = Path(output) if output is not None else root / f"report.{format}"
    out.parent.mkdir(parents=True, exist_ok=True)
    stats = selection_statistics(selected, pool, settings)
    if format == "md":
        fig_dir = out.parent / f"{out.stem}_figures"
        written = write_figures(stats["values"], fig_dir, threshold=settings.get("threshold"))
        figures = [{"path": f"{fig_dir.name}/{p.name}", "title": FIGURES[p.name]} for p in written]
    else:
        with tempfile.TemporaryDirectory() as tmp:
            written = write_figures(stats["values"], tmp, threshold=settings.get("threshold"))
            figures = [{
                "path": p.name,
                "title": FIGURES[p.name],
                "src": "data:image/png;base64," + base64.b64encode(p.read_bytes()).decode(),
            } for p in written]
    context = card_context(
        settings=settings, stats=stats, figures=figures,
        examples=example_rows(selected, score_column=columns_from_settings(settings)["score"]),
        configs=[], dataset_id=str(root), pretty_name=root.resolve().name, license=None,
        folder_name=root.name,
    )
    out.write_text(render_template(f"report.{format}", context), encoding="utf-8")
    return out
