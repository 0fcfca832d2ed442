"""``deita-hf select``: the whole pipeline: score, embed, select, and write a Hub-layout folder.

Columns the pool already has (``complexity``, ``quality``, ``embedding``, or a ready
``--score-column``) are used as they are; missing ones are computed first with the given scorers
and embedder (default: the published DEITA scorers and the packaged all-MiniLM-L6-v2).

Example:
    $ deita-hf select pool.jsonl --budget 6000 --output out/deita-6k
    $ deita-hf select examples/pool.jsonl --budget 100 --output out/example \\
        --complexity-scorer length --quality-scorer length --embedder minilm
    $ deita-hf select out/scored --budget 100 --score-column deita_score --output out/top100

The output folder is in the Hub layout (see :func:`deita_hf.publishing.save_selection`): it
loads with ``datasets.load_dataset(DIR)``, holds the dataset card, the figures and
``deita_selection.json`` (the settings), and ``deita-hf publish DIR`` pushes it.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from datetime import datetime, timezone
from pathlib import Path

from deita_hf.cli.score import DEFAULT_SPECS, NONE, add_component_arguments

__all__ = ["register", "resolve_specs", "run"]

#: component -> (column option, spec option, flag)
_COMPONENTS = {
    "complexity": ("complexity_column", "complexity_scorer", "--complexity-scorer"),
    "quality": ("quality_column", "quality_scorer", "--quality-scorer"),
    "embedding": ("embedding_column", "embedder", "--embedder"),
}
#: the card's names for the three components
_ROLES = {"complexity": "complexity", "quality": "quality", "embedding": "embedder"}


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``select`` sub-command to ``deita-hf``."""
    p = subparsers.add_parser(
        "select",
        help="score, embed and select a diverse, high-scoring subset (DEITA); write a Hub folder",
        description="Order rows by DEITA score (complexity x quality, or --score-column), keep a "
        "row iff its cosine similarity to every kept row is <= --threshold, stop at --budget. "
        "Missing score/embedding columns are computed first.",
    )
    p.add_argument("input", help="json/jsonl(.gz)/parquet/csv file, save_to_disk or Hub-layout "
                   "folder, or Hub dataset id")
    p.add_argument("--budget", type=int, required=True, help="rows to select")
    p.add_argument("--output", required=True, help="output folder (Hub layout)")
    p.add_argument("--threshold", type=float, default=0.9,
                   help="max cosine similarity to an already selected row (default 0.9)")
    p.add_argument("--embedding-column", default="embedding", help="default: embedding")
    p.add_argument("--score-column", default=None,
                   help="ready score column; skips complexity x quality")
    p.add_argument("--complexity-column", default="complexity", help="default: complexity")
    p.add_argument("--quality-column", default="quality", help="default: quality")
    p.add_argument("--split", default="train", help="split to read from folders/Hub (train)")
    p.add_argument("--overwrite", action="store_true", help="write into a non-empty --output")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    add_component_arguments(
        p, complexity=None, quality=None, embedder=None,
        note=" (used only when the pool lacks the column; default: "
             "hkust-nlp/deita-complexity-scorer, hkust-nlp/deita-quality-scorer, minilm)",
    )
    g = p.add_argument_group("dataset card")
    g.add_argument("--include-pool", action="store_true",
                   help="also write the whole scored pool as the 'pool' config")
    g.add_argument("--license", default=None, help="license id for the card, e.g. cc-by-nc-4.0")
    g.add_argument("--source-dataset", action="append", default=None, dest="source_datasets",
                   help="a source dataset of the pool (repeatable; default: the 'source' column)")
    g.add_argument("--pretty-name", default=None, help="the card's title")
    p.set_defaults(func=run)
    return p


def resolve_specs(columns: list[str], args: argparse.Namespace) -> tuple[dict, dict]:
    """Decide, per component, whether to use the pool's column or compute it.

    Args:
        columns: the pool's column names.
        args: parsed ``deita-hf select`` arguments.

    Returns:
        ``(specs, precomputed)``: the specs to build for missing columns, and a card entry for
        each column taken from the pool as it is.

    Raises:
        ValueError: a scorer flag that would replace an existing column or is unused with
            ``--score-column``; a renamed column (``--*-column``) that the pool lacks.
    """
    specs, precomputed = {}, {}
    for kind, (column_opt, spec_opt, flag) in _COMPONENTS.items():
        column, spec = getattr(args, column_opt), getattr(args, spec_opt)
        if kind != "embedding" and args.score_column:
            if spec is not None:
                raise ValueError(f"--score-column {args.score_column} is a ready score, so {flag} "
                                 f"{spec} would not be used: drop one of them.")
            continue
        if column in columns:
            if spec is not None and spec.lower() != NONE:
                raise ValueError(
                    f"The pool already has a {column!r} column, and {flag} {spec} would replace "
                    f"it. Drop {flag} to use the column, or remove the column "
                    f"(ds.remove_columns({column!r})) to compute it again.")
            precomputed[_ROLES[kind]] = {"name": f"column {column!r} of the input",
                                         "revision": None, "kind": "precomputed"}
            continue
        default_column = _COMPONENTS[kind][0].removesuffix("_column")
        if column != default_column:
            raise ValueError(
                f"The pool has no {column!r} column (--{column_opt.replace('_', '-')}); columns: "
                f"{columns}. Computed {kind} scores are always written as {default_column!r}: "
                f"drop the option to compute them, or pass an existing column.")
        if spec is not None and spec.lower() == NONE:
            raise ValueError(f"{flag} none, but the pool has no {column!r} column to use instead "
                             f"(columns: {columns}).")
        specs[kind] = spec or DEFAULT_SPECS[kind]
    return specs, precomputed


def _command(args: argparse.Namespace, specs: dict) -> str:
    """The ``deita-hf select`` command line that repeats this selection."""
    parts = ["deita-hf", "select", str(args.input), "--budget", str(args.budget),
             "--threshold", str(args.threshold)]
    for opt in ("embedding_column", "complexity_column", "quality_column", "score_column"):
        value, default = getattr(args, opt), opt.removesuffix("_column")
        if value is not None and value != default:
            parts += [f"--{opt.replace('_', '-')}", str(value)]
    for kind, spec in specs.items():
        parts += [_COMPONENTS[kind][2], spec]
    if args.include_pool:
        parts.append("--include-pool")
    if args.license:
        parts += ["--license", args.license]
    parts += ["--output", str(args.output)]
    return shlex.join(parts)


def _summary(stats: dict, output: Path) -> str:
    lines = [
        "deita-hf select",
        f"  input      {stats['input']}",
        f"  pool size  {stats['pool_size']:,} rows",
        f"  kept       {stats['kept']:,} of budget {stats['budget']:,} "
        f"(threshold {stats['threshold']})",
        f"  examined   {stats['examined']:,} rows in score order",
        f"  time       {stats['seconds']:.2f} s selecting on {stats['device']}",
    ]
    for role, info in stats["scorers"].items():
        note = "  <- a stand-in, not the DEITA model" if info["kind"] == "length-baseline" else ""
        lines.append(f"  {role:<10} {info['name']} [{info['kind']}]{note}")
    lines.append(f"  output     {output}  (load with datasets.load_dataset({str(output)!r});"
                 f" card: {output / 'README.md'})")
    return "\n".join(lines)


def _score(pool, components, progress: bool):
    """Map each component over the pool (indices passed, so errors name their rows)."""
    from deita_hf.cli.score import describe_component

    for component in components:
        line = describe_component(component)
        print(f"deita-hf select: computing {line}", file=sys.stderr)
        pool = pool.map(component, batched=True, with_indices=True,
                        desc=f"deita: {line.split(' [')[0]}" if progress else None)
    return pool


def run(args: argparse.Namespace) -> int:
    """Run ``deita-hf select`` with parsed ``args``; returns the exit code."""
    from datasets.utils.logging import disable_progress_bar

    from deita_hf import __version__
    from deita_hf.cli.score import make_components
    from deita_hf.formats import FormatError
    from deita_hf.io import load_pool
    from deita_hf.publishing import save_selection
    from deita_hf.selection import select_deita

    output = Path(args.output)
    if args.no_progress:
        disable_progress_bar()
    try:
        if output.is_dir() and any(output.iterdir()) and not args.overwrite:
            raise FileExistsError(f"--output {str(output)!r} is not empty. Choose another folder "
                                  f"or pass --overwrite.")
        pool = load_pool(args.input, split=args.split)
        specs, scorers = resolve_specs(pool.column_names, args)
        components = make_components(specs, args)
        pool = _score(pool, components, progress=not args.no_progress)
        scorers.update({_ROLES[kind]: c.describe() for kind, c in zip(specs, components)})
        selected, stats = select_deita(
            pool, args.budget, threshold=args.threshold,
            embedding_column=args.embedding_column, complexity_column=args.complexity_column,
            quality_column=args.quality_column, score_column=args.score_column,
            device=args.device, progress=not args.no_progress, return_stats=True,
        )
        settings = {
            **stats.to_dict(),
            "deita_hf_version": __version__,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "input": str(args.input),
            "scorers": scorers,
            "command": _command(args, specs),
        }
        save_selection(selected, output, settings=settings, pool=pool,
                       include_pool=args.include_pool, license=args.license,
                       source_datasets=args.source_datasets, pretty_name=args.pretty_name,
                       overwrite=args.overwrite)
    except (ValueError, TypeError, OSError, FormatError) as err:  # OSError: files, model loading
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(_summary(settings, output))
    return 0
