"""``deita-hf study STUDY.yaml``: a controlled data-selection study in one command.

For each arm of the study file: select (``deita-hf select``), train (the study's SFT recipe),
evaluate (MT-Bench or a win rate); then compare. Re-running the same command keeps every
finished stage (``OUTPUT/arms/<name>/arm.json``), so a study killed mid-way continues where it
stopped. ``--dry-run`` checks the file (and whether a local pool is there) and prints each
arm's plan without running anything.

Example:
    $ deita-hf study recipes/study/deita-paper.yaml --output out/deita-paper --dry-run
    $ deita-hf study recipes/study/deita-paper.yaml --output out/deita-paper
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["register", "run"]


def register(subparsers, parents=()) -> argparse.ArgumentParser:
    """Add the ``study`` sub-command to ``deita-hf``."""
    p = subparsers.add_parser(
        "study", parents=list(parents),
        help="a controlled study: select, train and evaluate every arm; compare (resumable)",
        description="Run the arms of STUDY.yaml (deita_hf.study.StudyConfig: pool, budget, arms, "
                    "sft, evaluation): select -> train -> evaluate each, keeping finished stages, "
                    "then write results.md/json/png and a study card to --output.",
    )
    p.add_argument("study", metavar="STUDY.yaml", help="the study file")
    p.add_argument("--output", required=True, help="the study folder (re-use it to resume)")
    p.add_argument("--dry-run", action="store_true",
                   help="check the study and print each arm's commands; run nothing")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``deita-hf study``; returns the exit code."""
    from deita_hf.pipeline.config_flags import command_line
    from deita_hf.study import load_study, plan_study, run_study

    cfg = load_study(args.study)
    progress = not args.no_progress
    if args.dry_run:
        from deita_hf.study.config import missing_pool

        problem = missing_pool(cfg)
        print(f"pool: {cfg.pool}" + ("" if problem else " (found)" if Path(cfg.pool).exists()
                                     else " (a Hub dataset id: not checked offline)"))
        if problem:  # the plan is still shown; a real run stops here
            print(f"deita-hf study: warning: {problem}", file=sys.stderr)
        for plan in plan_study(cfg, args.output, progress=progress):
            print(f"arm {plan.name}:\n  {command_line(plan.selection, 'select')}\n"
                  f"  train: {cfg.sft.launcher}, {plan.folder / 'sft.yaml'} "
                  f"(recipe {cfg.sft.recipe})\n  evaluate: {', '.join(cfg.evaluation.benchmarks)}"
                  + (f", judge {cfg.evaluation.judge}" if cfg.evaluation.judge else ""))
        return 0
    results = run_study(cfg, args.output, progress=progress, study_file=args.study)
    print(Path(results["files"][1]).read_text(encoding="utf-8"))
    print("Wrote " + ", ".join(results["files"]))
    return 0
