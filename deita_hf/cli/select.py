"""``deita-hf select``: the whole pipeline: score, embed, select, and write a Hub-layout folder.

The options are the fields of :class:`deita_hf.pipeline.config.SelectionConfig`; ``--config
select.yaml`` reads them from YAML (keys: the flags' names with underscores) and the flags given
override it. The run is :func:`deita_hf.pipeline.run_selection`; this module only parses and
prints.

Columns the pool already has (``complexity``, ``quality``, ``embedding``, or a ready
``--score-column``) are used as they are; missing ones are computed first with the scorers and
embedder of ``--preset`` (default ``deita``, the paper's set-up), whose parts the spec flags
override. A pool written by ``deita-hf score`` brings what that run recorded (models, revisions,
templates, dtypes, preset, engine) into the selection's settings and card.

Example:
    $ deita-hf select pool.jsonl --budget 6000 --output out/deita-6k
    $ deita-hf select pool.jsonl --config select.yaml --budget 100
    $ deita-hf select examples/pool.jsonl --budget 100 --output out/example \\
        --complexity-scorer length --quality-scorer length --embedder minilm
    $ deita-hf select out/scored --budget 100 --score-column deita_score --output out/top100
    $ deita-hf select pool.jsonl --budget 6000 --strategy random:seed=1 --output out/random-6k

``--strategy NAME[:ARGS]`` (default ``deita``) picks the selection rule
(:data:`deita_hf.selection.dispatch.STRATEGIES`); only the columns the strategy reads are
computed (see :mod:`deita_hf.pipeline.strategy_plan`), and ``--scorer SPEC`` (repeatable) adds
generic measure columns first.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from deita_hf.cli.options import add_config_arguments, config_from_args

__all__ = ["register", "run"]

#: the option groups of ``--help``
GROUPS = {
    "scoring and embedding (specs: see deita_hf.components; used only when the pool lacks "
    "the column)": ("preset", "complexity_scorer", "quality_scorer", "embedder", "batch_size",
                    "max_length", "dtype", "on_error", "device"),
    "decontamination (drop pool rows matching benchmark prompts before selecting)": (
        "decontaminate", "decontaminate_method", "decontaminate_ngram",
        "decontaminate_min_words", "decontaminate_threshold", "decontaminate_embedder"),
    "dataset card": ("include_pool", "license", "source_datasets", "pretty_name"),
}


def register(subparsers, parents=()) -> argparse.ArgumentParser:
    """Add the ``select`` sub-command to ``deita-hf``."""
    from deita_hf.pipeline.config import SelectionConfig

    p = subparsers.add_parser(
        "select", parents=list(parents),
        help="score, embed and select a diverse, high-scoring subset (DEITA); write a Hub folder",
        description="Order rows by DEITA score (complexity x quality, or --score-column), keep a "
        "row iff its cosine similarity to every kept row is <= --threshold, stop at --budget "
        "(or another --strategy). Missing score/embedding columns are computed first. Options "
        "may come from --config YAML; flags override it.",
    )
    add_config_arguments(p, SelectionConfig, GROUPS)
    p.set_defaults(func=run)
    return p


def _decontamination_line(report: dict[str, Any] | None) -> list[str]:
    """The summary's line for ``--decontaminate`` (none without it)."""
    if not report:
        return []
    per = ", ".join(f"{name} {info['rows']:,}" for name, info in report["benchmarks"].items())
    return [f"  decontam.  {report['dropped']:,} of {report['pool_rows']:,} rows dropped before "
            f"selection ({report['method']}: {per})"]


def summary(settings: dict[str, Any], output: Path) -> str:
    """The one-screen summary of a selection (its settings merged over the stats)."""
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
    run = settings.get("score_run")
    if run:
        engine = (run.get("engine") or {}).get("name", "local")
        lines.append(f"  scored by  deita-hf score in {run['folder']} (preset "
                     f"{run.get('preset') or '-'}, engine {engine})")
    paper = {True: "the paper's set-up", False: "not the paper's set-up",
             None: "columns precomputed"}[settings.get("paper_setup")]
    lines.append(f"  set-up     preset {settings.get('preset')}, scorer dtype "
                 f"{settings.get('scorer_dtype') or '-'}: {paper}")
    lines.append(f"  output     {output}  (load with datasets.load_dataset({str(output)!r});"
                 f" card: {output / 'README.md'})")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run ``deita-hf select`` with parsed ``args``; returns the exit code."""
    from deita_hf.pipeline.config import SelectionConfig
    from deita_hf.pipeline.run_select import run_selection

    config = config_from_args(SelectionConfig, args)
    result = run_selection(config, progress=not args.no_progress,
                           say=lambda line: print(f"deita-hf select: {line}", file=sys.stderr))
    print(summary({**result.stats.to_dict(), **result.settings}, Path(config.output)))
    return 0
