"""Components: everything that adds columns to a dataset (scorers, embedders, taggers).

One interface (:class:`Component`), one parser of spec strings (:func:`parse_spec`), one
factory (:func:`build_component`), one way to name a component (:func:`describe_component`) and
one way to run components over a dataset (:func:`apply_components`, always with row indices so
errors name the real row). The CLI, :class:`~deita_hf.pipeline.DatasetSelector`, sharded
scoring and preference sampling all go through here.

A component is a callable for ``Dataset.map(batched=True, with_indices=True)`` that returns
``{component.column: [...]}``, has ``describe() -> dict`` (at least ``name``, ``kind``,
``column``), pickles without its model and fingerprints from its settings, not its weights.

Spec strings (``--complexity-scorer``, ``--quality-scorer``, ``--embedder``):

=====================  ===================================================================
spec                   component
=====================  ===================================================================
``none``               no component (the column must already be in the pool)
``length``             the paper's length baseline (scorers only)
``vllm:MODEL``         a DEITA scorer on the vLLM backend
``MODEL``              a DEITA scorer model (folder or Hub id); for ``embedding`` a
                       sentence-transformers folder (has ``modules.json``) or a causal LM
``minilm``             the packaged all-MiniLM-L6-v2 (embedding; not the paper's set-up)
``deita``              :class:`~deita_hf.embedding.DeitaEmbedder` on Mistral-7B-v0.1: the
                       paper's Repr-filter embeddings (embedding)
``deita:MODEL``        :class:`~deita_hf.embedding.DeitaEmbedder` on another model or a local
                       copy of Mistral-7B-v0.1 (embedding)
``sentence-transformers:MODEL``, ``causal-lm:MODEL``   explicit embedder kinds
=====================  ===================================================================

Example:
    >>> from deita_hf.components import build_component, describe_component, parse_spec
    >>> parse_spec("complexity", "length")
    ComponentSpec(role='complexity', kind='length', target=None)
    >>> describe_component(build_component("quality", "length"))
    'quality <- response-length [length-baseline] (a stand-in for the model scorer)'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from deita_hf.errors import ConfigError

if TYPE_CHECKING:
    from datasets import Dataset

__all__ = [
    "ROLES",
    "Component",
    "ComponentSpec",
    "apply_components",
    "build_component",
    "build_embedder",
    "build_scorer",
    "component_name",
    "describe_component",
    "parse_spec",
]

#: role -> the column its component writes
ROLES: dict[str, str] = {"complexity": "complexity", "quality": "quality", "embedding": "embedding"}

_SCORER_KINDS = ("none", "length", "vllm", "model")
_EMBEDDER_KINDS = ("none", "minilm", "deita", "sentence-transformers", "causal-lm")


@runtime_checkable
class Component(Protocol):
    """What every column-adding component provides."""

    #: the column the component writes
    column: str

    def describe(self) -> dict[str, Any]:
        """What a dataset card records: at least ``name``, ``kind`` and ``column``."""
        ...

    def __call__(self, batch: dict[str, list], indices: list[int] | None = None) -> dict[str, list]:
        """``{column: values}`` for a batch of ``Dataset.map(batched=True, with_indices=True)``."""
        ...


@dataclass(frozen=True)
class ComponentSpec:
    """A parsed spec string: which role, which kind of component, and its model (if any)."""

    role: str
    kind: str
    target: str | None = None


def parse_spec(role: str, spec: str | None) -> ComponentSpec:
    """Parse a component spec string (see the module docstring for the accepted forms).

    Args:
        role: ``"complexity"``, ``"quality"`` or ``"embedding"``.
        spec: the spec; None means the role's default (the published scorer / MiniLM).

    Returns:
        The :class:`ComponentSpec`.

    Raises:
        ConfigError: an unknown role, or a spec of the wrong form (``length`` for an embedder,
            an empty model after a prefix).

    Example:
        >>> parse_spec("embedding", "causal-lm:/models/mistral")
        ComponentSpec(role='embedding', kind='causal-lm', target='/models/mistral')
        >>> parse_spec("embedding", "deita")
        ComponentSpec(role='embedding', kind='deita', target=None)
    """
    if role not in ROLES:
        raise ConfigError(f"Unknown component role {role!r}; expected one of {sorted(ROLES)}.")
    text = None if spec is None else str(spec).strip()
    low = (text or "").lower()
    if role == "embedding":
        if text is None or low == "minilm":
            return ComponentSpec(role, "minilm")
        if low == "none":
            return ComponentSpec(role, "none")
        if low == "deita":
            return ComponentSpec(role, "deita")
        for prefix in ("deita:", "sentence-transformers:", "causal-lm:"):
            if low.startswith(prefix):
                return ComponentSpec(role, prefix[:-1], _target(role, text, prefix))
        if low == "length":
            raise ConfigError("--embedder length is not an embedder; use 'deita' (the paper's), "
                              "'deita:MODEL', 'minilm', a sentence-transformers folder, "
                              "'causal-lm:MODEL' or 'none'.")
        if (Path(text) / "modules.json").is_file() or text.startswith("sentence-transformers/"):
            return ComponentSpec(role, "sentence-transformers", text)
        return ComponentSpec(role, "causal-lm", text)
    if text is None:
        return ComponentSpec(role, "model", None)
    if low in ("none", "length"):
        return ComponentSpec(role, low)
    if low.startswith("vllm:"):
        return ComponentSpec(role, "vllm", _target(role, text, "vllm:"))
    return ComponentSpec(role, "model", text)


def _target(role: str, text: str, prefix: str) -> str:
    target = text[len(prefix):].strip()
    if not target:
        raise ConfigError(f"The {role} spec {text!r} names no model after {prefix!r}; "
                          f"write {prefix}PATH_OR_HUB_ID.")
    return target


def build_component(role: str, spec: str | ComponentSpec | None = None, **options: Any) -> Any:
    """Make the component a spec names (models load lazily, on first use).

    Args:
        role: ``"complexity"``, ``"quality"`` or ``"embedding"``.
        spec: a spec string or a parsed :class:`ComponentSpec` (None: the role's default).
        **options: passed to the component's constructor; None values are dropped, and
            options a component does not take (e.g. ``max_length`` for MiniLM) are ignored
            for it, so one set of CLI options can serve every component.

    Returns:
        The component, or None for ``none``.

    Example:
        >>> build_component("complexity", "none") is None
        True
    """
    parsed = spec if isinstance(spec, ComponentSpec) else parse_spec(role, spec)
    if parsed.kind == "none":
        return None
    kwargs = {k: v for k, v in options.items() if v is not None}
    if parsed.role == "embedding":
        from deita_hf.embedding import CausalLMEmbedder, DeitaEmbedder, SentenceEmbedder

        if parsed.kind == "deita":
            kwargs = _accepted(DeitaEmbedder, kwargs)
            return (DeitaEmbedder(parsed.target, **kwargs) if parsed.target
                    else DeitaEmbedder(**kwargs))
        if parsed.kind == "causal-lm":
            return CausalLMEmbedder(parsed.target, **_accepted(CausalLMEmbedder, kwargs))
        return SentenceEmbedder(parsed.target, **_accepted(SentenceEmbedder, kwargs))
    from deita_hf.scoring import (
        ComplexityScorer,
        InstructionLengthScorer,
        QualityScorer,
        ResponseLengthScorer,
    )

    if parsed.kind == "length":
        return InstructionLengthScorer() if parsed.role == "complexity" else ResponseLengthScorer()
    cls = ComplexityScorer if parsed.role == "complexity" else QualityScorer
    if parsed.kind == "vllm":
        kwargs["backend"] = "vllm"
    return cls(parsed.target, **_accepted(cls, kwargs))


def _accepted(cls: type, kwargs: dict[str, Any]) -> dict[str, Any]:
    import inspect

    params = inspect.signature(cls.__init__).parameters
    return {k: v for k, v in kwargs.items() if k in params}


def build_scorer(kind: str, spec: str | None = None, **kwargs: Any) -> Any:
    """A complexity or quality scorer from a spec (see :func:`build_component`).

    Example:
        >>> build_scorer("complexity", "length").describe()["kind"]
        'length-baseline'
    """
    if kind not in ("complexity", "quality"):
        raise ConfigError(f"kind must be 'complexity' or 'quality', got {kind!r}.")
    return build_component(kind, spec, **kwargs)


def build_embedder(spec: str | None = "minilm", **kwargs: Any) -> Any:
    """An embedder from a spec (see :func:`build_component`).

    Example:
        >>> build_embedder("minilm").describe()["kind"]
        'sentence-transformers'
    """
    return build_component("embedding", spec, **kwargs)


def component_name(component: Any) -> str:
    """The component's ``describe()["name"]`` (its class name when it has none)."""
    try:
        return str(component.describe()["name"])
    except (AttributeError, KeyError, TypeError):
        return type(component).__name__


def describe_component(component: Any) -> str:
    """One line naming a component and its column, flagging the length baselines as stand-ins."""
    try:
        d = component.describe()
    except AttributeError:
        return f"{getattr(component, 'column', '?')} <- {type(component).__name__}"
    note = " (a stand-in for the model scorer)" if d.get("kind") == "length-baseline" else ""
    return f"{d.get('column', getattr(component, 'column', '?'))} <- {d['name']} [{d['kind']}]{note}"


class _Reindexed:
    """Calls a component with the pool's row numbers instead of the mapped dataset's.

    ``offset``: added to every index (a shard starting at that row); ``index_column``: the
    row numbers are read from that column instead.
    """

    def __init__(self, component: Any, offset: int = 0, index_column: str | None = None):
        self.component = component
        self.offset = int(offset)
        self.index_column = index_column

    def __call__(self, batch: dict[str, list], indices: list[int]) -> dict[str, list]:
        if self.index_column is not None:
            rows = [int(i) for i in batch[self.index_column]]
        else:
            rows = [int(i) + self.offset for i in indices]
        return self.component(batch, rows)


def apply_components(
    ds: Dataset,
    components: Sequence[Any],
    *,
    progress: bool = True,
    label: str = "deita",
    offset: int = 0,
    index_column: str | None = None,
    replace: bool = True,
    **map_kwargs: Any,
) -> Dataset:
    """Run components over a dataset with ``Dataset.map(batched=True, with_indices=True)``.

    Args:
        ds: the dataset.
        components: components, applied in order (None entries are skipped).
        progress: show a progress bar per component.
        label: the progress bars' prefix.
        offset: added to the row indices the components see (a shard of a larger pool).
        index_column: a column holding the pool's row numbers, passed instead of indices.
        replace: drop an existing column of the same name first (else it is an error).
        **map_kwargs: passed to ``Dataset.map`` (``batch_size``, ``num_proc``, ...).

    Returns:
        The dataset with each component's column added.

    Raises:
        ConfigError: a component's column exists and ``replace`` is False.

    Example:
        >>> from datasets import Dataset
        >>> ds = Dataset.from_dict({"instruction": ["Hi there"], "output": ["Hello"]})
        >>> out = apply_components(ds, [build_scorer("complexity", "length")], progress=False)
        >>> out["complexity"][:]
        [[8.0]]
    """
    from datasets.utils.logging import is_progress_bar_enabled

    show = progress and is_progress_bar_enabled()
    for component in components:
        if component is None:
            continue
        column = getattr(component, "column", None)
        if column and column in ds.column_names:
            if not replace:
                raise ConfigError(f"The dataset already has a {column!r} column, which "
                                  f"{component_name(component)} would write; remove it first.")
            ds = ds.remove_columns(column)
        fn = component if (offset == 0 and index_column is None) else _Reindexed(
            component, offset, index_column)
        ds = ds.map(fn, batched=True, with_indices=True,
                    desc=f"{label}: {describe_component(component).split(' [')[0]}" if show else None,
                    **map_kwargs)
    return ds
