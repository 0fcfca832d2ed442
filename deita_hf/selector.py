"""``DatasetSelector``: score, embed and select in a few lines.

Example:
    >>> from deita_hf.selector import DatasetSelector
    >>> from deita_hf.scoring import InstructionLengthScorer, ResponseLengthScorer
    >>> sel = DatasetSelector(complexity_scorer=InstructionLengthScorer(),
    ...                       quality_scorer=ResponseLengthScorer(), embedder=None)
    >>> scored = sel.score(ds)            # doctest: +SKIP
    >>> subset = sel.select(scored, 6000)  # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from typing import Any

__all__ = ["DatasetSelector"]


class DatasetSelector:
    """Score a pool with DEITA's complexity and quality scorers, embed it, select a subset.

    Args:
        complexity_scorer: callable adding ``complexity`` (e.g. :class:`ComplexityScorer`), or None.
        quality_scorer: callable adding ``quality`` (e.g. :class:`QualityScorer`), or None.
        embedder: callable adding ``embedding`` (e.g. :class:`SentenceEmbedder`), or None.
        threshold: cosine-similarity threshold of the diversity filter (the paper's 0.9).

    A component given as None is skipped with a warning in :meth:`score` (its column must then be
    in the dataset already).
    """

    def __init__(self, complexity_scorer=None, quality_scorer=None, embedder=None, *,
                 threshold: float = 0.9):
        self.complexity_scorer = complexity_scorer
        self.quality_scorer = quality_scorer
        self.embedder = embedder
        self.threshold = threshold

    @classmethod
    def from_pretrained(cls, complexity: str = "hkust-nlp/deita-complexity-scorer",
                        quality: str = "hkust-nlp/deita-quality-scorer", embedder: str = "minilm", *,
                        threshold: float = 0.9, **scorer_kwargs: Any) -> DatasetSelector:
        """The published DEITA scorers and the packaged all-MiniLM-L6-v2 (loaded lazily).

        Args:
            complexity, quality: specs for :func:`deita_hf.scoring.build_scorer` ("length" for
                the paper's length baselines).
            embedder: spec for :func:`deita_hf.embedding.build_embedder`.
            threshold: diversity threshold.
            **scorer_kwargs: e.g. ``batch_size``, ``device``, ``dtype`` for both scorers.
        """
        from deita_hf.embedding import build_embedder
        from deita_hf.scoring import build_scorer

        return cls(build_scorer("complexity", complexity, **scorer_kwargs),
                   build_scorer("quality", quality, **scorer_kwargs),
                   build_embedder(embedder), threshold=threshold)

    def describe(self) -> dict[str, Any]:
        """The components' ``describe()`` (for the dataset card)."""
        parts = {"complexity_scorer": self.complexity_scorer, "quality_scorer": self.quality_scorer,
                 "embedder": self.embedder}
        out: dict[str, Any] = {k: (v.describe() if v is not None else None) for k, v in parts.items()}
        out["threshold"] = self.threshold
        return out

    def components(self) -> list[tuple[str, Any]]:
        return [("complexity", self.complexity_scorer), ("quality", self.quality_scorer),
                ("embedding", self.embedder)]

    def score(self, ds, **map_kwargs: Any):
        """Add ``complexity``, ``quality`` and ``embedding`` columns with ``Dataset.map``.

        Args:
            ds: a ``datasets.Dataset`` in any supported format.
            **map_kwargs: passed to ``Dataset.map`` (e.g. ``batch_size``, ``num_proc``).

        Returns:
            The dataset with the three columns added (existing columns kept; an existing column of
            the same name is replaced, with a warning).
        """
        map_kwargs.setdefault("batched", True)
        for column, component in self.components():
            if component is None:
                if column not in ds.column_names:
                    raise ValueError(f"No {column} component given and the dataset has no "
                                     f"{column!r} column (columns: {ds.column_names}).")
                warnings.warn(f"DatasetSelector: no {column} component; using the existing "
                              f"{column!r} column.", stacklevel=2)
                continue
            if column in ds.column_names:
                warnings.warn(f"DatasetSelector: replacing the dataset's existing {column!r} "
                              f"column with the output of {describe_name(component)}; set "
                              f"that component to None to keep the column.", stacklevel=2)
                ds = ds.remove_columns(column)
            ds = ds.map(component, desc=f"deita: {column} ({describe_name(component)})", **map_kwargs)
        return ds

    def select(self, ds, budget: int, **kwargs: Any):
        """Run :func:`deita_hf.selection.select_deita` on a scored dataset.

        Args:
            ds: output of :meth:`score`.
            budget: number of rows to keep.
            **kwargs: passed to ``select_deita`` (``threshold`` defaults to this selector's).
        """
        from deita_hf.selection import select_deita

        kwargs.setdefault("threshold", self.threshold)
        return select_deita(ds, budget, **kwargs)

    def __call__(self, ds, budget: int, *, map_kwargs: dict | None = None, **select_kwargs: Any):
        """``select(score(ds), budget)``."""
        return self.select(self.score(ds, **(map_kwargs or {})), budget, **select_kwargs)


def describe_name(component: Any) -> str:
    try:
        return str(component.describe()["name"])
    except (AttributeError, KeyError, TypeError):
        return type(component).__name__
