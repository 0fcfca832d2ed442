"""``deita-hf scorer-eval``: a scorer's agreement with held-out labels.

MODEL is a scorer folder (e.g. the output of ``deita-hf scorer-train``) or Hub id; ``--data``
holds labelled rows in any form the scorer recipe reads (the released ShareGPT form, a
``deita-hf rank`` output folder, plain ``{instruction, [output], score}`` rows). Writes
``results.json`` (Spearman and Kendall tau-b per ``seed_id`` group and overall, MAE of the
expected score), ``predictions.jsonl`` and ``predicted_vs_label.png`` to ``--output``.

Example:
    $ deita-hf scorer-eval out/my-complexity-scorer --data held_out.jsonl --kind complexity \\
        --output out/scorer-eval --update-card out/my-complexity-scorer
"""

from __future__ import annotations

import argparse
import math

from deita_hf.pipeline.config import DEVICE_HELP, DTYPE_HELP, MAX_LENGTH_HELP

__all__ = ["register", "run"]


def register(subparsers, parents=()) -> argparse.ArgumentParser:
    """Add the ``scorer-eval`` sub-command to ``deita-hf``."""
    p = subparsers.add_parser(
        "scorer-eval", parents=list(parents),
        help="a scorer's agreement (Spearman, Kendall, MAE) with held-out labels",
        description="Score labelled held-out rows with MODEL and compare with the labels: "
        "Spearman and Kendall tau-b per seed_id group (and overall), MAE of the expected score, "
        "a figure; results.json in --output.")
    p.add_argument("model", metavar="MODEL", help="the scorer: a folder or a Hub id")
    p.add_argument("--data", required=True, metavar="ROWS",
                   help="labelled rows: file, folder (a deita-hf rank output) or Hub id")
    p.add_argument("--kind", required=True, choices=("complexity", "quality"),
                   help="which scorer MODEL is (its prompt template)")
    p.add_argument("--output", required=True, metavar="DIR", help="where to write the results")
    p.add_argument("--split", default="train", help="split of --data (train)")
    p.add_argument("--batch-size", type=int, default=8, help="prompts per forward pass (8)")
    p.add_argument("--max-length", type=int, default=None, metavar="TOKENS", help=MAX_LENGTH_HELP)
    p.add_argument("--device", default=None, metavar="DEVICE", help=DEVICE_HELP)
    p.add_argument("--dtype", default=None, metavar="DTYPE", help=DTYPE_HELP)
    p.add_argument("--update-card", default=None, metavar="MODEL_DIR",
                   help="add the held-out agreement to MODEL_DIR/README.md")
    p.set_defaults(func=run)
    return p


def _show(value) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.4f}"


def run(args: argparse.Namespace) -> int:
    """Evaluate, write the results, print a summary, update the card when asked."""
    from deita_hf.scorer_training.card import update_scorer_card
    from deita_hf.scorer_training.heldout import evaluate_scorer

    results = evaluate_scorer(args.model, args.data, args.kind, output_dir=args.output,
                              split=args.split, batch_size=args.batch_size,
                              max_length=args.max_length, device=args.device, dtype=args.dtype,
                              card_dir=args.update_card)
    ov = results["overall"]
    print(f"{args.kind} scorer {args.model} on {ov['n']} rows: Spearman {_show(ov['spearman'])}, "
          f"Kendall {_show(ov['kendall'])}, MAE {_show(ov['mae'])}")
    if "by_group" in results:
        bg = results["by_group"]
        print(f"mean over {bg['groups']} seed groups ({bg['groups_defined']} defined): Spearman "
              f"{_show(bg['spearman'])}, Kendall {_show(bg['kendall'])}")
    if results.get("trained_rows"):
        print(f"note: {results['trained_rows']} of the {ov['n']} rows are prompts the scorer was trained "
              f"on; this is not a held-out agreement (the card says so).")
    print(f"results: {args.output}/results.json")
    if args.update_card:
        print(f"card updated: {update_scorer_card(args.update_card, results)}")
    return 0
