"""``deita-hf decontaminate``: which rows of a folder or file match benchmark prompts (a report;
nothing is changed). ``deita-hf select --decontaminate`` drops them before selecting (its options:
:class:`deita_hf.pipeline.config.SelectionConfig`; the step: :mod:`deita_hf.pipeline.decontam`).

Example:
    $ deita-hf decontaminate out/deita-6k --against mt_bench,alpaca_eval=alpaca_eval.json \\
        --output out/contamination
    $ deita-hf select pool.jsonl --budget 6000 --decontaminate mt_bench --output out/deita-6k

See :mod:`deita_hf.selection.decontamination` for what is compared and how.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from deita_hf.errors import ConfigError
from deita_hf.pipeline.decontam import summary

__all__ = ["register", "run", "summary"]

_METHODS = ("ngram", "embedding", "both")


def _method_arguments(g: argparse._ArgumentGroup, prefix: str) -> None:
    g.add_argument(f"--{prefix}method", choices=_METHODS, default="ngram",
                   help="ngram: shared word n-gram after normalising case and punctuation "
                        "(default); embedding: cosine >= the threshold; both: either")
    g.add_argument(f"--{prefix}ngram", type=int, default=13,
                   help="n-gram length in words (default 13, as GPT-3 and lm-eval-harness)")
    g.add_argument(f"--{prefix}min-words", type=int, default=8,
                   help="prompts shorter than the n-gram are matched whole down to this many "
                        "words (default 8)")
    g.add_argument(f"--{prefix}threshold", type=float, default=0.9,
                   help="cosine at or above which a turn matches a prompt (embedding, both; "
                        "default 0.9, suited to all-MiniLM-L6-v2)")


def register(subparsers, parents=()) -> argparse.ArgumentParser:
    """Add the ``decontaminate`` sub-command to ``deita-hf``."""
    p = subparsers.add_parser(
        "decontaminate", parents=list(parents),
        help="report the rows of a folder or file that match benchmark prompts (MT-Bench, "
             "AlpacaEval, files)",
        description="Compare every user turn of every row with every benchmark prompt (word "
                    "n-grams after normalising case and punctuation, or embedding cosine) and "
                    "report the matches per benchmark, with examples. Nothing is changed.",
    )
    p.add_argument("input", metavar="DIR", help="a folder (deita-hf select output, save_to_disk, "
                   "Hub layout), a json/jsonl/parquet/csv file or a Hub dataset id")
    p.add_argument("--against", required=True, metavar="SPEC",
                   help="benchmarks, comma-separated: mt_bench, alpaca_eval[=PATH], NAME=PATH, "
                        "PATH")
    g = p.add_argument_group("matching")
    _method_arguments(g, "")
    g.add_argument("--embedder", default=None, metavar="SPEC",
                   help="embedder of the embedding method (default: the one a deita-hf select "
                        "folder records)")
    g.add_argument("--device", default=None, help="torch device of the embedder")
    p.add_argument("--split", default="train", help="split to read from folders/Hub (train)")
    p.add_argument("--examples", type=int, default=3, help="examples per benchmark (3)")
    p.add_argument("--output", default=None, metavar="DIR",
                   help="write the report into this folder: contamination.json (the full report) "
                        "and contamination.md (Markdown)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the report an earlier run wrote into --output")
    p.set_defaults(func=run)
    return p


def _recorded_embedder(source: str) -> str | None:
    settings = Path(source) / "deita_selection.json"
    if not settings.is_file():
        return None
    try:
        return (json.loads(settings.read_text(encoding="utf-8")).get("specs") or {}).get(
            "embedding")
    except (json.JSONDecodeError, OSError):
        return None


def run(args: argparse.Namespace) -> int:
    """Run ``deita-hf decontaminate``; returns 0 (matches are reported, not errors)."""
    from deita_hf.data.loading import load_pool
    from deita_hf.pipeline.decontam import build_decontaminator, check_report_output, write_report

    output = check_report_output(args.output, overwrite=args.overwrite) if args.output else None
    if args.examples < 0:
        raise ConfigError(f"--examples must be >= 0, got {args.examples}.")
    embedder = args.embedder or (_recorded_embedder(args.input) if args.method != "ngram"
                                 else None)
    options = {"device": args.device} if args.device else {}
    dec = build_decontaminator(args.against, method=args.method, ngram=args.ngram,
                               min_words=args.min_words, threshold=args.threshold,
                               embedder_spec=embedder, options=options, examples=args.examples,
                               progress=not args.no_progress, split=args.split,
                               command="deita-hf decontaminate")
    report = dec.find(load_pool(args.input, split=args.split)).to_dict()
    report["input"] = str(args.input)
    paths = write_report(report, output) if output is not None else {}
    print(summary(report))
    for path in paths.values():
        print(f"  report     {path}", file=sys.stdout)
    return 0
