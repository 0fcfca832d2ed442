"""``DatasetSelector``: score, embed and select in a few lines; ``deita-hf select`` runs on it.

Example:
    >>> from datasets import Dataset
    >>> from deita_hf.pipeline import DatasetSelector
    >>> from deita_hf.scoring import InstructionLengthScorer, ResponseLengthScorer
    >>> ds = Dataset.from_dict({"instruction": ["a", "bb", "ccc"], "output": ["x", "yy", "z"],
    ...                         "embedding": [[1.0, 0.0], [0.0, 1.0], [1.0, 0.01]]})
    >>> sel = DatasetSelector(InstructionLengthScorer(), ResponseLengthScorer(), None)
    >>> out = sel(ds, 2, progress=False)
    >>> out["instruction"][:]
    ['bb', 'ccc']
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from deita_hf.components import apply_components, build_component, component_name
from deita_hf.errors import ConfigError

if TYPE_CHECKING:
    from datasets import Dataset

    from deita_hf.selection.result import SelectionStats

__all__ = ["DatasetSelector"]

#: the three roles in the order they run, with their default columns
_ROLES = ("complexity", "quality", "embedding")
#: the card's names for the roles
CARD_ROLES = {"complexity": "complexity", "quality": "quality", "embedding": "embedder"}


class DatasetSelector:
    """Score a pool with DEITA's complexity and quality scorers, embed it, select a subset.

    Args:
        complexity_scorer: component adding ``complexity`` (e.g. :class:`ComplexityScorer`), or
            None to use the dataset's existing ``complexity`` column.
        quality_scorer: component adding ``quality``, or None (existing column).
        embedder: component adding ``embedding``, or None (existing column).
        threshold: cosine-similarity threshold of the diversity filter (the paper's 0.9).
        columns: role -> the column that role reads (default: ``complexity``, ``quality``,
            ``embedding``); a renamed column can only be precomputed (its component None).

    A component given as None is skipped in :meth:`score` (its column must then be in the
    dataset already; the card records it as "precomputed").

    :meth:`from_preset` (``deita``: the paper's set-up; ``fast``) and :meth:`from_pretrained`
    build the components from a preset; :attr:`preset` then names it (None otherwise).
    """

    def __init__(self, complexity_scorer: Any = None, quality_scorer: Any = None,
                 embedder: Any = None, *, threshold: float = 0.9,
                 columns: dict[str, str] | None = None) -> None:
        self.columns = {role: role for role in _ROLES}
        self.columns.update(columns or {})
        self.complexity_scorer = complexity_scorer
        self.quality_scorer = quality_scorer
        self.embedder = embedder
        self.threshold = threshold
        #: the preset the components came from (None: built from components or specs)
        self.preset: str | None = None

    @classmethod
    def from_specs(cls, complexity: str | None = None, quality: str | None = None,
                   embedder: str | None = "minilm", *, threshold: float = 0.9,
                   **options: Any) -> DatasetSelector:
        """Build the components from spec strings (see :mod:`deita_hf.components`).

        Args:
            complexity, quality: scorer specs (None: the published DEITA scorers; ``length``:
                the paper's length baselines; ``none``: use the pool's column).
            embedder: embedder spec (``minilm``, ``causal-lm:MODEL``, ``none``, ...).
            threshold: diversity threshold.
            **options: component options (``batch_size``, ``device``, ``dtype``,
                ``max_length``, ``on_error``); each component takes those it knows.
        """
        return cls(build_component("complexity", complexity, **options),
                   build_component("quality", quality, **options),
                   build_component("embedding", embedder, **options), threshold=threshold)

    @classmethod
    def from_preset(cls, name: str = "deita", *, complexity: str | None = None,
                    quality: str | None = None, embedder: str | None = None,
                    threshold: float | None = None, columns: dict[str, str] | None = None,
                    **options: Any) -> DatasetSelector:
        """A selector from a preset (:data:`deita_hf.pipeline.presets.PRESETS`), parts overridden.

        Args:
            name: ``"deita"`` (the paper's set-up: the published scorers in float32,
                :class:`~deita_hf.embedding.DeitaEmbedder` on Mistral-7B-v0.1, threshold 0.9)
                or ``"fast"`` (the published scorers in bf16 on a GPU, the packaged MiniLM).
            complexity, quality, embedder: specs replacing the preset's (None: the preset's;
                ``"none"``: use the pool's column).
            threshold: replaces the preset's threshold.
            columns: as for the constructor.
            **options: component options (``batch_size``, ``device``, ``dtype``,
                ``max_length``, ``on_error``); an explicit ``dtype`` replaces the preset's.

        Example:
            >>> sel = DatasetSelector.from_preset("deita", embedder="minilm")
            >>> sel.preset, sel.complexity_scorer.dtype, sel.embedder.describe()["kind"]
            ('deita', 'float32', 'sentence-transformers')
        """
        from deita_hf.pipeline.presets import get_preset, preset_components

        preset = get_preset(name)
        dtype = options.pop("dtype", None)
        parts = preset_components(preset, {"complexity": complexity, "quality": quality,
                                           "embedding": embedder}, dtype=dtype)
        built = [build_component(role, spec, **{**options, **extra})
                 for role, (spec, extra) in parts.items()]
        selector = cls(*built, threshold=preset.threshold if threshold is None else threshold,
                       columns=columns)
        selector.preset = preset.name
        return selector

    @classmethod
    def from_pretrained(cls, complexity: str | None = None, quality: str | None = None,
                        embedder: str | None = None, *, preset: str = "deita",
                        threshold: float | None = None, **options: Any) -> DatasetSelector:
        """The ``deita`` preset by default: the published DEITA scorers in float32 and
        :class:`~deita_hf.embedding.DeitaEmbedder` on Mistral-7B-v0.1 (all loaded lazily).

        Specs given here replace the preset's parts (see :meth:`from_preset`); for a fast,
        offline-friendly run use ``from_pretrained(preset="fast")`` or
        ``from_pretrained("length", "length", "minilm")``.
        """
        return cls.from_preset(preset, complexity=complexity, quality=quality, embedder=embedder,
                               threshold=threshold, **options)

    def __repr__(self) -> str:
        """One line: the preset, each role's component (or the column it reads), the threshold."""
        parts = [f"{role}={name!r}" for role, name in
                 ((r, component_name(c) if c is not None else f"column {self.columns[r]}")
                  for r, c in self.components())]
        return (f"DatasetSelector(preset={self.preset!r}, {', '.join(parts)}, "
                f"threshold={self.threshold})")

    def components(self) -> list[tuple[str, Any]]:
        """``[(role, component or None), ...]`` in the order they run."""
        return list(zip(_ROLES, (self.complexity_scorer, self.quality_scorer, self.embedder)))

    def describe(self) -> dict[str, Any]:
        """``complexity_scorer``, ``quality_scorer``, ``embedder`` (each component's
        ``describe()``, or None) and ``threshold``."""
        parts = dict(zip(("complexity_scorer", "quality_scorer", "embedder"),
                         (c for _, c in self.components())))
        out: dict[str, Any] = {k: (v.describe() if v is not None else None)
                               for k, v in parts.items()}
        out["threshold"] = self.threshold
        return out

    def card_scorers(self) -> dict[str, Any]:
        """What the dataset card lists per role (``complexity``, ``quality``, ``embedder``): the
        component's ``describe()``, or "precomputed" for a column read from the input."""
        out: dict[str, Any] = {}
        for role, component in self.components():
            out[CARD_ROLES[role]] = component.describe() if component is not None else {
                "name": f"column {self.columns[role]!r} of the input", "revision": None,
                "kind": "precomputed"}
        return out

    def setup(self, scorers: dict[str, Any] | None = None) -> dict[str, Any]:
        """What the card says about the set-up: ``preset``, ``scorer_dtype``, ``embedder`` and
        ``paper_setup`` (True, False, or None when a column was precomputed).

        Args:
            scorers: the card's scorer table (default: :meth:`card_scorers`).
        """
        from deita_hf.hub.run_setup import run_setup

        return run_setup(self.card_scorers() if scorers is None else scorers, preset=self.preset)

    def score(self, ds: Dataset, *, progress: bool = True, roles: Any = None,
              warn: bool = True, **map_kwargs: Any) -> Dataset:
        """Add ``complexity``, ``quality`` and ``embedding`` with ``Dataset.map``.

        Args:
            ds: a ``datasets.Dataset`` in any supported format.
            progress: show a progress bar per component.
            roles: the roles to produce or check (default: all three; a ready score column
                needs only ``("embedding",)``).
            warn: warn when a role uses the existing column, or a column is replaced.
            **map_kwargs: passed to ``Dataset.map`` (e.g. ``batch_size``, ``num_proc``).

        Returns:
            The dataset with the columns added. An existing column of the same name is replaced,
            with a warning; a role without a component needs its column in ``ds``.

        Raises:
            ConfigError: a role has no component and ``ds`` lacks its column.
        """
        todo = []
        for role, component in self.components():
            if roles is not None and role not in roles:
                continue
            column = self.columns[role]
            if component is None:
                if column not in ds.column_names:
                    raise ConfigError(f"No {role} component given and the dataset has no "
                                      f"{column!r} column (columns: {ds.column_names}). Pass a "
                                      f"component or add the column.")
                if warn:
                    warnings.warn(f"DatasetSelector: no {role} component; using the existing "
                                  f"{column!r} column.", stacklevel=2)
                continue
            if column != component.column:
                raise ConfigError(f"The {role} component writes {component.column!r}, but the "
                                  f"selector reads {column!r}: a renamed column must already be "
                                  f"in the dataset (its component None).")
            if component.column in ds.column_names and warn:
                warnings.warn(f"DatasetSelector: replacing the dataset's existing "
                              f"{component.column!r} column with the output of "
                              f"{component_name(component)}; set that component to None to keep "
                              f"the column.", stacklevel=2)
            todo.append(component)
        return apply_components(ds, todo, progress=progress, **map_kwargs)

    def select(self, ds: Dataset, budget: int, *, return_stats: bool = False,
               decontaminate: Any = None,
               **kwargs: Any) -> Dataset | tuple[Dataset, SelectionStats]:
        """Run :func:`deita_hf.selection.select_deita` on a scored dataset.

        Rows are taken by descending DEITA score, tied scores in ascending row index (a stable
        order; the original's pandas sort is unstable, so results equal the original's for
        untied scores).

        Args:
            ds: output of :meth:`score`.
            budget: the most rows to keep.
            return_stats: also return the :class:`~deita_hf.selection.SelectionStats`.
            decontaminate: drop rows matching benchmark prompts first (``"mt_bench"``, ... or a
                :class:`~deita_hf.selection.decontamination.Decontaminator`; see
                :meth:`decontaminate`); the stats then carry the report.
            **kwargs: passed to ``select_deita`` (``threshold`` defaults to this selector's).
        """
        from deita_hf.selection.dispatch import select

        kwargs.setdefault("threshold", self.threshold)
        if kwargs.get("score_column") is None:
            kwargs.setdefault("complexity_column", self.columns["complexity"])
            kwargs.setdefault("quality_column", self.columns["quality"])
        kwargs.setdefault("embedding_column", self.columns["embedding"])
        return select(ds, budget, "deita", decontaminate=decontaminate,
                      return_stats=return_stats, **kwargs)

    def decontaminate(self, ds: Dataset, against: Any, **options: Any) -> tuple[Dataset, Any]:
        """Drop the rows of ``ds`` whose user turns match benchmark prompts.

        Args:
            ds: the pool.
            against: ``"mt_bench"``, ``"mt_bench,alpaca_eval=PATH,FILE"``, ... (see
                :mod:`deita_hf.selection.decontamination`).
            **options: ``method`` (``ngram``, ``embedding``, ``both``), ``ngram``,
                ``threshold``, ...; the embedding methods use this selector's embedder unless
                ``embedder=`` is given.

        Returns:
            ``(the rows kept, the ContaminationReport)``.
        """
        from deita_hf.selection.decontamination import decontaminate

        if options.get("method", "ngram") != "ngram":
            options.setdefault("embedder", self.embedder)
        return decontaminate(ds, against, **options)

    def __call__(self, ds: Dataset, budget: int, *, progress: bool = True,
                 map_kwargs: dict | None = None, **select_kwargs: Any) -> Any:
        """``select(score(ds), budget)``."""
        scored = self.score(ds, progress=progress, **(map_kwargs or {}))
        return self.select(scored, budget, progress=progress, **select_kwargs)
