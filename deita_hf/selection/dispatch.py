"""Every selection strategy behind one name: the registry, the spec parser, the shared contract.

``select(ds, budget, strategy=..., **kwargs)`` runs any strategy of :data:`STRATEGIES`;
``parse_strategy("kcenter:metric=l2,score_column=s")`` is the one parser of strategy specs (the
CLI's ``--strategy``). The helpers below are the contract every selector follows: the budget
is an int >= 1 and an upper bound (fewer rows: all of them, with a warning); the output is the
kept rows in selection order with every original column plus ``selection_rank`` (0..kept-1)
and, where the strategy orders by a score, ``selection_score``; ``return_stats=True`` adds a
:class:`~deita_hf.selection.result.SelectionStats`. Argument errors are
:class:`~deita_hf.errors.ConfigError`, data errors :class:`~deita_hf.errors.SelectionError`
(missing columns, bad values: the message names the column and row).

Example:
    >>> from datasets import Dataset
    >>> parse_strategy("kcenter:metric=l2,block_size=512")
    ('kcenter', {'metric': 'l2', 'block_size': 512})
    >>> ds = Dataset.from_dict({"s": [1.0, 3.0, 2.0]})
    >>> select(ds, 2, "topk:column=s")["selection_score"][:]
    [3.0, 2.0]
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from datasets import Dataset

from deita_hf.errors import ConfigError
from deita_hf.selection.result import SelectionStats
from deita_hf.selection.score_columns import pool_scores as deita_scores

__all__ = [
    "RANK_COLUMN", "SCORE_COLUMN", "STRATEGIES", "Strategy", "accepted_arguments",
    "check_block_size", "check_budget", "check_choice", "check_free_columns", "finish",
    "highest_precision", "parse_strategy", "resolve_scores", "select", "warn_short",
]

#: columns every strategy adds (the score one only where the strategy orders by a score)
RANK_COLUMN, SCORE_COLUMN = "selection_rank", "selection_score"


@dataclass(frozen=True)
class Strategy:
    """One registered strategy: ``load()`` imports its function on first use."""

    name: str
    module: str
    function: str
    summary: str

    def load(self) -> Callable[..., Any]:
        return getattr(importlib.import_module(self.module), self.function)


_S = "deita_hf.selection."
#: strategy name -> :class:`Strategy` (imported lazily, so this module stays light)
STRATEGIES: dict[str, Strategy] = {s.name: s for s in (
    Strategy("deita", _S + "deita", "select_deita", "score-first, similarity-filtered (DEITA)"),
    Strategy("topk", _S + "topk", "select_topk", "highest values of one column"),
    Strategy("random", _S + "random_pick", "select_random", "seeded uniform sample"),
    Strategy("kcenter", _S + "kcenter", "select_kcenter", "k-center greedy on embeddings"),
    Strategy("facility", _S + "facility", "select_facility_location",
             "facility-location greedy (Superfiltering's diversity step)"),
    Strategy("kmeans", _S + "kmeans", "select_kmeans_quality",
             "k-means clusters, score-weighted sampling per cluster"),
    Strategy("instag", _S + "instag", "select_instag_diversity",
             "InsTag complexity-first tag coverage"),
)}


def _strategy(name: str) -> Strategy:
    if name not in STRATEGIES:
        raise ConfigError(
            f"Unknown selection strategy {name!r}; accepted: {', '.join(STRATEGIES)}."
        )
    return STRATEGIES[name]


def accepted_arguments(name: str, *, spec: bool = False) -> list[str]:
    """Keyword arguments strategy ``name`` takes (``spec=True``: those a spec string may set,
    i.e. without ``return_stats``)."""
    params = inspect.signature(_strategy(name).load()).parameters.values()
    names = [p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY]
    return [n for n in names if not (spec and n == "return_stats")]


def _check_arguments(name: str, kwargs: dict[str, Any], *, spec: bool) -> None:
    accepted = accepted_arguments(name, spec=spec)
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise ConfigError(
            f"Strategy {name!r} takes no argument(s) {', '.join(map(repr, unknown))}; "
            f"accepted: {', '.join(accepted)}."
        )


def _value(text: str) -> Any:
    """A spec value: quoted -> str; true/false -> bool; none/null -> None; int; float; str."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_strategy(spec: str) -> tuple[str, dict[str, Any]]:
    """Parse ``"name"`` or ``"name:key=value,key=value"`` into ``(name, kwargs)``.

    Values are read as int, float, bool (``true``/``false``), ``None`` (``none``/``null``) or
    else str; quote a value (``'1'``) to keep it a string. Commas cannot occur in values.

    Args:
        spec: the strategy spec.

    Returns:
        The strategy name and its keyword arguments.

    Raises:
        ConfigError: an unknown strategy, an argument it does not take, a repeated argument or
            an item without ``=``; the message lists what is accepted.

    Example:
        >>> parse_strategy("random:seed=7")
        ('random', {'seed': 7})
        >>> parse_strategy("kmeans:temperature=0.5,score_column='1'")[1]
        {'temperature': 0.5, 'score_column': '1'}
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(f"A strategy spec is a non-empty string, got {spec!r}; "
                          f"accepted strategies: {', '.join(STRATEGIES)}.")
    name, _, rest = spec.partition(":")
    name = name.strip()
    _strategy(name)
    kwargs: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, eq, text = (s.strip() for s in item.partition("="))
        if not eq or not key:
            raise ConfigError(f"Strategy spec {spec!r}: {item!r} is not key=value.")
        if key in kwargs:
            raise ConfigError(f"Strategy spec {spec!r}: {key!r} is given twice.")
        kwargs[key] = _value(text)
    _check_arguments(name, kwargs, spec=True)
    return name, kwargs


def select(ds: Dataset, budget: int, strategy: str = "deita", **kwargs: Any):
    """Run selection ``strategy`` (a name or a spec string) on ``ds``.

    Args:
        ds: the pool.
        budget: rows to select (an upper bound).
        strategy: a name of :data:`STRATEGIES`, or a spec ``"name:key=value,..."``.
        **kwargs: the strategy's keyword arguments (they may not repeat ones in the spec).

    Returns:
        What the strategy returns: the selected ``Dataset``, or ``(dataset, stats)``.

    Raises:
        ConfigError: unknown strategy or arguments.

    Example:
        >>> from datasets import Dataset
        >>> select(Dataset.from_dict({"x": [1, 2, 3]}), 2, "random", seed=0)["x"][:]
        [3, 1]
    """
    name, spec_kwargs = parse_strategy(strategy)
    both = sorted(set(spec_kwargs) & set(kwargs))
    if both:
        raise ConfigError(f"{', '.join(both)} given both in the spec {strategy!r} and as "
                          f"keyword argument(s).")
    kwargs = {**spec_kwargs, **kwargs}
    _check_arguments(name, kwargs, spec=False)
    return _strategy(name).load()(ds, budget, **kwargs)


# -- the shared contract ----------------------------------------------------------------------
def check_budget(budget: Any) -> int:
    """The budget as an int >= 1, else :class:`ConfigError`."""
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)):
        raise ConfigError(f"budget must be an int (rows to select), got {budget!r}.")
    if budget <= 0:
        raise ConfigError(f"budget must be >= 1 (rows to select), got {budget}.")
    return int(budget)


def check_block_size(block_size: Any) -> int:
    """Rows per block when reading the pool (``None``: 8192)."""
    if block_size is None:
        return 8192
    if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)) \
            or block_size < 1:
        raise ConfigError(f"block_size must be a positive int or None, got {block_size!r}.")
    return int(block_size)


def check_choice(name: str, value: Any, accepted: Sequence[str]) -> str:
    """``value`` if it is one of ``accepted``, else :class:`ConfigError` listing them."""
    if value not in accepted:
        raise ConfigError(f"{name} must be one of {', '.join(map(repr, accepted))}; "
                          f"got {value!r}.")
    return value


def check_free_columns(ds: Dataset, added: Sequence[str], read: Sequence[str | None]) -> None:
    """Refuse to overwrite a column the selection adds, unless the selection reads it."""
    for col in added:
        if col in ds.column_names and col not in read:
            raise ConfigError(
                f"The dataset already has a {col!r} column (from an earlier selection?), which "
                f"this selection adds. Remove or rename it first: ds.remove_columns([{col!r}])."
            )


def resolve_scores(
    ds: Dataset,
    *,
    score_column: str | None = None,
    complexity_column: str | None = None,
    quality_column: str | None = None,
) -> tuple[np.ndarray | None, dict[str, str | None]]:
    """The score of every row: ``score_column`` (a ready number per row), or the DEITA score
    Σ complexity × quality of ``complexity_column`` and ``quality_column``, or ``None``.

    Returns:
        ``(scores or None, {"score_column": ..., "complexity_column": ..., "quality_column":
        ...})``.

    Raises:
        ConfigError: both kinds given, or only one of complexity/quality.
        SelectionError: a missing column or a bad value (names the column and row).
    """
    if score_column is not None and (complexity_column or quality_column):
        raise ConfigError("Give either score_column or complexity_column and quality_column, "
                          "not both.")
    if (complexity_column is None) != (quality_column is None):
        raise ConfigError("complexity_column and quality_column go together (the DEITA score "
                          "is their product); give both, or score_column.")
    cols = {"score_column": score_column, "complexity_column": complexity_column,
            "quality_column": quality_column}
    if score_column is None and complexity_column is None:
        return None, cols
    kw = {} if score_column else {"complexity_column": complexity_column,
                                  "quality_column": quality_column}
    return deita_scores(ds, score_column=score_column, **kw), cols


@contextlib.contextmanager
def highest_precision() -> Iterator[None]:
    """Float32 matrix products without TF32 (the float32 error bounds assume true float32)."""
    import torch

    precision = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(precision)


def warn_short(kept: int, budget: int, why: str) -> None:
    """Warn that ``kept < budget`` rows are returned (``why``: the reason, as a phrase)."""
    if kept < budget:
        warnings.warn(f"Only {kept} rows {why}, fewer than the budget of {budget}; returning "
                      f"all {kept}.", stacklevel=3)


def finish(
    ds: Dataset,
    rows: np.ndarray,
    *,
    strategy: str,
    budget: int,
    start: float,
    added: dict[str, list],
    params: dict[str, Any],
    columns: dict[str, str | None],
    pool_scores: np.ndarray | None = None,
    examined: int | None = None,
    device: str = "cpu",
    max_similarity: list[float | None] | None = None,
    return_stats: bool = False,
):
    """Build the output (rows of ``ds`` in order, every column, then ``added`` columns, each
    replacing a same-named one) and, with ``return_stats``, the :class:`SelectionStats`."""
    rows = np.asarray(rows, dtype=np.int64)
    out = ds.select(rows.tolist())
    drop = [c for c in added if c in out.column_names]
    if drop:
        out = out.remove_columns(drop)
    if out._indices is not None:
        out = out.flatten_indices(keep_in_memory=True)
    for name, values in added.items():
        out = out.add_column(name, values)
    if not return_stats:
        return out
    stats = SelectionStats(
        strategy=strategy, budget=budget, pool_size=len(ds), kept=len(rows),
        examined=len(ds) if examined is None else int(examined),
        seconds=time.perf_counter() - start, params=params, columns=columns, device=device,
        max_similarity=list(max_similarity or []), rows=rows, pool_scores=pool_scores,
    )
    return out, stats
