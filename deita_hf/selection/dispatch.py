"""Every selection strategy behind one name: the registry and the spec parser.

``select(ds, budget, strategy=..., **kwargs)`` runs any strategy of :data:`STRATEGIES`;
``parse_strategy("kcenter:metric=l2,score_column=s")`` is the one parser of strategy specs (the
CLI's ``--strategy``). The contract every strategy follows (budget, output columns, errors) is
:mod:`deita_hf.selection.common`.

Example:
    >>> from datasets import Dataset
    >>> parse_strategy("kcenter:metric=l2,block_size=512")
    ('kcenter', {'metric': 'l2', 'block_size': 512})
    >>> ds = Dataset.from_dict({"s": [1.0, 3.0, 2.0]})
    >>> select(ds, 2, "topk:column=s")["selection_score"][:]
    [3.0, 2.0]
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from deita_hf.errors import ConfigError

if TYPE_CHECKING:
    from datasets import Dataset

    from deita_hf.selection.result import SelectionStats

__all__ = ["STRATEGIES", "Strategy", "accepted_arguments", "parse_strategy", "select", "spec_value"]


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
    Strategy("mig", _S + "mig", "select_mig",
             "MIG: greedy information gain over an InsTag label graph"),
    Strategy("kmq", _S + "kmq", "select_kmq",
             "kMQ: k-means, equal budget per cluster, quality-weighted sampling"),
    Strategy("less", _S + "less", "select_less",
             "highest mean gradient cosine to a target set (LESS)"),
    Strategy("rds", _S + "rds", "select_rds",
             "RDS+: max embedding cosine per target task, round-robin over tasks"),
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
    names = [p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY
             and p.name != "decontaminate"]  # a step before the strategy: select()'s own
    return [n for n in names if not (spec and n == "return_stats")]


def _check_arguments(name: str, kwargs: dict[str, Any], *, spec: bool) -> None:
    accepted = accepted_arguments(name, spec=spec)
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise ConfigError(
            f"Strategy {name!r} takes no argument(s) {', '.join(map(repr, unknown))}; "
            f"accepted: {', '.join(accepted)}."
        )


def spec_value(text: str) -> Any:
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
        kwargs[key] = spec_value(text)
    _check_arguments(name, kwargs, spec=True)
    return name, kwargs


def select(
    ds: Dataset, budget: int, strategy: str = "deita", *, decontaminate: Any = None,
    **kwargs: Any
) -> Dataset | tuple[Dataset, SelectionStats]:
    """Run selection ``strategy`` (a name or a spec string) on ``ds``.

    Args:
        ds: the pool.
        budget: rows to select (an upper bound).
        strategy: a name of :data:`STRATEGIES`, or a spec ``"name:key=value,..."``.
        decontaminate: drop the rows matching benchmark prompts first, for every strategy
            (:mod:`deita_hf.selection.decontamination`): a spec such as
            ``"mt_bench,alpaca_eval=PATH"`` (13-gram overlap) or a
            :class:`~deita_hf.selection.decontamination.Decontaminator`; the strategy then
            selects from the rows left (indices in the stats refer to them: pass those rows,
            ``report.keep(ds)``, as the pool to ``save_selection``) and the stats carry the
            report (``stats.decontamination``).
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
    fn = _strategy(name).load()
    if decontaminate is None:
        return fn(ds, budget, **kwargs)
    from deita_hf.selection.decontamination import select_decontaminated

    return select_decontaminated(fn, ds, budget, decontaminate, **kwargs)
