"""``deita-hf select``: the whole pipeline: score, embed, select, and write a Hub-layout folder.

Columns the pool already has (``complexity``, ``quality``, ``embedding``, or a ready
``--score-column``) are used as they are; missing ones are computed first with the scorers and
embedder of ``--preset`` (default ``deita``, the paper's set-up: the published DEITA scorers in
float32 and DeitaEmbedder on Mistral-7B-v0.1), whose parts the spec flags override. Offline
(``HF_HUB_OFFLINE=1``) a model without a local copy stops the run at once, before any loads.

Example:
    $ deita-hf select pool.jsonl --budget 6000 --output out/deita-6k
    $ deita-hf select pool.jsonl --budget 6000 --preset fast --output out/deita-6k-fast
    $ deita-hf select examples/pool.jsonl --budget 100 --output out/example \\
        --complexity-scorer length --quality-scorer length --embedder minilm
    $ deita-hf select out/scored --budget 100 --score-column deita_score --output out/top100
    $ deita-hf select pool.jsonl --budget 6000 --strategy random:seed=1 --output out/random-6k
    $ deita-hf select pool.jsonl --budget 6000 --strategy topk:column=complexity \
        --complexity-scorer length --output out/longest-instructions-6k

``--strategy NAME[:ARGS]`` (default ``deita``) picks the selection rule
(:data:`deita_hf.selection.dispatch.STRATEGIES`); for strategies other than ``deita`` only the
columns the strategy reads are computed (see :mod:`deita_hf.pipeline.strategy_plan`), and
``--scorer SPEC`` (repeatable) adds generic measure columns first.

The output folder is in the Hub layout (see :func:`deita_hf.hub.save_selection`): it
loads with ``datasets.load_dataset(DIR)``, holds the dataset card, the figures and
``deita_selection.json`` (the settings), and ``deita-hf publish DIR`` pushes it.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from deita_hf.cli.options import (
    add_component_arguments,
    check_budget,
    check_local_models,
    check_threshold,
    component_options,
)
from deita_hf.errors import ConfigError
from deita_hf.pipeline.presets import DEFAULT_PRESET, PRESETS, get_preset

__all__ = ["apply_deita_spec", "register", "resolve_specs", "run"]

logger = logging.getLogger(__name__)

#: role -> (column option, spec option, flag)
_COMPONENTS = {
    "complexity": ("complexity_column", "complexity_scorer", "--complexity-scorer"),
    "quality": ("quality_column", "quality_scorer", "--quality-scorer"),
    "embedding": ("embedding_column", "embedder", "--embedder"),
}
#: what is computed when no flag is given and the pool lacks the column (the default preset's)
DEFAULT_SPECS = dict(PRESETS[DEFAULT_PRESET].specs)


def register(subparsers, parents=()) -> argparse.ArgumentParser:
    """Add the ``select`` sub-command to ``deita-hf``."""
    p = subparsers.add_parser(
        "select", parents=list(parents),
        help="score, embed and select a diverse, high-scoring subset (DEITA); write a Hub folder",
        description="Order rows by DEITA score (complexity x quality, or --score-column), keep a "
        "row iff its cosine similarity to every kept row is <= --threshold, stop at --budget. "
        "Missing score/embedding columns are computed first.",
    )
    p.add_argument("input", help="json/jsonl(.gz)/parquet/csv file, save_to_disk or Hub-layout "
                   "folder, or Hub dataset id")
    p.add_argument("--budget", type=int, required=True,
                   help="the most rows to select (fewer when fewer survive the filter)")
    p.add_argument("--output", required=True, help="output folder (Hub layout)")
    p.add_argument("--threshold", type=float, default=None,
                   help="max cosine similarity to an already selected row (default: the "
                        "preset's, 0.9)")
    p.add_argument("--embedding-column", default="embedding", help="default: embedding")
    p.add_argument("--score-column", default=None,
                   help="ready score column; skips complexity x quality")
    p.add_argument("--complexity-column", default="complexity", help="default: complexity")
    p.add_argument("--quality-column", default="quality", help="default: quality")
    p.add_argument("--strategy", default="deita", metavar="NAME[:ARGS]",
                   help="selection strategy, e.g. 'deita' (default), 'random:seed=1', "
                        "'topk:column=complexity', 'kcenter', 'facility', 'kmeans:n_clusters=50', "
                        "'instag', 'mig', 'kmq:n_clusters=100' (see deita_hf.selection.dispatch); "
                        "other strategies compute only "
                        "the columns they read")
    p.add_argument("--scorer", action="append", default=None, dest="scorers", metavar="SPEC",
                   help="a generic measure to compute first, e.g. 'ifd:MODEL' (repeatable; its "
                        "column can then be named in --strategy or --score-column)")
    p.add_argument("--split", default="train", help="split to read from folders/Hub (train)")
    p.add_argument("--overwrite", action="store_true", help="write into a non-empty --output")
    add_component_arguments(
        p, complexity=None, quality=None, embedder=None, preset=DEFAULT_PRESET,
        note=" (used only when the pool lacks the column; default: the preset's)",
    )
    from deita_hf.cli.decontaminate import add_decontamination_arguments

    add_decontamination_arguments(p)
    g = p.add_argument_group("dataset card")
    g.add_argument("--include-pool", action="store_true",
                   help="also write the whole scored pool as the 'pool' config")
    g.add_argument("--license", default=None, help="license id for the card, e.g. cc-by-nc-4.0")
    g.add_argument("--source-dataset", action="append", default=None, dest="source_datasets",
                   help="a source dataset of the pool (repeatable; default: the 'source' column)")
    g.add_argument("--pretty-name", default=None, help="the card's title")
    p.set_defaults(func=run)
    return p


def resolve_specs(columns: list[str], args: argparse.Namespace) -> dict[str, str | None]:
    """Decide, per role, whether to use the pool's column (spec None) or compute it.

    Args:
        columns: the pool's column names.
        args: parsed ``deita-hf select`` arguments.

    Returns:
        ``{role: spec or None}`` (None: the pool's column is used as it is).

    Raises:
        ConfigError: a scorer flag that would replace an existing column or is unused with
            ``--score-column``; a renamed column (``--*-column``) that the pool lacks.
    """
    specs: dict[str, str | None] = {}
    for role, (column_opt, spec_opt, flag) in _COMPONENTS.items():
        column, spec = getattr(args, column_opt), getattr(args, spec_opt)
        if role != "embedding" and args.score_column:
            if spec is not None:
                raise ConfigError(f"--score-column {args.score_column} is a ready score, so "
                                  f"{flag} {spec} would not be used: drop one of them.")
            specs[role] = None
            continue
        if column in columns:
            if spec is not None and spec.lower() != "none":
                raise ConfigError(
                    f"The pool already has a {column!r} column, and {flag} {spec} would replace "
                    f"it. Drop {flag} to use the column, or remove the column "
                    f"(ds.remove_columns({column!r})) to compute it again.")
            specs[role] = None
            continue
        if column != role:
            raise ConfigError(
                f"The pool has no {column!r} column (--{column_opt.replace('_', '-')}); columns: "
                f"{columns}. Computed {role} values are always written as {role!r}: drop the "
                f"option to compute them, or pass an existing column.")
        if spec is not None and spec.lower() == "none":
            raise ConfigError(f"{flag} none, but the pool has no {column!r} column to use instead "
                              f"(columns: {columns}).")
        specs[role] = spec or get_preset(getattr(args, "preset", None)).specs[role]
    return specs


def _decontamination_line(report: dict[str, Any] | None) -> list[str]:
    """The summary's line for ``--decontaminate`` (none without it)."""
    if not report:
        return []
    per = ", ".join(f"{name} {info['rows']:,}" for name, info in report["benchmarks"].items())
    return [f"  decontam.  {report['dropped']:,} of {report['pool_rows']:,} rows dropped before "
            f"selection ({report['method']}: {per})"]


def _summary(settings: dict[str, Any], output: Path) -> str:
    lines = [
        "deita-hf select",
        f"  input      {settings['input']}",
        f"  pool size  {settings['pool_size']:,} rows",
        *_decontamination_line(settings.get("decontamination")),
        f"  strategy   {settings.get('strategy_spec') or settings.get('strategy') or 'deita'}",
        f"  kept       {settings['kept']:,} of budget {settings['budget']:,}"
        + (f" (threshold {settings['threshold']})" if settings.get("threshold") is not None
           else ""),
        f"  examined   {settings['examined']:,} rows"
        + (" in score order" if settings.get("strategy", "deita") == "deita" else ""),
        f"  time       {settings['seconds']:.2f} s selecting on {settings['device']}",
    ]
    for role, info in settings["scorers"].items():
        note = "  <- a stand-in, not the DEITA model" if info["kind"] == "length-baseline" else ""
        lines.append(f"  {role:<10} {info['name']} [{info['kind']}]{note}")
    paper = {True: "the paper's set-up", False: "not the paper's set-up",
             None: "columns precomputed"}[settings.get("paper_setup")]
    lines.append(f"  set-up     preset {settings.get('preset')}, scorer dtype "
                 f"{settings.get('scorer_dtype') or '-'}: {paper}")
    lines.append(f"  output     {output}  (load with datasets.load_dataset({str(output)!r});"
                 f" card: {output / 'README.md'})")
    return "\n".join(lines)


#: ``deita:ARGS`` -> the flag attribute it sets, and that flag's default
_DEITA_SPEC_FLAGS = {"threshold": None, "embedding_column": "embedding",
                     "complexity_column": "complexity", "quality_column": "quality",
                     "score_column": None, "device": None}


def apply_deita_spec(args: argparse.Namespace, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Fold the arguments of a ``deita:...`` spec into the flags they duplicate.

    Args:
        args: parsed ``deita-hf select`` arguments (updated in place).
        kwargs: the spec's arguments (:func:`~deita_hf.selection.dispatch.parse_strategy`).

    Returns:
        The arguments with no flag (``block_size``), for ``select_deita``.

    Raises:
        ConfigError: a spec argument and its flag both given, with different values.
    """
    rest: dict[str, Any] = {}
    for key, value in kwargs.items():
        if key == "progress":
            args.no_progress = not value
        elif key not in _DEITA_SPEC_FLAGS:
            rest[key] = value
        else:
            current = getattr(args, key)
            if current not in (_DEITA_SPEC_FLAGS[key], value):
                raise ConfigError(f"--strategy deita:{key}={value} and --{key.replace('_', '-')} "
                                  f"{current} disagree: give one of them.")
            setattr(args, key, value)
    return rest


def run(args: argparse.Namespace) -> int:
    """Run ``deita-hf select`` with parsed ``args``; returns the exit code.

    Every argument is checked before the pool or a model is loaded.
    """
    from deita_hf.selection.dispatch import parse_strategy

    name, kwargs = parse_strategy(args.strategy)  # a bad strategy fails before anything loads
    if name != "deita":
        from deita_hf.cli.select_strategies import run_strategy

        return run_strategy(args, name, kwargs)
    return _run_deita(args, apply_deita_spec(args, kwargs))


def _run_deita(args: argparse.Namespace, select_kwargs: dict[str, Any]) -> int:
    from deita_hf.cli.decontaminate import decontaminator_from_args, drop_contaminated
    from deita_hf.cli.select_strategies import apply_scorers, build_scorers
    from deita_hf.components import describe_component, parse_spec
    from deita_hf.data.loading import load_pool
    from deita_hf.hub.folder import check_output
    from deita_hf.pipeline import DatasetSelector
    from deita_hf.pipeline.presets import check_models_available

    budget = check_budget(args.budget)
    preset = get_preset(getattr(args, "preset", None))
    threshold = check_threshold(preset.threshold if args.threshold is None else args.threshold)
    options = component_options(args)
    for role, (_, spec_opt, _) in _COMPONENTS.items():
        parse_spec(role, getattr(args, spec_opt))  # a bad spec fails before anything loads
    check_local_models({role: getattr(args, spec_opt)
                        for role, (_, spec_opt, _) in _COMPONENTS.items()})
    measures = build_scorers(args.scorers, options)
    dec = decontaminator_from_args(args, options, args.embedder or preset.specs["embedding"])
    output = check_output(args.output, "selection", overwrite=args.overwrite)
    progress = not args.no_progress
    pool, decontamination = drop_contaminated(dec, load_pool(args.input, split=args.split))
    pool = apply_scorers(pool, measures, progress=progress)
    specs = resolve_specs(pool.column_names, args)
    # offline and a model without a local copy: one message, before any model loads
    check_models_available({role: spec for role, spec in specs.items() if spec is not None},
                           command="deita-hf select", preset=preset.name)
    selector = DatasetSelector.from_preset(
        preset.name, complexity=specs["complexity"] or "none",
        quality=specs["quality"] or "none", embedder=specs["embedding"] or "none",
        threshold=threshold, columns={"complexity": args.complexity_column,
                                      "quality": args.quality_column,
                                      "embedding": args.embedding_column}, **options)
    for _, component in selector.components():
        if component is not None:
            print(f"deita-hf select: computing {describe_component(component)}", file=sys.stderr)
    pool = selector.score(pool, progress=progress, warn=False,
                          roles=("embedding",) if args.score_column else None)
    selected, stats = selector.select(pool, budget, score_column=args.score_column,
                                      device=args.device, progress=progress, return_stats=True,
                                      **select_kwargs)
    scorers = selector.card_scorers()
    if args.score_column:
        scorers.pop("complexity"), scorers.pop("quality")
    scorers.update({m.column: m.describe() for m in measures})
    settings = {
        **run_settings(args),
        "scorers": scorers,
        **selector.setup(scorers),
        "specs": {role: spec for role, spec in specs.items() if spec is not None},
        **({"scorer_specs": list(args.scorers)} if args.scorers else {}),
        **({"decontamination": decontamination} if decontamination else {}),
        "include_pool": bool(args.include_pool),
        "license": args.license,
    }
    return write_selection(args, output, selected, stats, pool, settings)


def run_settings(args: argparse.Namespace) -> dict[str, Any]:
    """What every selection records about the run itself: version, time, input and split."""
    from deita_hf import __version__

    return {"deita_hf_version": __version__,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "input": str(args.input), "split": args.split}


def write_selection(args: argparse.Namespace, output: Path, selected: Any, stats: Any, pool: Any,
                    settings: dict[str, Any]) -> int:
    """Record the reproduce command, write the selection folder, print the summary (every
    strategy ends here)."""
    from deita_hf.hub import save_selection
    from deita_hf.hub.card import reproduce_command

    settings["command"] = reproduce_command({**stats.to_dict(), **settings}, str(args.output))
    save_selection(selected, output, stats=stats, settings=settings, pool=pool,
                   include_pool=args.include_pool, license=args.license,
                   source_datasets=args.source_datasets, pretty_name=args.pretty_name,
                   overwrite=args.overwrite)
    print(_summary({**stats.to_dict(), **settings}, Path(output)))
    return 0
