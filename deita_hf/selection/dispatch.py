"""Every selection strategy behind one name: the registry and the spec parser.

``select(ds, budget, strategy=..., **kwargs)`` runs any strategy of :data:`STRATEGIES` (name ->
:class:`~deita_hf.selection.strategy.SelectionStrategy` subclass, registered in
:mod:`deita_hf.selection.strategies`); ``build_strategy("kcenter:metric=l2,score_column=s")``
parses a strategy spec (the CLI's ``--strategy``) once into its typed object, and
``parse_strategy`` gives the same as ``(name, kwargs)``. The contract every strategy follows
(budget, output columns, errors) is :mod:`deita_hf.selection.common`.

Example:
    >>> from datasets import Dataset
    >>> parse_strategy("kcenter:metric=l2,block_size=512")
    ('kcenter', {'metric': 'l2', 'block_size': 512})
    >>> ds = Dataset.from_dict({"s": [1.0, 3.0, 2.0]})
    >>> select(ds, 2, "topk:column=s")["selection_score"][:]
    [3.0, 2.0]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from deita_hf.errors import ConfigError
from deita_hf.selection.strategies import STRATEGIES
from deita_hf.selection.strategy import SelectionStrategy, spec_value

if TYPE_CHECKING:
    from datasets import Dataset

    from deita_hf.selection.result import SelectionResult, SelectionStats

__all__ = ["STRATEGIES", "SelectionStrategy", "Strategy", "accepted_arguments", "build_strategy",
           "parse_strategy", "select", "spec_value", "strategy_class"]

#: the older name of the strategy base class (``STRATEGIES[name]`` is a subclass)
Strategy = SelectionStrategy


def strategy_class(name: str) -> type[SelectionStrategy]:
    """The class of strategy ``name``.

    Raises:
        ConfigError: an unknown name (the message lists the registered ones).
    """
    if name not in STRATEGIES:
        raise ConfigError(
            f"Unknown selection strategy {name!r}; accepted: {', '.join(STRATEGIES)}."
        )
    return STRATEGIES[name]


def accepted_arguments(name: str, *, spec: bool = False) -> list[str]:
    """Keyword arguments strategy ``name`` takes (``spec`` is kept for older callers: a spec
    and keyword arguments accept the same ones; ``return_stats`` is ``select``'s own)."""
    return strategy_class(name).accepted_arguments()


def _parse(spec: str) -> tuple[str, dict[str, Any]]:
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(f"A strategy spec is a non-empty string, got {spec!r}; "
                          f"accepted strategies: {', '.join(STRATEGIES)}.")
    name, _, rest = spec.partition(":")
    name = name.strip()
    strategy_class(name)
    kwargs: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, eq, text = (s.strip() for s in item.partition("="))
        if not eq or not key:
            raise ConfigError(f"Strategy spec {spec!r}: {item!r} is not key=value.")
        if key in kwargs:
            raise ConfigError(f"Strategy spec {spec!r}: {key!r} is given twice.")
        kwargs[key] = spec_value(text)
    return name, kwargs


def build_strategy(spec: str | SelectionStrategy, **kwargs: Any) -> SelectionStrategy:
    """Parse a strategy spec once into its typed, validated object.

    Args:
        spec: ``"name"`` or ``"name:key=value,key=value"`` (see :func:`parse_strategy`), or a
            strategy object (then ``kwargs`` are added to a copy).
        **kwargs: more arguments (values of any type, e.g. a ``label_embedder`` object); they
            may not repeat ones in the spec.

    Returns:
        The :class:`~deita_hf.selection.strategy.SelectionStrategy` subclass instance.

    Raises:
        ConfigError: an unknown strategy, an argument it does not take (the message lists the
            accepted ones), an argument given twice, an item without ``=``.

    Example:
        >>> s = build_strategy("topk:column=quality", descending=False)
        >>> s, s.reads()
        (TopKStrategy(column='quality', descending=False), ['quality'])
        >>> s.to_spec()
        'topk:column=quality,descending=false'
    """
    if isinstance(spec, SelectionStrategy):
        name, spec_kwargs, shown = spec.name, spec.arguments, repr(spec)
    else:
        (name, spec_kwargs), shown = _parse(spec), repr(spec)
    both = sorted(set(spec_kwargs) & set(kwargs))
    if both:
        raise ConfigError(f"{', '.join(both)} given both in the spec {shown} and as "
                          f"keyword argument(s).")
    return strategy_class(name)(**spec_kwargs, **kwargs)


def parse_strategy(spec: str) -> tuple[str, dict[str, Any]]:
    """Parse ``"name"`` or ``"name:key=value,key=value"`` into ``(name, kwargs)``.

    Values are read as int, float, bool (``true``/``false``), ``None`` (``none``/``null``) or
    else str; quote a value (``'1'``) to keep it a string. Commas cannot occur in values.
    :func:`build_strategy` gives the same as a typed object.

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
    strategy = build_strategy(spec)
    return strategy.name, strategy.arguments


def select(
    ds: Dataset, budget: int, strategy: str | SelectionStrategy = "deita", *,
    decontaminate: Any = None, return_stats: bool = False, **kwargs: Any
) -> Dataset | SelectionResult:
    """Run selection ``strategy`` (a name, a spec string or a strategy object) on ``ds``.

    Args:
        ds: the pool.
        budget: rows to select (an upper bound).
        strategy: a name of :data:`STRATEGIES`, a spec ``"name:key=value,..."``, or a
            :class:`~deita_hf.selection.strategy.SelectionStrategy`.
        decontaminate: drop the rows matching benchmark prompts first, for every strategy
            (:mod:`deita_hf.selection.decontamination`): a spec such as
            ``"mt_bench,alpaca_eval=PATH"`` (13-gram overlap) or a
            :class:`~deita_hf.selection.decontamination.Decontaminator`; the strategy then
            selects from the rows left (indices in the stats refer to them: pass those rows,
            ``report.keep(ds)``, as the pool to ``save_selection``) and the stats carry the
            report (``stats.decontamination``).
        return_stats: return the :class:`~deita_hf.selection.result.SelectionResult` (it
            unpacks as ``selected, stats``) instead of the selected rows only.
        **kwargs: the strategy's keyword arguments (they may not repeat ones in the spec).

    Returns:
        The selected ``Dataset``, or with ``return_stats`` the ``SelectionResult``.

    Raises:
        ConfigError: unknown strategy or arguments.

    Example:
        >>> from datasets import Dataset
        >>> select(Dataset.from_dict({"x": [1, 2, 3]}), 2, "random", seed=0)["x"][:]
        [3, 1]
    """
    result = build_strategy(strategy, **kwargs).select(ds, budget, decontaminate=decontaminate)
    return result if return_stats else result.dataset
