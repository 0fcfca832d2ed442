"""The Hub-layout folder and everything published from it.

- :mod:`~deita_hf.hub.folder`: the one writer and reader of Hub-layout folders (file names,
  parquet shards, README ``configs``, settings files, atomic replacement).
- :mod:`~deita_hf.hub.selection_folder`: :func:`save_selection`, :func:`load_folder`.
- :mod:`~deita_hf.hub.card`, :mod:`~deita_hf.hub.stats`, :mod:`~deita_hf.hub.figures`: the
  dataset card, its statistics and figures; :mod:`~deita_hf.hub.report`: the same as a report.
- :mod:`~deita_hf.hub.push`: :func:`push_selection` to a Hub dataset repository.

Names are imported on first use, so the low-level folder module can be imported alone.

Example:
    >>> from deita_hf.hub import save_selection, push_selection
    >>> callable(save_selection) and callable(push_selection)
    True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deita_hf.errors import MissingTokenError, RepoNotEmptyError
    from deita_hf.hub.push import push_selection
    from deita_hf.hub.report import render_report
    from deita_hf.hub.selection_folder import (
        complete_folder,
        load_folder,
        save_selection,
    )
    from deita_hf.hub.stats import selection_statistics

_EXPORTS = {
    "MissingTokenError": "deita_hf.errors",
    "RepoNotEmptyError": "deita_hf.errors",
    "complete_folder": "deita_hf.hub.selection_folder",
    "load_folder": "deita_hf.hub.selection_folder",
    "push_selection": "deita_hf.hub.push",
    "render_report": "deita_hf.hub.report",
    "save_selection": "deita_hf.hub.selection_folder",
    "selection_statistics": "deita_hf.hub.stats",
}

__all__ = [
    "MissingTokenError",
    "RepoNotEmptyError",
    "complete_folder",
    "load_folder",
    "push_selection",
    "render_report",
    "save_selection",
    "selection_statistics",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'deita_hf.hub' has no attribute {name!r}")
