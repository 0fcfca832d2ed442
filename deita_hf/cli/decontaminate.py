"""``deita-hf decontaminate``: which rows of a folder or file match benchmark prompts (a report;
nothing is changed), and the ``--decontaminate`` flags of ``deita-hf select``.

Example:
    $ deita-hf decontaminate out/deita-6k --against mt_bench,alpaca_eval=alpaca_eval.json \\
        --output contamination.md
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

__all__ = ["add_decontamination_arguments", "decontaminator_from_args", "drop_contaminated",
           "register", "run", "settings_of", "summary"]

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


def add_decontamination_arguments(p: argparse.ArgumentParser) -> None:
    """The ``--decontaminate*`` flags of ``deita-hf select``."""
    g = p.add_argument_group("decontamination (drop pool rows matching benchmark prompts "
                             "before selecting)")
    g.add_argument("--decontaminate", default=None, metavar="SPEC",
                   help="benchmarks, comma-separated: mt_bench (shipped), alpaca_eval (Hub, or "
                        "alpaca_eval=PATH), NAME=PATH or PATH (a file of prompts)")
    _method_arguments(g, "decontaminate-")
    g.add_argument("--decontaminate-embedder", default=None, metavar="SPEC",
                   help="embedder of the embedding method (default: --embedder, else the "
                        "preset's: the pool's embedder)")


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
    p.add_argument("--output", default=None,
                   help="write the report: FILE.json (the full report) or FILE.md (Markdown)")
    p.set_defaults(func=run)
    return p


def _build(against: str, method: str, ngram: int, min_words: int, threshold: float,
           embedder_spec: str | None, options: dict[str, Any], *, examples: int = 3,
           progress: bool = True, split: str = "train", command: str) -> Any:
    from deita_hf.components import build_component, parse_spec
    from deita_hf.pipeline.presets import check_models_available
    from deita_hf.selection.decontamination import Decontaminator

    embedder = None
    if method != "ngram":
        flag = "--decontaminate-" if command.endswith("select") else "--"
        if not embedder_spec or embedder_spec.strip().lower() == "none":
            raise ConfigError(f"{flag}method {method} compares embeddings: pass the pool's "
                              f"embedder with {flag}embedder SPEC (e.g. minilm).")
        parse_spec("embedding", embedder_spec)
        check_models_available({"embedding": embedder_spec}, command=command)
        embedder = build_component("embedding", embedder_spec, **options)
    dec = Decontaminator(against, method=method, ngram=ngram, min_words=min_words,
                         threshold=threshold, embedder=embedder, examples=examples,
                         split=split, progress=progress)
    dec.embedder_spec = embedder_spec if method != "ngram" else None  # for the reproduce command
    # read the prompts now: a bad file or an offline Hub fails before the pool
    dec.prompt_sets(flag="--decontaminate" if command.endswith("select") else "--against")
    return dec


def decontaminator_from_args(args: argparse.Namespace, options: dict[str, Any],
                             default_embedder: str | None) -> Any:
    """The :class:`~deita_hf.selection.decontamination.Decontaminator` of ``deita-hf select``'s
    flags (None without ``--decontaminate``); the prompts are read here, before the pool.

    Args:
        args: parsed ``deita-hf select`` arguments.
        options: component options (for the embedder).
        default_embedder: the pool's embedder spec (``--embedder``, else the preset's).
    """
    if getattr(args, "decontaminate", None) is None:
        return None
    spec = args.decontaminate_embedder or default_embedder
    return _build(args.decontaminate, args.decontaminate_method, args.decontaminate_ngram,
                  args.decontaminate_min_words, args.decontaminate_threshold, spec,
                  options, progress=not args.no_progress, split=args.split,
                  command="deita-hf select")


def settings_of(dec: Any, report: Any) -> dict[str, Any]:
    """The report's dict, with the embedder spec the command line used (for the reproduce
    command)."""
    out = report.to_dict()
    if getattr(dec, "embedder_spec", None):
        out["embedder_spec"] = dec.embedder_spec
    return out


def drop_contaminated(dec: Any, pool: Any) -> tuple[Any, dict[str, Any] | None]:
    """Drop the pool rows ``dec`` matches (both ``deita-hf select`` paths call this after
    loading the pool, before any scorer runs).

    Returns:
        ``(the rows kept, the settings' "decontamination" dict)``; ``(pool, None)`` without
        ``dec``.
    """
    if dec is None:
        return pool, None
    from deita_hf.selection.decontamination import check_rows_left

    kept, report = dec.apply(pool)
    settings = settings_of(dec, report)
    print(summary(settings, prefix="deita-hf select: decontamination"), file=sys.stderr)
    check_rows_left(report)
    return kept, settings


def summary(report: dict[str, Any], prefix: str = "deita-hf decontaminate") -> str:
    """A few lines: rows matched per benchmark, with one example each."""
    lines = [f"{prefix}: {report['dropped']:,} of {report['pool_rows']:,} rows match benchmark "
             f"prompts ({report['method']})"]
    for name, info in report["benchmarks"].items():
        short = f", {info['too_short']} too short for n-grams" if info.get("too_short") else ""
        lines.append(f"  {name:<12} {info['rows']:>6,} rows  ({info['prompts']} prompts{short})")
        for ex in info["examples"][:1]:
            lines.append(f"    e.g. row {ex['row']} turn {ex['turn']} ~ {ex['prompt_id']}: "
                         f"{ex['match']}")
    return "\n".join(lines)


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
    from deita_hf.hub.card import render_template

    output = Path(args.output) if args.output else None
    if output is not None and output.suffix.lower() not in (".json", ".md"):
        raise ConfigError(f"--output {args.output}: write a .json or a .md file.")
    if args.examples < 0:
        raise ConfigError(f"--examples must be >= 0, got {args.examples}.")
    embedder = args.embedder or (_recorded_embedder(args.input) if args.method != "ngram"
                                 else None)
    options = {"device": args.device} if args.device else {}
    dec = _build(args.against, args.method, args.ngram, args.min_words, args.threshold,
                 embedder, options, examples=args.examples, progress=not args.no_progress,
                 split=args.split, command="deita-hf decontaminate")
    report = dec.find(load_pool(args.input, split=args.split)).to_dict()
    report["input"] = str(args.input)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(report, indent=2, ensure_ascii=False) + "\n" \
            if output.suffix.lower() == ".json" else \
            render_template("decontamination_report.md", {"dec": report})
        output.write_text(text, encoding="utf-8")
    print(summary(report))
    if output is not None:
        print(f"  report     {output}", file=sys.stdout)
    return 0
