"""``deita-hf select``: pick a DEITA subset from a pool that already has scores and embeddings.

Example:
    $ deita-hf select pool.parquet --budget 6000 --output out/deita-6k
    $ deita-hf select out/scored --budget 100 --score-column deita_score --output out/top100

The output folder is in the Hub layout (``data/train-00000-of-00001.parquet``) and loads with
``datasets.load_dataset(DIR)``; ``DIR/deita_selection.json`` holds the run's statistics.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

__all__ = ["register", "run", "write_output", "STATS_FILE", "DATA_FILE"]

#: where the selection statistics go, relative to the output folder
STATS_FILE = "deita_selection.json"
#: the selected rows, relative to the output folder
DATA_FILE = "data/train-00000-of-00001.parquet"


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``select`` sub-command to ``deita-hf``."""
    p = subparsers.add_parser(
        "select",
        help="select a diverse, high-scoring subset (DEITA) from a scored, embedded pool",
        description="Order rows by DEITA score (complexity x quality, or --score-column), keep a "
        "row iff its cosine similarity to every kept row is <= --threshold, stop at --budget.",
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
    p.add_argument("--device", default=None, help="torch device (default: cuda if available)")
    p.add_argument("--split", default="train", help="split to read from folders/Hub (train)")
    p.add_argument("--overwrite", action="store_true", help="write into a non-empty --output")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run)
    return p


def write_output(selected, stats_dict: dict, output_dir: str | Path, pool) -> Path:
    """Write the selected rows and the run statistics as a Hub-layout dataset folder.

    Args:
        selected: the ``Dataset`` returned by ``select_deita``.
        stats_dict: ``SelectionStats.to_dict()`` plus run metadata.
        output_dir: the folder (created if missing).
        pool: the input ``Dataset`` (unused here; the publishing writer uses it for the card).

    Returns:
        The output folder.
    """
    out = Path(output_dir)
    (out / DATA_FILE).parent.mkdir(parents=True, exist_ok=True)
    selected.to_parquet(str(out / DATA_FILE))
    (out / STATS_FILE).write_text(json.dumps(stats_dict, indent=2) + "\n", encoding="utf-8")
    return out


def _check_output_dir(path: Path, overwrite: bool) -> None:
    if path.exists() and not path.is_dir():
        raise ValueError(f"--output {str(path)!r} exists and is not a folder.")
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise ValueError(
            f"--output {str(path)!r} is not empty. Choose another folder or pass --overwrite."
        )


def _summary(stats: dict, output: Path) -> str:
    return "\n".join(
        [
            "deita-hf select",
            f"  input      {stats['input']}",
            f"  pool size  {stats['pool_size']:,} rows",
            f"  kept       {stats['kept']:,} of budget {stats['budget']:,} "
            f"(threshold {stats['threshold']})",
            f"  examined   {stats['examined']:,} rows in score order",
            f"  time       {stats['seconds']:.2f} s on {stats['device']}",
            f"  output     {output}  (load with datasets.load_dataset({str(output)!r}))",
        ]
    )


def run(args: argparse.Namespace) -> int:
    """Run ``deita-hf select`` with parsed ``args``; returns the exit code."""
    from deita_hf import __version__
    from deita_hf.io import load_pool
    from deita_hf.selection import select_deita

    output = Path(args.output)
    try:
        _check_output_dir(output, args.overwrite)
        pool = load_pool(args.input, split=args.split)
        selected, stats = select_deita(
            pool,
            args.budget,
            threshold=args.threshold,
            embedding_column=args.embedding_column,
            complexity_column=args.complexity_column,
            quality_column=args.quality_column,
            score_column=args.score_column,
            device=args.device,
            progress=not args.no_progress,
            return_stats=True,
        )
    except (ValueError, TypeError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if output.is_dir() and args.overwrite:
        for stale in (output / "data").glob("*.parquet"):  # or load_dataset(DIR) reads them too
            stale.unlink()
    stats_dict = {
        **stats.to_dict(),
        "deita_hf_version": __version__,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "input": str(args.input),
    }
    write_output(selected, stats_dict, output, pool)
    print(_summary(stats_dict, output))
    return 0
