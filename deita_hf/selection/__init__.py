"""DEITA selection: scores, the exact block-greedy engine and the public ``select_deita``.

Modules: :mod:`~deita_hf.selection.score_columns` (Σ complexity × quality, vectorised),
:mod:`~deita_hf.selection.vectors` (Arrow block reader + validation),
:mod:`~deita_hf.selection.greedy` (the engine), :mod:`~deita_hf.selection.deita` (public API).

Example:
    >>> from deita_hf.selection import deita_score
    >>> deita_score([1.0, 2.0], [2.0, 2.0])
    6.0
"""

from deita_hf.selection.deita import RANK_COLUMN, SCORE_COLUMN, SelectionStats, select_deita
from deita_hf.selection.result import SelectionResult
from deita_hf.selection.score_columns import deita_score

__all__ = ["deita_score", "select_deita", "SelectionResult", "SelectionStats", "SCORE_COLUMN", "RANK_COLUMN"]
