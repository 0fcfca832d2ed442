"""The strategy contract: :class:`SelectionStrategy`, the base class of every selection strategy.

A strategy is one class: its ``name`` (the spec's name, e.g. ``kcenter`` for
``KCenterStrategy``), the function that runs its algorithm, the columns it reads (some named by
its arguments: :class:`ColumnRead`, plus its score) and the columns it adds. An instance is a
parsed, validated spec (the name and its arguments); :meth:`SelectionStrategy.select` runs it
and always returns a :class:`~deita_hf.selection.result.SelectionResult`.

Adding a strategy is one subclass decorated with :func:`register_strategy` in
:mod:`deita_hf.selection.strategies`; :data:`STRATEGIES` (also
``deita_hf.selection.dispatch.STRATEGIES``) is the registry.

Example:
    >>> from deita_hf.selection.dispatch import build_strategy
    >>> s = build_strategy("kcenter:score_column=s")
    >>> s
    KCenterStrategy(score_column='s')
    >>> s.reads(), s.writes()
    (['embedding', 's'], ['selection_rank', 'kcenter_distance', 'selection_score'])
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from deita_hf.errors import ConfigError

if TYPE_CHECKING:
    from datasets import Dataset

    from deita_hf.selection.result import SelectionResult

__all__ = ["SCORE_ARGUMENTS", "SCORE_INPUTS", "STRATEGIES", "ColumnRead", "SelectionStrategy",
           "register_strategy", "spec_value"]

#: the arguments that choose a strategy's score (a ready score, or Σ complexity × quality)
SCORE_ARGUMENTS = ("score_column", "complexity_column", "quality_column")
#: how a strategy takes a score: ``none``; ``optional`` (:data:`SCORE_ARGUMENTS`, else none);
#: ``deita`` (:data:`SCORE_ARGUMENTS`, default complexity × quality); ``column`` (the one
#: column its ``column`` argument names; required)
SCORE_INPUTS = ("none", "optional", "deita", "column")
#: arguments that are not the algorithm's: ``select``'s own
_NOT_ARGUMENTS = ("return_stats", "decontaminate")

#: strategy name -> class; filled by :func:`register_strategy`
STRATEGIES: dict[str, type[SelectionStrategy]] = {}


@dataclass(frozen=True)
class ColumnRead:
    """One pool column a strategy reads, named by one of its arguments.

    Attributes:
        argument: the keyword argument naming the column (e.g. ``embedding_column``).
        default: the column read when the argument is not given (the function's default).
        role: the role that computes it (``embedding``), or None for other columns.
    """

    argument: str
    default: str | None
    role: str | None = None


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


def register_strategy(cls: type[SelectionStrategy]) -> type[SelectionStrategy]:
    """Class decorator: add ``cls`` to :data:`STRATEGIES` under ``cls.name``.

    Raises:
        ConfigError: a name taken, a class name not ``<Name>Strategy``, an unknown
            ``score_input``.
    """
    if not cls.name or cls.name in STRATEGIES:
        raise ConfigError(f"Strategy name {cls.name!r} of {cls.__name__} is empty or taken.")
    expected = cls.name.replace("_", "").lower() + "strategy"
    if cls.__name__.lower() != expected:
        raise ConfigError(f"Strategy {cls.name!r} is implemented by {cls.__name__}; name the "
                          f"class after the strategy (e.g. {cls.name.title()}Strategy).")
    if cls.score_input not in SCORE_INPUTS:
        raise ConfigError(f"{cls.__name__}.score_input={cls.score_input!r}; accepted: "
                          f"{', '.join(SCORE_INPUTS)}.")
    STRATEGIES[cls.name] = cls
    return cls


class SelectionStrategy:
    """A selection strategy with validated arguments; subclasses declare the class attributes.

    Args:
        **arguments: the strategy's keyword arguments (those of its function, without
            ``return_stats``); an unknown one raises :class:`ConfigError` naming the accepted.

    Class attributes:
        name: the strategy's name in specs (``KCenterStrategy.name == "kcenter"``).
        summary: one line for tables and cards.
        function: ``"module:function"`` of the algorithm (imported on first use).
        column_reads: the :class:`ColumnRead` of each column named by an argument.
        score_input: one of :data:`SCORE_INPUTS`.
        adds: the columns every run adds.
        adds_with_score: the columns added when a score is read.
        may_add: the columns some runs add (e.g. ``less_task`` with several target tasks).
        other_column_arguments: arguments that name columns of other data, not of the pool
            (e.g. the LESS target's ``target_column``).
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    function: ClassVar[str] = ""
    column_reads: ClassVar[tuple[ColumnRead, ...]] = ()
    score_input: ClassVar[str] = "none"
    adds: ClassVar[tuple[str, ...]] = ()
    adds_with_score: ClassVar[tuple[str, ...]] = ()
    may_add: ClassVar[tuple[str, ...]] = ()
    other_column_arguments: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **arguments: Any) -> None:
        accepted = self.accepted_arguments()
        unknown = sorted(set(arguments) - set(accepted))
        if unknown:
            raise ConfigError(
                f"Strategy {self.name!r} takes no argument(s) {', '.join(map(repr, unknown))}; "
                f"accepted: {', '.join(accepted)}.")
        named = [c.argument for c in self.column_reads] + list(self.other_column_arguments)
        for key in [*named, *SCORE_ARGUMENTS, "column"]:
            value = arguments.get(key)
            if key in arguments and value is not None and not isinstance(value, str):
                raise ConfigError(f"Strategy {self.name!r}: {key} names a column (a string), "
                                  f"got {value!r}.")
        self._arguments = dict(arguments)

    # -- the declarations ----------------------------------------------------------------------
    @classmethod
    def load(cls) -> Callable[..., Any]:
        """The algorithm's function (its module imported now)."""
        module, _, attr = cls.function.partition(":")
        return getattr(importlib.import_module(module), attr)

    @classmethod
    def accepted_arguments(cls) -> list[str]:
        """The keyword arguments the strategy takes (its function's, without ``return_stats``)."""
        params = inspect.signature(cls.load()).parameters.values()
        return [p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY
                and p.name not in _NOT_ARGUMENTS]

    @classmethod
    def required_arguments(cls) -> list[str]:
        """The arguments without a default (``topk``'s ``column``, ``less``'s ``target``)."""
        params = inspect.signature(cls.load()).parameters.values()
        return [p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY
                and p.default is inspect.Parameter.empty]

    @property
    def arguments(self) -> dict[str, Any]:
        """A copy of the arguments given (defaults not filled in)."""
        return dict(self._arguments)

    def score_columns(self) -> dict[str, str]:
        """The score arguments in effect -> their columns (empty: the strategy reads no score).

        ``deita`` reads ``score_column``, else complexity × quality (default columns
        ``complexity`` and ``quality``); ``topk`` reads its ``column``.
        """
        args = self._arguments
        if self.score_input == "column":
            return {"column": args["column"]} if args.get("column") else {}
        if self.score_input == "none":
            return {}
        if args.get("score_column") is not None:
            return {"score_column": args["score_column"]}
        defaults = {"complexity_column": "complexity", "quality_column": "quality"} \
            if self.score_input == "deita" else {}
        out = {k: args.get(k, defaults.get(k)) for k in SCORE_ARGUMENTS[1:]}
        return {k: v for k, v in out.items() if v is not None}

    def reads(self) -> list[str]:
        """The pool columns this run reads: those its arguments name, then its score's."""
        named = [self._arguments.get(c.argument, c.default) for c in self.column_reads]
        cols = [c for c in named if c is not None] + list(self.score_columns().values())
        return list(dict.fromkeys(cols))

    def writes(self) -> list[str]:
        """The columns this run may add (``adds``, ``adds_with_score`` when it reads a score,
        ``may_add``); a same-named column of the pool is replaced only where it is read."""
        scored = self.adds_with_score if self.score_columns() else ()
        return list(dict.fromkeys([*self.adds, *scored, *self.may_add]))

    # -- running -------------------------------------------------------------------------------
    def select(self, ds: Dataset, budget: int, *, decontaminate: Any = None) -> SelectionResult:
        """Select up to ``budget`` rows of ``ds``.

        Args:
            ds: the pool (every column is kept in the output).
            budget: rows to select (an upper bound).
            decontaminate: drop rows matching benchmark prompts first (as for
                :func:`deita_hf.selection.dispatch.select`).

        Returns:
            The :class:`~deita_hf.selection.result.SelectionResult`.

        Raises:
            ConfigError: a required argument missing, ``ds`` a ``DatasetDict`` (select one
                split, or per split with ``DatasetDict.select_deita``), or the function's own
                argument errors.
        """
        from datasets import DatasetDict

        from deita_hf.selection.result import SelectionResult

        missing = [a for a in self.required_arguments() if a not in self._arguments]
        if missing:
            raise ConfigError(f"Strategy {self.name!r} needs {', '.join(missing)}: e.g. "
                              f"{self.name}:{missing[0]}=VALUE.")
        if isinstance(ds, DatasetDict):
            raise ConfigError(
                f"Strategy {self.name!r} selects from one Dataset, got a DatasetDict with the "
                f"splits {sorted(ds)}; pass one split (ds['train']), or for deita select in "
                f"every split with dd.select_deita(budget, ...).")

        fn = self.load()
        if decontaminate is None:
            out = fn(ds, budget, return_stats=True, **self._arguments)
        else:
            from deita_hf.selection.decontamination import select_decontaminated

            out = select_decontaminated(fn, ds, budget, decontaminate, return_stats=True,
                                        **self._arguments)
        if isinstance(out, SelectionResult):
            return out
        selected, stats = out
        return SelectionResult(selected, stats)

    def replace(self, **arguments: Any) -> SelectionStrategy:
        """A copy with ``arguments`` added or replaced (validated again)."""
        return type(self)(**{**self._arguments, **arguments})

    def to_spec(self) -> str:
        """The spec string (``name:key=value,...``) that parses back to this strategy.

        Raises:
            ConfigError: an argument that is not a str, number, bool or None, or a str with a
                comma.
        """
        items = []
        for key, value in self._arguments.items():
            if value is not None and not isinstance(value, (str, int, float, bool)):
                raise ConfigError(f"Strategy {self.name!r}: {key}={type(value).__name__} has "
                                  f"no spec form.")
            text = "none" if value is None else str(value).lower() if isinstance(value, bool) \
                else str(value)
            if isinstance(value, str) and "," in value:
                raise ConfigError(f"Strategy {self.name!r}: {key}={value!r} has a comma, which "
                                  f"a spec cannot hold.")
            if isinstance(value, str) and spec_value(value) != value:
                text = f"'{value}'"
            items.append(f"{key}={text}")
        return self.name + (":" + ",".join(items) if items else "")

    def __eq__(self, other: object) -> bool:
        same = type(other) is type(self)
        return same and other._arguments == self._arguments  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]  # mutable arguments

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={_short(v)}" for k, v in self._arguments.items())
        return f"{type(self).__name__}({args})"


def _short(value: Any) -> str:
    """A one-line repr (a Dataset or callable by its type)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return repr(value)
    return f"<{type(value).__name__}>"
