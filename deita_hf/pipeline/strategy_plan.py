"""Which columns a selection strategy reads, and which of them a run must compute first.

``deita-hf select --strategy NAME[:ARGS]`` computes only what the strategy needs: embeddings
for ``kcenter``/``facility``/``kmeans``, the complexity (or quality) column a ``topk`` names,
and so on. :func:`plan_strategy` decides this from the columns the strategy's class declares
(:class:`~deita_hf.selection.strategy.SelectionStrategy`: ``column_reads``, ``score_input``,
``reads()``) and the pool's columns, before any model loads.

Score rules for strategies that take one (``kcenter``, ``kmeans``, ``instag``): the spec's own
``score_column`` / ``complexity_column`` / ``quality_column`` win (``score_column=none``: no
score); else ``--score-column``; else the DEITA score Σ complexity × quality when both columns
are in the pool or computed by an explicit ``--complexity-scorer``/``--quality-scorer``; else
the strategy runs without a score. ``topk`` reads ``column=`` (or ``--score-column``).

``less`` reads the gradient features ``less_grad`` (``features_column=``), which ``--scorer
less:MODEL`` computes, and needs ``target=PATH``.

``mig`` reads the tags (``tags_column``, e.g. from ``--scorer instag@GENERATOR``) and a score as
above, and embeds the tag labels: with the spec's ``label_embedder=SPEC``, else ``--embedder``,
else the preset's embedder (:attr:`StrategyPlan.label_embedder`; built by the caller). ``kmq``
reads embeddings and a score, as ``kmeans`` does.

Example:
    >>> plan = plan_strategy("topk", {"column": "complexity"}, ["instruction", "output"],
    ...                      preset_specs={"complexity": "length", "quality": "length",
    ...                                    "embedding": "minilm"})
    >>> plan.kwargs, plan.specs
    ({'column': 'complexity', 'progress': True}, {'complexity': 'length'})
    >>> plan_strategy("random", {"seed": 1}, ["instruction"], preset_specs={}).specs
    {}
    >>> plan = plan_strategy("mig", {}, ["instruction", "tags", "complexity", "quality"],
    ...                      preset_specs={"embedding": "minilm"})
    >>> plan.label_embedder, plan.reads
    ('minilm', ['tags', 'complexity', 'quality'])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from deita_hf.errors import ConfigError

__all__ = ["ROLES", "SCORE_KEYS", "StrategyPlan", "plan_strategy"]

#: the roles a selection run can compute (their default column is the role's name)
ROLES = ("complexity", "quality", "embedding")
#: the strategy arguments that choose a score
SCORE_KEYS = ("score_column", "complexity_column", "quality_column")
_FLAGS = {"complexity": "--complexity-scorer", "quality": "--quality-scorer",
          "embedding": "--embedder"}
#: strategy -> how to compute what it reads, added to the missing-column error
_HINTS = {"less": "; LESS gradient features: --scorer less:MODEL"}


@dataclass
class StrategyPlan:
    """What one ``deita-hf select --strategy`` run does before it selects.

    Attributes:
        name: the strategy.
        kwargs: its keyword arguments (the spec's, with the columns and options filled in).
        specs: role -> the component spec to compute that role's column with.
        reads: the columns the strategy reads.
        roles: the roles the card lists (computed, or read from the pool).
        label_embedder: the embedding spec of the labels a strategy embeds itself (``mig``);
            None for the others.
    """

    name: str
    kwargs: dict[str, Any]
    specs: dict[str, str] = field(default_factory=dict)
    reads: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    label_embedder: str | None = None


def _explicit(spec: str | None) -> bool:
    return spec is not None and spec.strip().lower() != "none"


def plan_strategy(
    name: str,
    spec_kwargs: Mapping[str, Any],
    columns: Sequence[str],
    *,
    preset_specs: Mapping[str, str],
    flags: Mapping[str, str | None] | None = None,
    role_columns: Mapping[str, str] | None = None,
    score_column: str | None = None,
    produced: Sequence[str] = (),
    device: str | None = None,
    progress: bool = True,
) -> StrategyPlan:
    """Plan a non-DEITA selection run: the strategy's arguments and the columns to compute.

    Args:
        name: a strategy of :data:`deita_hf.selection.dispatch.STRATEGIES`.
        spec_kwargs: the arguments parsed from its spec.
        columns: the pool's columns.
        preset_specs: role -> the preset's spec (used when a needed column is missing).
        flags: role -> the spec given on the command line (None: not given; ``"none"``: never
            compute).
        role_columns: role -> the column it lives in (``--complexity-column``, ...).
        score_column: ``--score-column``: a ready score.
        produced: columns the generic scorers (``--scorer``) will add.
        device: ``--device``, for strategies that take one.
        progress: for strategies that take ``progress``.

    Returns:
        The :class:`StrategyPlan`.

    Raises:
        ConfigError: a column the strategy reads that nothing provides, a flag that would
            replace a pool column, ``--score-column`` with a strategy that reads no score.
    """
    from deita_hf.selection.dispatch import strategy_class

    cls = strategy_class(name)
    flags = {role: (flags or {}).get(role) for role in ROLES}
    role_columns = {role: (role_columns or {}).get(role) or role for role in ROLES}
    have = set(columns) | set(produced)
    accepted = cls.accepted_arguments()
    kwargs = dict(spec_kwargs)

    def computable(role: str) -> bool:
        col = role_columns[role]
        return col in have or (_explicit(flags[role]) and col == role)

    for read in cls.column_reads:  # the columns the strategy's arguments name
        kwargs.setdefault(read.argument,
                          role_columns[read.role] if read.role else read.default)
    for key, value in (("device", device), ("progress", progress)):
        if key in accepted and value is not None:
            kwargs.setdefault(key, value)
    if cls.score_input == "column":  # topk: the column to rank by
        if "column" not in kwargs:
            if not score_column:
                raise ConfigError(f"Strategy {name!r} needs the column to rank by: "
                                  f"--strategy {name}:column=NAME (e.g. column=complexity) or "
                                  f"--score-column NAME.")
            kwargs["column"] = score_column
    elif cls.score_input in ("optional", "deita"):
        if not any(k in kwargs for k in SCORE_KEYS):
            if score_column:
                kwargs["score_column"] = score_column
            elif computable("complexity") and computable("quality"):
                kwargs["complexity_column"] = role_columns["complexity"]
                kwargs["quality_column"] = role_columns["quality"]
    elif score_column:
        raise ConfigError(f"--score-column {score_column}: strategy {name!r} reads no score; "
                          f"drop the option.")
    if "target" in accepted:  # less: the target rows, checked before anything loads
        from deita_hf.pipeline.less_target import check_target

        check_target(kwargs)
    label_spec = None
    if "label_embedder" in accepted:  # mig: the labels' embedder, built by the caller
        given = kwargs.pop("label_embedder", None)
        if given is not None and not isinstance(given, str):
            raise ConfigError(f"--strategy {name}:label_embedder=SPEC takes an embedder spec "
                              f"(e.g. minilm), got {given!r}.")
        label_spec = given or (flags["embedding"] if _explicit(flags["embedding"])
                               else preset_specs.get("embedding"))
    needed = cls(**kwargs).reads()  # the columns the strategy declares for these arguments

    specs: dict[str, str] = {}
    for role in ROLES:
        col, flag = role_columns[role], flags[role]
        if _explicit(flag):
            if col in columns:
                raise ConfigError(
                    f"The pool already has a {col!r} column, and {_FLAGS[role]} {flag} would "
                    f"replace it. Drop {_FLAGS[role]} to use the column, or remove the column to "
                    f"compute it again.")
            if col != role:
                raise ConfigError(f"Computed {role} values are written as {role!r}, not {col!r}: "
                                  f"drop --{role}-column or {_FLAGS[role]}.")
            specs[role] = flag  # asked for: computed even when the strategy does not read it
        elif col in needed and col not in have and col == role and flag is None:
            specs[role] = preset_specs[role]
    missing = [c for c in dict.fromkeys(needed)
               if c not in have and not any(role_columns[r] == c for r in specs)]
    if missing:
        raise ConfigError(
            f"Strategy {name!r} reads the column(s) {', '.join(map(repr, missing))}, which the "
            f"pool lacks (columns: {sorted(columns)}). Add them to the pool, compute them "
            f"(--complexity-scorer / --quality-scorer / --embedder for those roles, --scorer SPEC "
            f"for other measures{_HINTS.get(name, '')}), or name other columns in the strategy "
            f"spec.")
    roles = [r for r in ROLES if r in specs or role_columns[r] in needed]
    return StrategyPlan(name, kwargs, specs, list(dict.fromkeys(needed)), roles, label_spec)
