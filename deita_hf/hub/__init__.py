"""Publishing a selection: its dataset card, figures and report, and the push to the Hub.

- :mod:`~deita_hf.hub.card` (with :mod:`~deita_hf.hub.card_metadata` and
  :mod:`~deita_hf.hub.run_setup`), :mod:`~deita_hf.hub.figures`: the dataset card and its
  figures; :mod:`~deita_hf.hub.report`: the same as a report.
- :mod:`~deita_hf.hub.push`: :func:`push_selection` to a Hub dataset repository.

The folder format itself (the layout, the one writer and reader, the selection folder, its
statistics) is :mod:`deita_hf.folder`; :func:`save_selection` and :func:`load_folder` are
importable from here too. Names are imported on first use.

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
    from deita_hf.folder.selection import (
        complete_folder,
        load_folder,
        save_selection,
    )
    from deita_hf.folder.stats import selection_statistics

_EXPORTS = {
    "MissingTokenError": "deita_hf.errors",
    "RepoNotEmptyError": "deita_hf.errors",
    "complete_folder": "deita_hf.folder.selection",
    "load_folder": "deita_hf.folder.selection",
    "push_selection": "deita_hf.hub.push",
    "render_report": "deita_hf.hub.report",
    "save_selection": "deita_hf.folder.selection",
    "selection_statistics": "deita_hf.folder.stats",
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
