"""``deita-hf preference``: turn a preference pool into a DPO set of a given size.

Example:
    $ deita-hf preference HuggingFaceH4/ultrafeedback_binarized --split train_prefs \
          --budget 10000 --seed 42 --output data/ultrafeedback-10k
    $ deita-hf preference pairs.jsonl --budget 2000 --strategy deita \
          --complexity-scorer hkust-nlp/deita-complexity-scorer \
          --quality-scorer hkust-nlp/deita-quality-scorer --output out/pairs-2k

The output folder is in the Hub layout (``data/train-00000-of-00001.parquet`` + a README with
``configs``), loads with ``datasets.load_dataset(DIR)`` in TRL's conversational preference
format (``prompt``/``chosen``/``rejected`` lists of ``{"role", "content"}`` messages, the other
columns kept), trains with plain ``trl.DPOTrainer`` and is a valid ``dataset_name`` for
``recipes/dpo.py``; ``DIR/deita_preference.json`` records how the pairs were chosen (the DPO
model card reads it).
"""

from __future__ import annotations

import argparse
import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from deita_hf.cli.options import (
    add_component_arguments,
    check_budget,
    check_local_models,
    component_options,
)
from deita_hf.errors import ConfigError

__all__ = ["register", "run", "write_preference_output"]

logger = logging.getLogger(__name__)

_README = """# Preference pairs: {size} of {pool_size} ({strategy})

Made with `deita-hf preference` from `{input}`: {how}
`deita_preference.json` holds the full settings. The pairs are in TRL's conversational preference
format (`prompt`, `chosen`, `rejected`: lists of `{{"role", "content"}}` messages). Load with
`datasets.load_dataset(<this folder>)` and train with `trl.DPOTrainer`, or with
`deita-hf dpo --dataset_name <this folder>`.
"""


def register(subparsers, parents=()) -> argparse.ArgumentParser:
    """Add the ``preference`` sub-command to ``deita-hf``."""
    p = subparsers.add_parser(
        "preference", parents=list(parents),
        help="sample a DPO set of a given size from a preference pool (random or DEITA score)",
        description="Keep --budget pairs of a preference pool: a seeded random sample (as DEITA "
        "did for UltraFeedback) or the pairs whose prompt + chosen response have the highest "
        "DEITA score. All columns are kept.",
    )
    p.add_argument("input", help="json/jsonl(.gz)/parquet file, save_to_disk or Hub-layout "
                   "folder, or Hub dataset id (TRL prompt/chosen/rejected, ShareGPT "
                   "conversations + chosen/rejected, or AlpacaEval annotations)")
    p.add_argument("--budget", "--size", dest="budget", type=int, required=True,
                   help="pairs to keep (--size is an older name)")
    p.add_argument("--output", required=True, help="output folder (Hub layout)")
    p.add_argument("--strategy", choices=["random", "deita"], default="random",
                   help="random (default, as DEITA) or deita (highest DEITA score first)")
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42, as DEITA)")
    add_component_arguments(
        p, complexity=None, quality=None, embedder=None, with_embedder=False,
        note=" (deita strategy; default: the published DEITA scorer)")
    p.add_argument("--split", default="train", help="split to read from folders/Hub (train)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a non-empty --output once the new folder is complete")
    p.set_defaults(func=run)
    return p


def write_preference_output(selected: Any, settings: dict, output_dir: str | Path, *,
                            overwrite: bool = False) -> Path:
    """Write the pairs, ``deita_preference.json`` and a short README as a Hub-layout folder.

    The pairs are written in TRL's conversational preference format
    (:func:`deita_hf.data.preference.to_preference_dataset` with ``keep_columns=True``):
    ``prompt``, ``chosen`` and ``rejected`` become message lists, the other columns stay.

    Args:
        selected: the ``Dataset`` from :func:`deita_hf.pipeline.build_preference_dataset`.
        settings: what ``deita_preference.json`` records (strategy, size, seed, scorers, ...).
        output_dir: the folder.
        overwrite: replace a non-empty folder once the new one is complete.

    Returns:
        The output folder.
    """
    from deita_hf.data.preference import to_preference_dataset
    from deita_hf.folder.writer import write_folder

    selected = to_preference_dataset(selected, keep_columns=True)
    if settings["strategy"] == "random":
        how = f"a uniform random sample with seed {settings['seed']}."
    else:
        how = ("the pairs with the highest DEITA score (complexity x quality) of prompt + "
               "chosen response.")
    return write_folder(output_dir, "preference", {"default": selected}, settings,
                        body=_README.format(how=how, **settings), overwrite=overwrite,
                        tags=["deita", "dpo"])


def run(args: argparse.Namespace) -> int:
    """Run ``deita-hf preference``; every argument is checked before anything loads."""
    from deita_hf import __version__
    from deita_hf.components import build_component, parse_spec
    from deita_hf.data.loading import load_pool
    from deita_hf.folder.writer import check_output
    from deita_hf.pipeline import build_preference_dataset
    from deita_hf.pipeline.presets import (
        COMPLEXITY_SCORER,
        QUALITY_SCORER,
        check_models_available,
    )

    budget = check_budget(args.budget)
    if args.strategy == "random" and (args.complexity_scorer or args.quality_scorer):
        raise ConfigError("--complexity-scorer/--quality-scorer apply to --strategy deita only.")
    options = component_options(args)
    parsed = {role: parse_spec(role, getattr(args, f"{role}_scorer"))
              for role in ("complexity", "quality")}
    if args.strategy == "deita" and any(p.kind == "none" for p in parsed.values()):
        raise ConfigError("--strategy deita needs both scorers; 'none' is not accepted here.")
    if args.strategy == "deita":
        check_local_models(parsed)
        # offline and a scorer without a local copy: one message, before the pool loads
        defaults = {"complexity": COMPLEXITY_SCORER, "quality": QUALITY_SCORER}
        check_models_available({role: getattr(args, f"{role}_scorer") or defaults[role]
                                for role in defaults}, command="deita-hf preference",
                               alternatives="local scorer models (`--complexity-scorer DIR "
                               "--quality-scorer DIR`), the length baselines "
                               "(`--complexity-scorer length --quality-scorer length`; not the "
                               "paper's set-up), or `--strategy random`")
    out = check_output(args.output, "preference", overwrite=args.overwrite)
    pool = load_pool(args.input, split=args.split)
    complexity = quality = None
    if args.strategy == "deita":
        complexity = build_component("complexity", parsed["complexity"], **options)
        quality = build_component("quality", parsed["quality"], **options)
    selected = build_preference_dataset(
        pool, budget, strategy=args.strategy, seed=args.seed,
        complexity_scorer=complexity, quality_scorer=quality,
    )
    settings = {
        "strategy": args.strategy, "size": len(selected), "seed": args.seed,
        "pool_size": len(pool), "input": str(args.input), "split": args.split,
        "complexity_scorer": complexity.describe() if complexity is not None else None,
        "quality_scorer": quality.describe() if quality is not None else None,
        "deita_hf_version": __version__,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    write_preference_output(selected, settings, out, overwrite=args.overwrite)
    print(f"Wrote {len(selected)} of {len(pool)} pairs ({args.strategy}) to {out}")
    return 0
