"""The component interface and the one way to run components over a dataset.

Example:
    >>> from datasets import Dataset
    >>> from deita_hf.components import apply_components, build_scorer
    >>> ds = Dataset.from_dict({"instruction": ["Hi there"], "output": ["Hello"]})
    >>> apply_components(ds, [build_scorer("complexity", "length")], progress=False)["complexity"][:]
    [[8.0]]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from deita_hf.errors import ConfigError

if TYPE_CHECKING:
    from datasets import Dataset

__all__ = ["Component", "apply_components", "component_columns", "component_name",
           "describe_component"]


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
    column = d.get("column", getattr(component, "column", "?"))
    extra = [c for c in d.get("columns", ()) if c != column]
    if extra:
        column += f" (+{', '.join(extra)})"
    return f"{column} <- {d['name']} [{d['kind']}]{note}"


def component_columns(component: Any) -> list[str]:
    """Every column a component writes: ``describe()["columns"]``, else its ``column``.

    Example:
        >>> from deita_hf.components import build_component
        >>> component_columns(build_component("scorer", "random"))
        ['random']
    """
    try:
        columns = component.describe().get("columns")
    except AttributeError:
        columns = None
    if columns:
        return list(columns)
    column = getattr(component, "column", None)
    return [column] if column else []


class _Reindexed:
    """Calls a component with the pool's row numbers instead of the mapped dataset's.

    ``offset``: added to every index (a shard starting at that row); ``index_column``: the
    row numbers are read from that column instead.
    """

    def __init__(self, component: Any, offset: int = 0, index_column: str | None = None) -> None:
        self.component = component
        self.offset = int(offset)
        self.index_column = index_column

    def __call__(self, batch: dict[str, list], indices: list[int]) -> dict[str, list]:
        if self.index_column is not None:
            rows = [int(i) for i in batch[self.index_column]]
        else:
            rows = [int(i) + self.offset for i in indices]
        return self.component(batch, rows)


def _check_rows(ds: Dataset, offset: int, index_column: str | None) -> None:
    """Every row's instructions present, before any component runs (a pool in no conversation
    format is left to the components)."""
    from deita_hf.data.formats import FORMATS, check_instructions, detect_format
    from deita_hf.errors import FormatError

    try:
        fmt = detect_format(ds.column_names)
    except FormatError:
        return
    columns = sorted({c for cols in FORMATS.values() for c in cols} & set(ds.column_names)
                     | {"input", "context", "history", "system"} & set(ds.column_names))
    if index_column is not None:
        columns.append(index_column)
    view = ds.select_columns(columns)
    step = 1000
    for lo in range(0, len(view), step):
        batch = view[lo: lo + step]
        rows = ([int(i) for i in batch[index_column]] if index_column is not None
                else list(range(offset + lo, offset + lo + len(batch[columns[0]]))))
        check_instructions(batch, format=fmt, indices=rows)


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
        The dataset with each component's column added, and each such column's record (the
        component's ``describe()``, taken after it ran) in the dataset's provenance
        (:func:`deita_hf.data.provenance.column_provenance`).

    Raises:
        ConfigError: a component's column exists and ``replace`` is False.
        FormatError: a row's instruction is empty or null
            (:func:`~deita_hf.data.formats.check_instructions`, over every row before the first
            component runs; names the pool's row).

    Example:
        >>> from datasets import Dataset
        >>> from deita_hf.components import build_scorer
        >>> ds = Dataset.from_dict({"instruction": ["Hi there"], "output": ["Hello"]})
        >>> out = apply_components(ds, [build_scorer("complexity", "length")], progress=False)
        >>> out["complexity"][:]
        [[8.0]]
    """
    from datasets.utils.logging import is_progress_bar_enabled

    show = progress and is_progress_bar_enabled()
    if any(c is not None for c in components):
        _check_rows(ds, offset, index_column)
    for component in components:
        if component is None:
            continue
        present = [c for c in component_columns(component) if c in ds.column_names]
        if present:
            if not replace:
                raise ConfigError(f"The dataset already has a {present[0]!r} column, which "
                                  f"{component_name(component)} would write; remove it first.")
            ds = ds.remove_columns(present)
        fn = component if (offset == 0 and index_column is None) else _Reindexed(
            component, offset, index_column)
        ds = ds.map(fn, batched=True, with_indices=True,
                    desc=f"{label}: {describe_component(component).split(' [')[0]}" if show else None,
                    **map_kwargs)
        _record_provenance(ds, component)
    return ds


def _record_provenance(ds: Dataset, component: Any) -> None:
    """Record the component's ``describe()`` as the provenance of every column it wrote."""
    from deita_hf.data.provenance import with_provenance

    try:
        record = component.describe()
    except AttributeError:
        record = {"name": type(component).__name__, "kind": "unknown"}
    with_provenance(ds, {column: record for column in component_columns(component)
                         if column in ds.column_names})
