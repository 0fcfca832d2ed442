"""What a selection run did: :class:`SelectionStats`, shared by every selection strategy.

Publishing takes this object as it is (``save_selection(selected, DIR, stats=stats)``): it
carries the settings (strategy, parameters, columns), the per-row numbers the card needs (the
pool's scores, each kept row's highest similarity to the rows kept before it) and the kept
rows' indices, so nothing is re-derived from a dict.

Example:
    >>> import numpy as np
    >>> s = SelectionStats(strategy="topk", budget=2, pool_size=3, kept=2, examined=3,
    ...                    seconds=0.1, rows=np.array([2, 0]), pool_scores=np.array([1., 0., 3.]),
    ...                    columns={"score": "s"})
    >>> d = s.to_dict()
    >>> d["strategy"], d["kept"], "pool_scores" in d
    ('topk', 2, False)
    >>> s
    SelectionStats(strategy='topk', kept=2/2, pool_size=3, seconds=0.1)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["SelectionResult", "SelectionStats"]


def _plain(value: Any) -> Any:
    """JSON-safe copy: numpy scalars to Python numbers, non-finite floats to None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass
class SelectionStats:
    """What one selection run did; ``to_dict()`` is the JSON written as ``deita_selection.json``.

    The arrays (``rows``, ``pool_scores``) stay out of ``to_dict()``; publishing reads them
    from the object.
    """

    strategy: str = field(metadata={"help": "selection strategy, e.g. 'deita', 'kcenter'"})
    budget: int = field(metadata={"help": "rows asked for"})
    pool_size: int = field(metadata={"help": "rows in the input dataset"})
    kept: int = field(metadata={"help": "rows selected"})
    examined: int = field(metadata={"help": "rows looked at (walked in score order for deita)"})
    seconds: float = field(metadata={"help": "wall time of the selection"})
    params: dict[str, Any] = field(default_factory=dict,
                                   metadata={"help": "strategy parameters (threshold, seed, ...)"})
    columns: dict[str, str | None] = field(
        default_factory=dict,
        metadata={"help": "columns read: embedding, complexity, quality, score, ..."})
    device: str = field(default="cpu", metadata={"help": "torch device of the products"})
    max_similarity: list[float | None] = field(
        default_factory=list,
        metadata={"help": "per kept row, highest similarity to rows kept before it (deita)"})
    rows: np.ndarray | None = field(default=None, repr=False,
                                    metadata={"help": "pool indices of the kept rows, in order"})
    pool_scores: np.ndarray | None = field(
        default=None, repr=False, metadata={"help": "the score of every pool row (if any)"})
    decontamination: dict[str, Any] | None = field(
        default=None, repr=False,
        metadata={"help": "the decontamination report, when rows were matched against "
                          "benchmark prompts before selection (ContaminationReport.to_dict())"})

    def __repr__(self) -> str:
        """One line: strategy, kept/budget, pool size, seconds (arrays never printed)."""
        return (f"SelectionStats(strategy={self.strategy!r}, kept={self.kept}/{self.budget}, "
                f"pool_size={self.pool_size}, seconds={self.seconds:.3g})")

    # -- the names older code and cards read --------------------------------------------------
    @property
    def threshold(self) -> float | None:
        """The similarity threshold (deita), else None."""
        return self.params.get("threshold")

    @property
    def score_column(self) -> str | None:
        return self.columns.get("score_column")

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON-serialisable dict of the settings and counts (arrays left out).

        Besides the fields, the deita-era flat keys (``threshold``, ``embedding_column``,
        ``complexity_column``, ``quality_column``, ``score_column``) are included, so settings
        files keep their shape.
        """
        out = {
            "strategy": self.strategy, "budget": self.budget, "pool_size": self.pool_size,
            "kept": self.kept, "examined": self.examined, "seconds": self.seconds,
            "device": self.device, "params": dict(self.params),
            "threshold": self.params.get("threshold"),
            **{k: self.columns.get(k) for k in
               ("embedding_column", "complexity_column", "quality_column", "score_column")},
            "columns": dict(self.columns),
            "max_similarity": list(self.max_similarity),
        }
        if self.decontamination is not None:
            out["decontamination"] = dict(self.decontamination)
        return _plain(out)


@dataclass
class SelectionResult:
    """What every selection strategy returns: the kept rows and what the run did.

    ``dataset`` holds the kept rows in selection order with every original column (plus the
    strategy's own columns); ``stats`` is the :class:`SelectionStats`. It unpacks like the
    older ``(selected, stats)`` pair.

    Example:
        >>> from datasets import Dataset
        >>> s = SelectionStats(strategy="topk", budget=1, pool_size=1, kept=1, examined=1,
        ...                    seconds=0.0)
        >>> result = SelectionResult(Dataset.from_dict({"a": [1]}), s)
        >>> selected, stats = result
        >>> stats.kept, len(selected)
        (1, 1)
        >>> result  # doctest: +NORMALIZE_WHITESPACE
        SelectionResult(dataset=<1 rows x 1 columns>,
                        stats=SelectionStats(strategy='topk', kept=1/1, pool_size=1, seconds=0))
    """

    dataset: Any = field(metadata={"help": "the kept rows (a datasets.Dataset)"})
    stats: SelectionStats = field(metadata={"help": "what the selection did"})

    def __iter__(self):
        yield self.dataset
        yield self.stats

    def __repr__(self) -> str:
        """One line: the kept rows' shape and the stats' repr."""
        shape = (f"<{len(self.dataset)} rows x {len(self.dataset.column_names)} columns>"
                 if hasattr(self.dataset, "column_names") else f"<{type(self.dataset).__name__}>")
        return f"SelectionResult(dataset={shape}, stats={self.stats!r})"
