"""Publishing: a selection as a Hub-layout folder with a dataset card, a push to the Hub, and
reports.

- :func:`save_selection` writes ``data/`` (+ ``pool/``) parquet shards, ``README.md`` (card with
  ``configs:``), ``deita_selection.json`` and ``figures/*.png``.
- :func:`push_selection` uploads such a folder to a dataset repository.
- :func:`render_report` renders the same statistics as Markdown or HTML.

Example:
    >>> from deita_hf.publishing import save_selection, push_selection
    >>> folder = save_selection(selected, "out/deita-6k", settings=stats)  # doctest: +SKIP
    >>> push_selection(folder, "me/my-deita-6k")                         # doctest: +SKIP
"""

from deita_hf.publishing.hub import MissingTokenError, RepoNotEmptyError, push_selection
from deita_hf.publishing.layout import complete_folder, load_folder, save_selection
from deita_hf.publishing.report import render_report
from deita_hf.publishing.stats import selection_statistics

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
