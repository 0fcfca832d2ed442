"""``deita-hf select --strategy NAME[:ARGS]`` for the strategies other than ``deita``, and the
generic measures of ``--scorer SPEC`` (both paths use them).

Only the columns the strategy reads are computed (:func:`deita_hf.pipeline.strategy_plan.
plan_strategy`), plus those asked for explicitly with ``--complexity-scorer`` /
``--quality-scorer`` / ``--embedder`` / ``--scorer``; then
:func:`deita_hf.selection.dispatch.select` runs with ``return_stats=True`` and the folder is
written by :func:`deita_hf.hub.save_selection`, its settings and card naming the strategy and
its parameters.

Example:
    $ deita-hf select pool.jsonl --budget 100 --strategy random:seed=0 --output out/random-100
    $ deita-hf select pool.jsonl --budget 100 --strategy kcenter --embedder minilm \\
        --output out/kcenter-100
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from deita_hf.errors import ConfigError

if TYPE_CHECKING:
    from datasets import Dataset

__all__ = ["apply_scorers", "build_scorers", "measure_columns", "run_strategy",
           "scorer_role_available"]

#: the component role of the generic measures (``ifd:MODEL``, ``random:SEED``, ...)
SCORER_ROLE = "scorer"


def scorer_role_available() -> bool:
    """Whether this install's :mod:`deita_hf.components` knows the generic ``scorer`` role."""
    from deita_hf import components

    return SCORER_ROLE in components.ROLES


def build_scorers(specs: Sequence[str] | None, options: dict[str, Any]) -> list[Any]:
    """The generic measure components of ``--scorer SPEC`` (models load lazily).

    Args:
        specs: the specs (None or empty: none).
        options: component options (:func:`deita_hf.cli.options.component_options`).

    Returns:
        The components, in order.

    Raises:
        ConfigError: a bad spec, or no ``scorer`` role in :mod:`deita_hf.components` (then
            only columns already in the pool can be named by the strategy).
    """
    if not specs:
        return []
    from deita_hf.components import build_component, parse_spec

    if not scorer_role_available():
        raise ConfigError(
            "--scorer needs the generic measure components (role 'scorer' in "
            "deita_hf.components), which this version of deita_hf lacks. Add the measure as a "
            "column of the pool and name it in the strategy (e.g. --strategy topk:column=NAME).")
    parsed = [parse_spec(SCORER_ROLE, spec) for spec in specs]  # all checked before any builds
    built = [build_component(SCORER_ROLE, p, **options) for p in parsed]
    columns = [c for m in built for c in measure_columns(m)]
    if len(set(columns)) != len(columns):
        raise ConfigError(f"Two --scorer specs write the same column: {columns}.")
    return built


def measure_columns(measure: Any) -> list[str]:
    """Every column a measure writes (an InsTag tagger writes several)."""
    from deita_hf.components import component_columns

    return component_columns(measure)


def apply_scorers(pool: Dataset, measures: Sequence[Any], *, progress: bool = True,
                  output: str | None = None) -> Dataset:
    """Add each measure's column to the pool (refusing to replace a column of the pool).

    LESS scorers are prepared on the whole pool first (their warm-up runs, or is reused from
    ``.NAME.less`` beside ``output``; see :mod:`deita_hf.pipeline.less_target`); one whose
    columns the pool already has leaves them as they are and only computes the target's
    features (the strategy checks that the ids match).

    Args:
        pool: the loaded pool.
        measures: :func:`build_scorers` output.
        progress: show progress bars.
        output: the output folder (where LESS warm-ups are kept beside; None: the scorer's
            default cache).

    Returns:
        The pool with the columns added.

    Raises:
        ConfigError: the pool already has a measure's column.
    """
    if not measures:
        return pool
    from deita_hf.components import apply_components, describe_component
    from deita_hf.pipeline.less_target import prepare_less, reuses_pool_features

    todo = []
    for m in measures:
        clash = [c for c in measure_columns(m) if c in pool.column_names]
        if reuses_pool_features(pool, m):
            print(f"deita-hf select: using the pool's {m.column!r} column; {describe_component(m)} "
                  f"computes the target's features", file=sys.stderr)
            continue
        if clash:
            raise ConfigError(f"The pool already has a {clash[0]!r} column, which --scorer "
                              f"{describe_component(m)} would replace; drop the --scorer to use "
                              f"the column, or remove it from the pool.")
        print(f"deita-hf select: computing {describe_component(m)}", file=sys.stderr)
        todo.append(m)
    prepare_less(pool, measures, output, progress=progress)
    return apply_components(pool, todo, progress=progress, label="deita-hf select")


def run_strategy(args: argparse.Namespace, name: str, spec_kwargs: dict[str, Any]) -> int:
    """Run ``deita-hf select --strategy NAME[:ARGS]`` for a strategy other than ``deita``.

    Args:
        args: parsed ``deita-hf select`` arguments.
        name: the strategy (parsed by :func:`~deita_hf.selection.dispatch.parse_strategy`).
        spec_kwargs: its arguments from the spec.

    Returns:
        The exit code (0).

    Raises:
        ConfigError: bad arguments, or columns the strategy reads that nothing provides.
    """
    from deita_hf.cli.decontaminate import decontaminator_from_args, drop_contaminated
    from deita_hf.cli.options import check_budget, component_options
    from deita_hf.cli.select import run_settings, write_selection
    from deita_hf.components import build_component, describe_component, parse_spec
    from deita_hf.data.loading import load_pool
    from deita_hf.hub.folder import check_output
    from deita_hf.pipeline import DatasetSelector
    from deita_hf.pipeline.less_target import resolve_target
    from deita_hf.pipeline.presets import check_models_available, get_preset
    from deita_hf.pipeline.strategy_plan import plan_strategy
    from deita_hf.selection import dispatch

    budget = check_budget(args.budget)
    if args.threshold is not None:
        raise ConfigError(f"--threshold is DEITA's similarity filter; strategy {name!r} takes no "
                          f"threshold.")
    preset = get_preset(getattr(args, "preset", None))
    options = component_options(args)
    flags = {"complexity": args.complexity_scorer, "quality": args.quality_scorer,
             "embedding": args.embedder}
    for role, spec in flags.items():
        parse_spec(role, spec)  # a bad spec fails before anything loads
    measures = build_scorers(args.scorers, options)
    dec = decontaminator_from_args(args, options, args.embedder or preset.specs["embedding"])
    output = check_output(args.output, "selection", overwrite=args.overwrite)
    progress = not args.no_progress
    pool, decontamination = drop_contaminated(dec, load_pool(args.input, split=args.split))
    columns = {"complexity": args.complexity_column, "quality": args.quality_column,
               "embedding": args.embedding_column}
    plan = plan_strategy(name, spec_kwargs, pool.column_names, preset_specs=preset.specs,
                         flags=flags, role_columns=columns, score_column=args.score_column,
                         produced=[c for m in measures for c in measure_columns(m)],
                         device=args.device,
                         progress=progress)
    if name == "rds":  # RDS+: the target is embedded like the pool (deita_hf.pipeline.rds_target)
        from deita_hf.pipeline.rds_target import check_rds_plan

        check_rds_plan(plan.kwargs, plan.specs.get("embedding"),
                       pool_has_embeddings=plan.kwargs["embedding_column"] in pool.column_names)
    check_models_available(plan.specs, command="deita-hf select", preset=preset.name)
    label_embedder = None
    if plan.label_embedder is not None:  # mig: the tag labels' embedder
        check_models_available({"embedding": plan.label_embedder}, command="deita-hf select",
                               preset=preset.name)
        label_embedder = build_component("embedding", plan.label_embedder, **options)
        plan.kwargs["label_embedder"] = label_embedder
    pool = apply_scorers(pool, measures, progress=progress, output=args.output)
    selector = DatasetSelector.from_preset(
        preset.name, complexity=plan.specs.get("complexity", "none"),
        quality=plan.specs.get("quality", "none"), embedder=plan.specs.get("embedding", "none"),
        columns=columns, **options)
    for _, component in selector.components():
        if component is not None:
            print(f"deita-hf select: computing {describe_component(component)}", file=sys.stderr)
    if plan.specs:
        pool = selector.score(pool, progress=progress, warn=False, roles=tuple(plan.specs))
    kwargs, target = (resolve_target(plan.kwargs, measures, progress=progress)
                      if name == "less" else (plan.kwargs, None))
    if name == "rds":
        from deita_hf.pipeline.rds_target import embed_target

        kwargs, target = embed_target(plan.kwargs, selector.embedder, progress=progress)
    selected, stats = dispatch.select(pool, budget, name, return_stats=True, **kwargs)
    if target is not None:
        stats.params["target"] = target
    card_roles = {"complexity": "complexity", "quality": "quality", "embedding": "embedder"}
    described = selector.card_scorers()
    scorers = {card_roles[r]: described[card_roles[r]] for r in plan.roles}
    scorers.update({m.column: m.describe() for m in measures})
    if label_embedder is not None:
        scorers["labels"] = label_embedder.describe()  # what embedded the tags
    settings = {
        **run_settings(args),
        "strategy_spec": args.strategy.strip(),
        "scorers": scorers,
        **selector.setup(scorers),
        "specs": dict(plan.specs),
        **({"scorer_specs": list(args.scorers)} if args.scorers else {}),
        **({"decontamination": decontamination} if decontamination else {}),
        # the card's statistics read these (the strategy's own columns are in "columns")
        "complexity_column": args.complexity_column, "quality_column": args.quality_column,
        "embedding_column": args.embedding_column, "score_column": args.score_column,
        "include_pool": bool(args.include_pool),
        "license": args.license,
    }
    settings["paper_setup"] = False
    return write_selection(args, output, selected, stats, pool, settings)
