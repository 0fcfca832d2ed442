"""What a ``deita-hf score`` folder recorded about the components that made its columns, for a
selection run that reads them (``deita-hf select SCORED_DIR``).

``deita_score.json`` lists every component's ``describe()`` (model, revision, template, dtype,
max length, ...: the same dict a component computed in the selection run itself gives), the
preset and the engine. :func:`score_provenance` returns them by column; the selection records
them under ``scorers`` per role and the run under ``score_run``.

Example:
    >>> score_provenance("pool.jsonl").columns
    {}
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ScoreProvenance", "score_provenance"]


@dataclass
class ScoreProvenance:
    """The components of a score run by the column they wrote, and the run itself."""

    #: column -> the component's ``describe()`` as recorded by the score run
    columns: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: ``{"folder", "preset", "engine", "deita_hf_version", "input"}`` (None: not a score folder)
    run: dict[str, Any] | None = None

    def get(self, column: str) -> dict[str, Any] | None:
        """The recorded ``describe()`` of the component that wrote ``column`` (None: none)."""
        return self.columns.get(column)


def score_provenance(source: str | os.PathLike) -> ScoreProvenance:
    """What the ``deita-hf score`` folder ``source`` recorded (empty for any other input).

    Args:
        source: the selection's input (a file, a folder, a Hub id).

    Returns:
        The :class:`ScoreProvenance`.
    """
    from deita_hf.hub.layout import read_settings

    try:
        kind, settings = read_settings(source)
    except (OSError, ValueError):
        return ScoreProvenance()
    if kind != "scores" or not settings.get("complete"):
        return ScoreProvenance()
    columns = {}
    for described in settings.get("components") or []:
        if isinstance(described, dict) and described.get("column"):
            columns[str(described["column"])] = dict(described)
    run = {"folder": str(source), "preset": settings.get("preset"),
           "engine": settings.get("engine"),
           "deita_hf_version": settings.get("deita_hf_version"),
           "input": settings.get("input")}
    return ScoreProvenance(columns, run)
