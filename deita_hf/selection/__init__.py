"""DEITA selection: scores, the exact block-greedy engine and the public ``select_deita``.

Modules: :mod:`~deita_hf.selection.scores` (Σ complexity × quality, vectorised),
:mod:`~deita_hf.selection.embeddings` (Arrow block reader + validation),
:mod:`~deita_hf.selection.greedy` (the engine), :mod:`~deita_hf.selection.api` (public API).

Example:
    >>> from deita_hf.selection import deita_score
    >>> deita_score([1.0, 2.0], [2.0, 2.0])
    6.0
"""

from deita_hf.selection.api import RANK_COLUMN, SCORE_COLUMN, SelectionStats, select_deita
from deita_hf.selection.scores import deita_score

__all__ = ["deita_score", "select_deita", "SelectionStats", "SCORE_COLUMN", "RANK_COLUMN"]
