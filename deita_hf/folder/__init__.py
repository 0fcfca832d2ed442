"""The Hub-layout folder format: what deita_hf writes and reads on disk.

- :mod:`~deita_hf.folder.layout`: the layout's pieces (file names, configs, settings files) and
  the one reader (:func:`~deita_hf.folder.layout.read_folder`);
- :mod:`~deita_hf.folder.writer`: the one writer (:func:`~deita_hf.folder.writer.write_folder`:
  atomic, locked) and :mod:`~deita_hf.folder.guard` (locks, output checks);
- :mod:`~deita_hf.folder.selection`: :func:`save_selection` and :func:`load_folder`, the
  selection folder (rows, card, figures, settings);
- :mod:`~deita_hf.folder.stats`: the selection's statistics for its card.

Publishing the folder (card rendering, report, Hub push) is :mod:`deita_hf.hub`. Names are
imported on first use, so the low-level modules can be imported alone.

Example:
    >>> from deita_hf.folder import load_folder, save_selection
    >>> callable(save_selection) and callable(load_folder)
    True
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "complete_folder": "deita_hf.folder.selection",
    "load_folder": "deita_hf.folder.selection",
    "save_selection": "deita_hf.folder.selection",
    "selection_statistics": "deita_hf.folder.stats",
    "read_folder": "deita_hf.folder.layout",
    "write_folder": "deita_hf.folder.writer",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'deita_hf.folder' has no attribute {name!r}")
