"""``deita-hf preference``: turn a preference pool into a DPO set of a given size.

Example:
    $ deita-hf preference HuggingFaceH4/ultrafeedback_binarized --split train_prefs \
          --size 10000 --seed 42 --output data/ultrafeedback-10k
    $ deita-hf preference pairs.jsonl --size 2000 --strategy deita \
          --complexity-scorer hkust-nlp/deita-complexity-scorer \
          --quality-scorer hkust-nlp/deita-quality-scorer --output out/pairs-2k

The output folder is in the Hub layout (``data/train-00000-of-00001.parquet`` + a README with
``configs``), loads with ``datasets.load_dataset(DIR)`` and is a valid ``dataset_name`` for
``recipes/dpo.py``; ``DIR/deita_preference.json`` records how the pairs were chosen (the DPO
model card reads it).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

from deita_hf.hub_layout import DATA_DIR, PREFERENCE_FILE, write_parquet, write_readme

__all__ = ["register", "run", "write_preference_output"]

_README = """# Preference pairs: {size} of {pool_size} ({strategy})

Made with `deita-hf preference` from `{input}`: {how}
`deita_preference.json` holds the full settings. Load with `datasets.load_dataset(<this folder>)`
or train with `recipes/dpo.py --dataset_name <this folder>`.
"""


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``preference`` sub-command to ``deita-hf``."""
    p = subparsers.add_parser(
        "preference",
        help="sample a DPO set of a given size from a preference pool (random or DEITA score)",
        description="Keep --size pairs of a preference pool: a seeded random sample (as DEITA "
        "did for UltraFeedback) or the pairs whose prompt + chosen response have the highest "
        "DEITA score. All columns are kept.",
    )
    p.add_argument("input", help="json/jsonl(.gz)/parquet file, save_to_disk or Hub-layout "
                   "folder, or Hub dataset id (TRL prompt/chosen/rejected, ShareGPT "
                   "conversations + chosen/rejected, or AlpacaEval annotations)")
    p.add_argument("--size", type=int, required=True, help="pairs to keep")
    p.add_argument("--output", required=True, help="output folder (Hub layout)")
    p.add_argument("--strategy", choices=["random", "deita"], default="random",
                   help="random (default, as DEITA) or deita (highest DEITA score first)")
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42, as DEITA)")
    p.add_argument("--complexity-scorer", default=None,
                   help="deita strategy: 'length' (baseline) or a scorer model path / Hub id "
                   "(default: the published DEITA complexity scorer)")
    p.add_argument("--quality-scorer", default=None,
                   help="deita strategy: 'length' (baseline) or a scorer model path / Hub id "
                   "(default: the published DEITA quality scorer)")
    p.add_argument("--batch-size", type=int, default=64, help="rows per scorer call (64)")
    p.add_argument("--split", default="train", help="split to read from folders/Hub (train)")
    p.add_argument("--overwrite", action="store_true", help="write into a non-empty --output")
    p.set_defaults(func=run)
    return p


def write_preference_output(selected, settings: dict, output_dir: str | Path) -> Path:
    """Write the pairs, ``deita_preference.json`` and a short README as a Hub-layout folder.

    Args:
        selected: the ``Dataset`` from :func:`deita_hf.preference.build_preference_dataset`.
        settings: what ``deita_preference.json`` records (strategy, size, seed, scorers, ...).
        output_dir: the folder (created if missing).

    Returns:
        The output folder.
    """
    out = Path(output_dir)
    write_parquet(selected, out / DATA_DIR)
    (out / PREFERENCE_FILE).write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    if settings["strategy"] == "random":
        how = f"a uniform random sample with seed {settings['seed']}."
    else:
        how = ("the pairs with the highest DEITA score (complexity x quality) of prompt + "
               "chosen response.")
    write_readme(out, _README.format(how=how, **settings), tags=["deita", "dpo"])
    return out


def run(args: argparse.Namespace) -> int:
    """Run ``deita-hf preference``; returns the exit code."""
    from deita_hf import __version__
    from deita_hf.io import load_pool
    from deita_hf.preference import build_preference_dataset, describe_scorer

    out = Path(args.output)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not args.overwrite)):
        print(f"error: --output {str(out)!r} exists and is not an empty folder; choose another "
              f"or pass --overwrite.", file=sys.stderr)
        return 2
    if args.strategy == "random" and (args.complexity_scorer or args.quality_scorer):
        print("error: --complexity-scorer/--quality-scorer apply to --strategy deita only.",
              file=sys.stderr)
        return 2
    pool = load_pool(args.input, split=args.split)
    complexity = quality = None
    if args.strategy == "deita":
        from deita_hf.scoring import build_scorer

        complexity = build_scorer("complexity", args.complexity_scorer)
        quality = build_scorer("quality", args.quality_scorer)
    try:
        selected = build_preference_dataset(
            pool, args.size, strategy=args.strategy, seed=args.seed,
            complexity_scorer=complexity, quality_scorer=quality, batch_size=args.batch_size,
        )
    except ValueError as err:  # FormatError included: bad columns, rows or size
        print(f"error: {err}", file=sys.stderr)
        return 2
    settings = {
        "strategy": args.strategy, "size": len(selected), "seed": args.seed,
        "pool_size": len(pool), "input": str(args.input), "split": args.split,
        "complexity_scorer": describe_scorer(complexity),
        "quality_scorer": describe_scorer(quality),
        "deita_hf_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    write_preference_output(selected, settings, out)
    print(f"Wrote {len(selected)} of {len(pool)} pairs ({args.strategy}) to {out}")
    return 0
