"""``run_selection(config)``: the one selection flow, for every strategy (``deita`` included),
behind ``deita-hf select`` and the study.

1. check the config and parse every spec once (strategy, components, measures), nothing loaded;
2. read the benchmark prompts (``decontaminate``), check the output folder, load the pool
   (a ``deita-hf score`` folder brings what it recorded: :mod:`deita_hf.data.provenance`),
   drop contaminated rows;
3. plan the columns to compute (:func:`deita_hf.pipeline.strategy_plan.plan_strategy`), add the
   measures' and the components' columns;
4. select with :func:`deita_hf.selection.dispatch.select` and write the Hub-layout folder with
   :func:`deita_hf.hub.save_selection`; its settings (``deita_selection.json``) name every
   component that made a column the strategy read, computed here or by the score run.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from datasets import Dataset
    >>> tmp = Path(tempfile.mkdtemp())
    >>> _ = Dataset.from_dict({"instruction": ["a", "bb", "ccc"],
    ...                    "output": ["x", "y", "z"]}).to_json(str(tmp / "pool.jsonl"))
    >>> result = run_selection(SelectionConfig(input=str(tmp / "pool.jsonl"), budget=2,
    ...                        output=str(tmp / "out"), strategy="topk:column=complexity",
    ...                        complexity_scorer="length"), progress=False)
    >>> result.dataset["instruction"][:], result.settings["scorers"]["complexity"]["kind"]
    (['ccc', 'bb'], 'length-baseline')
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from deita_hf.errors import ConfigError
from deita_hf.pipeline.config import SelectionConfig
from deita_hf.selection.result import SelectionResult

__all__ = ["SelectionRun", "check_local_paths", "run_selection"]

#: role -> its spec option and flag
_SPEC_FLAGS = {"complexity": ("complexity_scorer", "--complexity-scorer"),
               "quality": ("quality_scorer", "--quality-scorer"),
               "embedding": ("embedder", "--embedder")}
#: the card's names of the roles
_CARD_ROLES = {"complexity": "complexity", "quality": "quality", "embedding": "embedder"}
#: ``deita:ARGS`` arguments that are options of the config, with the options' defaults
_DEITA_SPEC_OPTIONS = {"threshold": None, "embedding_column": "embedding",
                       "complexity_column": "complexity", "quality_column": "quality",
                       "score_column": None, "device": None}


@dataclass
class SelectionRun(SelectionResult):
    """What :func:`run_selection` returns: a :class:`~deita_hf.selection.result.SelectionResult`
    (``dataset``, ``stats``; unpacks like ``(selected, stats)``) plus the folder and settings."""

    settings: dict[str, Any] = field(default_factory=dict,
                                     metadata={"help": "deita_selection.json's extra settings"})
    output: Path | None = field(default=None, metadata={"help": "the folder written"})


def check_local_paths(specs: dict[str, Any]) -> None:
    """A spec naming a local path (``/``, ``.`` or ``~`` first) that does not exist fails here,
    before a pool or a model loads, as a missing path (not as an unknown Hub id).

    Args:
        specs: role -> parsed :class:`~deita_hf.components.ComponentSpec` (None is skipped).

    Raises:
        ConfigError: naming the option and the path.
    """
    for role, parsed in specs.items():
        target = getattr(parsed, "target", None)
        if not target or not str(target).startswith(("/", ".", "~")):
            continue
        if not Path(target).expanduser().exists():
            param = _SPEC_FLAGS[role][0] if role in _SPEC_FLAGS else None
            raise ConfigError(f"{param or role}: {target!r} is a local path that does not exist. "
                              f"Pass an existing model folder, or a Hub id like 'user/model'.",
                              param=param)


def _fold_deita_spec(config: SelectionConfig,
                     kwargs: dict[str, Any]) -> tuple[SelectionConfig, dict[str, Any], bool | None]:
    """``deita:ARGS`` arguments that duplicate options become those options (a new config);
    returns it, the rest (``block_size``) and the spec's ``progress`` (None: not given)."""
    updates: dict[str, Any] = {}
    rest: dict[str, Any] = {}
    progress = None
    for key, value in kwargs.items():
        if key == "progress":
            progress = bool(value)
        elif key not in _DEITA_SPEC_OPTIONS:
            rest[key] = value
        else:
            current = getattr(config, key)
            if current not in (_DEITA_SPEC_OPTIONS[key], value):
                raise ConfigError(f"--strategy deita:{key}={value} and --{key.replace('_', '-')} "
                                  f"{current} disagree: give one of them.")
            updates[key] = value
    return dataclasses.replace(config, **updates), rest, progress


def _deita_flags(config: SelectionConfig, columns: list[str],
                 preset_specs: dict[str, str]) -> dict[str, str | None]:
    """DEITA reads all three roles: the spec of each role whose column the pool lacks (the
    preset's unless given), None for a column read from the pool."""
    role_columns = {"complexity": config.complexity_column, "quality": config.quality_column,
                    "embedding": config.embedding_column}
    flags: dict[str, str | None] = {}
    for role, (option, flag) in _SPEC_FLAGS.items():
        column, spec = role_columns[role], getattr(config, option)
        if role != "embedding" and config.score_column:
            if spec is not None:
                raise ConfigError(f"--score-column {config.score_column} is a ready score, so "
                                  f"{flag} {spec} would not be used: drop one of them.")
            flags[role] = None
            continue
        if column in columns:
            flags[role] = spec  # the planner refuses a spec that would replace the column
            continue
        if column != role:
            raise ConfigError(
                f"The pool has no {column!r} column (--{role}-column); columns: {columns}. "
                f"Computed {role} values are always written as {role!r}: drop the option to "
                f"compute them, or pass an existing column.")
        if spec is not None and spec.lower() == "none":
            raise ConfigError(f"{flag} none, but the pool has no {column!r} column to use instead "
                              f"(columns: {columns}).")
        flags[role] = spec or preset_specs[role]
    return flags


def run_selection(config: SelectionConfig, *, progress: bool = True,
                  say: Callable[[str], None] | None = None) -> SelectionRun:
    """Select from ``config.input`` into ``config.output`` (see the module docstring).

    Args:
        config: the :class:`~deita_hf.pipeline.config.SelectionConfig`.
        progress: show progress bars.
        say: where one-line progress notes go (the CLI prints them; default: nowhere).

    Returns:
        The :class:`SelectionRun`: the kept rows, the stats, the settings and the folder.

    Raises:
        ConfigError: a bad option or spec (before the pool or a model loads), or columns the
            strategy reads that nothing provides.
    """
    from deita_hf.components import build_component, describe_component, parse_spec
    from deita_hf.data.loading import load_pool
    from deita_hf.data.provenance import column_provenance, score_run_provenance
    from deita_hf.hub import save_selection
    from deita_hf.folder.layout import read_settings
    from deita_hf.hub.card import reproduce_command
    from deita_hf.folder.writer import check_output
    from deita_hf.hub.run_setup import run_setup
    from deita_hf.pipeline.decontam import build_decontaminator, drop_contaminated, summary
    from deita_hf.pipeline.less_target import resolve_target
    from deita_hf.pipeline.rds_target import check_rds_plan, embed_target
    from deita_hf.pipeline.measures import apply_scorers, build_scorers, measure_columns
    from deita_hf.pipeline.presets import check_models_available, get_preset
    from deita_hf.pipeline.selector import DatasetSelector
    from deita_hf.pipeline.strategy_plan import plan_strategy
    from deita_hf.selection import dispatch

    say = say or (lambda _: None)
    config.check()
    name, spec_kwargs = dispatch.parse_strategy(config.strategy)  # before anything loads
    spec_progress = None
    if name == "deita":
        config, spec_kwargs, spec_progress = _fold_deita_spec(config, spec_kwargs)
    elif config.threshold is not None:
        raise ConfigError(f"--threshold is DEITA's similarity filter; strategy {name!r} takes no "
                          f"threshold.")
    preset = get_preset(config.preset)
    threshold = preset.threshold if config.threshold is None else config.threshold
    options = config.component_options()
    parsed = {role: parse_spec(role, spec) for role, spec in config.flag_specs().items()
              if spec is not None}  # every spec parsed once, before anything loads
    check_local_paths(parsed)
    measures = build_scorers(config.scorers, options)
    dec = None
    if config.decontaminate is not None:
        dec = build_decontaminator(
            config.decontaminate, method=config.decontaminate_method,
            ngram=config.decontaminate_ngram, min_words=config.decontaminate_min_words,
            threshold=config.decontaminate_threshold,
            embedder_spec=config.decontaminate_embedder or config.embedder
            or preset.specs["embedding"], options=options, progress=progress,
            split=config.split, command="deita-hf select")
    output = check_output(config.output, "selection", overwrite=config.overwrite)
    pool = load_pool(config.input, split=config.split)
    # what wrote the pool's columns (a `deita-hf score` folder's components, or the scorers a
    # selection folder recorded), read before any column is added here
    recorded, score_run = column_provenance(pool), score_run_provenance(pool)
    pool, decontamination = drop_contaminated(dec, pool)
    if decontamination:
        say(summary(decontamination, prefix="decontamination"))
    columns = {"complexity": config.complexity_column, "quality": config.quality_column,
               "embedding": config.embedding_column}
    flags = (_deita_flags(config, pool.column_names, preset.specs) if name == "deita"
             else config.flag_specs())
    plan = plan_strategy(name, spec_kwargs, pool.column_names, preset_specs=preset.specs,
                         flags=flags, role_columns=columns, score_column=config.score_column,
                         produced=[c for m in measures for c in measure_columns(m)],
                         device=config.device,
                         progress=progress if spec_progress is None else spec_progress)
    if name == "deita":
        plan.kwargs["threshold"] = threshold
    if name == "rds":  # RDS+: the target is embedded like the pool (deita_hf.pipeline.rds_target)
        check_rds_plan(plan.kwargs, plan.specs.get("embedding"),
                       pool_has_embeddings=plan.kwargs["embedding_column"] in pool.column_names)
    check_models_available(plan.specs, command="deita-hf select", preset=preset.name)
    label_embedder = None
    if plan.label_embedder is not None:  # mig: the tag labels' embedder
        check_models_available({"embedding": plan.label_embedder}, command="deita-hf select",
                               preset=preset.name)
        label_embedder = build_component("embedding", plan.label_embedder, **options)
        plan.kwargs["label_embedder"] = label_embedder
    pool = apply_scorers(pool, measures, progress=progress, output=config.output, say=say)
    selector = DatasetSelector.from_preset(
        preset.name, complexity=plan.specs.get("complexity", "none"),
        quality=plan.specs.get("quality", "none"), embedder=plan.specs.get("embedding", "none"),
        threshold=threshold, columns=columns, **options)
    for _, component in selector.components():
        if component is not None:
            say(f"computing {describe_component(component)}")
    if plan.specs:
        pool = selector.score(pool, progress=progress, warn=False, roles=tuple(plan.specs))
    kwargs, target = (resolve_target(plan.kwargs, measures, progress=progress)
                      if name == "less" else (plan.kwargs, None))
    if name == "rds":
        kwargs, target = embed_target(plan.kwargs, selector.embedder, progress=progress)
    selected, stats = dispatch.select(pool, config.budget, name, return_stats=True, **kwargs)
    if target is not None:
        stats.params["target"] = target
    described = selector.card_scorers()
    scorers = {}
    for role in plan.roles:
        scorers[_CARD_ROLES[role]] = described[_CARD_ROLES[role]]
        if role not in plan.specs and recorded.get(columns[role]):  # made by an earlier run
            scorers[_CARD_ROLES[role]] = recorded.get(columns[role])
    scorers.update({m.column: m.describe() for m in measures})
    if label_embedder is not None:
        scorers["labels"] = label_embedder.describe()  # what embedded the tags
    # every component ran in the score run: its preset is the set-up's
    setup_preset = ((score_run or {}).get("preset") or preset.name) if score_run and not \
        plan.specs else preset.name
    settings: dict[str, Any] = {
        **_run_settings(config),
        "strategy_spec": config.strategy.strip(),
        "scorers": scorers,
        **run_setup(scorers, preset=setup_preset),
        "specs": dict(plan.specs),
        **({"scorer_specs": list(config.scorers)} if config.scorers else {}),
        **({"score_run": score_run} if score_run else {}),
        **({"decontamination": decontamination} if decontamination else {}),
        # the card's statistics read these (the strategy's own columns are in "columns")
        "complexity_column": config.complexity_column, "quality_column": config.quality_column,
        "embedding_column": config.embedding_column, "score_column": config.score_column,
        "include_pool": bool(config.include_pool),
        "license": config.license,
        "config": config.to_dict(changed_only=True),
    }
    if name != "deita":
        settings["paper_setup"] = False
    settings["command"] = reproduce_command({**stats.to_dict(), **settings}, str(config.output))
    save_selection(selected, output, stats=stats, settings=settings, pool=pool,
                   include_pool=config.include_pool, license=config.license,
                   source_datasets=config.source_datasets or None,
                   pretty_name=config.pretty_name, overwrite=config.overwrite,
                   keep_vectors=config.keep_vectors)
    # what the folder records (the rows' provenance filled in), as the card shows it
    settings = {k: v for k, v in read_settings(output)[1].items() if k != "publishing"}
    return SelectionRun(selected, stats, settings=settings, output=Path(output))


def _run_settings(config: SelectionConfig) -> dict[str, Any]:
    """What every selection records about the run itself: version, time, input and split."""
    from deita_hf import __version__

    return {"deita_hf_version": __version__,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "input": str(config.input), "split": config.split}
