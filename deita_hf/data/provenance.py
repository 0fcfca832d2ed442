"""What computed a dataset's columns, carried by the ``datasets.Dataset`` itself.

A scored pool remembers which component wrote each column (its ``describe()``: model,
revision, template, dtype, ...) so that whatever is made from it later — a selection, its
dataset card, the model card of a model trained on it — can say so without being told again.

The record lives in ``ds.info.description``, as one line ``deita_hf provenance: {JSON}`` after
any description the dataset already has. ``datasets`` copies ``DatasetInfo`` into every dataset
it derives (``map``, ``select``, ``filter``, ``add_column``, ``remove_columns``,
``rename_column``, ``shuffle``, ``sort``, ``train_test_split``, ``save_to_disk`` /
``load_from_disk``, ...), so the record travels with the rows; ``concatenate_datasets`` joins
the descriptions, and a column whose records then disagree is left out (not known). Reading
returns only the columns the dataset still has. A column overwritten by your own ``map`` keeps
the record of what wrote it first: call :func:`with_provenance` with ``replace=True`` (or
``forget``) to correct it.

Who writes it: :func:`deita_hf.components.apply_components` (each component's column) and
:func:`deita_hf.data.loading.load_pool` of a ``deita-hf score`` folder (the components in its
``deita_score.json``, and the run's engine and input as :func:`score_run_provenance`).

Example:
    >>> from datasets import Dataset
    >>> ds = Dataset.from_dict({"instruction": ["a", "b"], "complexity": [[1.0], [2.0]]})
    >>> ds = with_provenance(ds, {"complexity": {"name": "m", "kind": "model"}})
    >>> column_provenance(ds.select([1]).map(lambda r: r))
    {'complexity': {'name': 'm', 'kind': 'model'}}
    >>> column_provenance(ds.remove_columns("complexity"))
    {}
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datasets import Dataset

__all__ = ["PROVENANCE_MARKER", "column_provenance", "forget", "score_run_provenance",
           "with_provenance"]

#: the start of the description line that holds the record
PROVENANCE_MARKER = "deita_hf provenance: "


def _split(description: str) -> tuple[list[str], list[dict[str, Any]]]:
    """The description's own lines, and every provenance record found in it."""
    own, records = [], []
    for line in (description or "").split("\n"):
        if line.startswith(PROVENANCE_MARKER):
            try:
                value = json.loads(line[len(PROVENANCE_MARKER):])
            except json.JSONDecodeError:
                value = None
            if isinstance(value, dict):
                records.append(value)
                continue
        own.append(line)
    while own and not own[-1].strip():
        own.pop()
    return own, records


def _merged(records: list[dict[str, Any]]) -> dict[str, Any]:
    """One record from several (``concatenate_datasets``): keys whose values disagree go."""
    if len(records) == 1:
        return records[0]
    out: dict[str, Any] = {"columns": {}, "score_run": None}
    columns: dict[str, list] = {}
    for record in records:
        for column, value in (record.get("columns") or {}).items():
            columns.setdefault(column, []).append(value)
    out["columns"] = {c: v[0] for c, v in columns.items()
                      if len(v) == len(records) and all(x == v[0] for x in v)}
    runs = [r.get("score_run") for r in records]
    out["score_run"] = runs[0] if all(r == runs[0] for r in runs) else None
    return out


def _record(ds: Dataset) -> dict[str, Any]:
    _, records = _split(ds.info.description)
    return _merged(records) if records else {"columns": {}, "score_run": None}


def column_provenance(ds: Dataset) -> dict[str, dict[str, Any]]:
    """What wrote each of the dataset's columns, for the columns that have a record.

    Args:
        ds: a ``datasets.Dataset``.

    Returns:
        ``{column: the writing component's describe()}`` (only columns ``ds`` still has).

    Example:
        >>> from datasets import Dataset
        >>> column_provenance(Dataset.from_dict({"x": [1]}))
        {}
    """
    names = set(ds.column_names)
    return {c: dict(v) for c, v in (_record(ds).get("columns") or {}).items() if c in names}


def score_run_provenance(ds: Dataset) -> dict[str, Any] | None:
    """What the ``deita-hf score`` run that scored the rows recorded besides its components
    (``engine``, ``input``, ``folder``), or None when the rows did not come from one.

    Example:
        >>> from datasets import Dataset
        >>> ds = with_provenance(Dataset.from_dict({"x": [1]}), score_run={"engine": "local"})
        >>> score_run_provenance(ds)
        {'engine': 'local'}
    """
    run = _record(ds).get("score_run")
    return dict(run) if run else None


def with_provenance(ds: Dataset, columns: Mapping[str, Mapping[str, Any]] | None = None, *,
                    score_run: Mapping[str, Any] | None = None, replace: bool = True) -> Dataset:
    """Record what wrote some of a dataset's columns (in ``ds.info``; the dataset is returned).

    Args:
        ds: the dataset (its ``info`` is updated in place: ``datasets`` gives every derived
            dataset its own copy, so no other dataset changes).
        columns: ``{column: describe()}`` of the components that wrote them.
        score_run: the ``deita-hf score`` run's own record (engine, input, folder).
        replace: a column already recorded takes the new record (else the old one stays).

    Returns:
        ``ds``.

    Raises:
        ValueError: a record is not JSON-serialisable (the message names the column).

    Example:
        >>> from datasets import Dataset
        >>> ds = with_provenance(Dataset.from_dict({"q": [1.0]}), {"q": {"name": "a"}})
        >>> column_provenance(with_provenance(ds, {"q": {"name": "b"}}, replace=False))
        {'q': {'name': 'a'}}
    """
    own, _ = _split(ds.info.description)
    record = _record(ds)
    merged = dict(record.get("columns") or {})
    for column, value in (columns or {}).items():
        if replace or column not in merged:
            try:
                merged[column] = json.loads(json.dumps(dict(value), default=str))
            except (TypeError, ValueError) as err:
                raise ValueError(f"The provenance of column {column!r} is not JSON-serialisable "
                                 f"({err}).") from err
    run = dict(score_run) if score_run is not None else record.get("score_run")
    line = PROVENANCE_MARKER + json.dumps({"columns": merged, "score_run": run},
                                          ensure_ascii=False, default=str)
    ds.info.description = "\n".join([*own, line] if own else [line])
    return ds


def forget(ds: Dataset, columns: Iterable[str]) -> Dataset:
    """Drop the records of some columns (after overwriting them yourself).

    Example:
        >>> from datasets import Dataset
        >>> ds = with_provenance(Dataset.from_dict({"q": [1.0]}), {"q": {"name": "a"}})
        >>> column_provenance(forget(ds, ["q"]))
        {}
    """
    own, _ = _split(ds.info.description)
    record = _record(ds)
    drop = set(columns)
    kept = {c: v for c, v in (record.get("columns") or {}).items() if c not in drop}
    ds.info.description = "\n".join(own)
    return with_provenance(ds, kept, score_run=record.get("score_run"))
