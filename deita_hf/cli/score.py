"""``deita-hf score``: add complexity, quality and embedding columns to a pool, shard by shard.

The components come from ``--preset`` (default ``deita``: the published scorers in float32
and DeitaEmbedder on Mistral-7B-v0.1; ``fast``: the scorers in bf16 on a GPU and the packaged
MiniLM); the spec flags and ``--dtype`` override its parts. Offline (``HF_HUB_OFFLINE=1``) a
model without a local copy stops the run at once, before any loads.

Example:
    $ deita-hf score pool.jsonl --output out/scored --complexity-scorer length \\
        --quality-scorer length --embedder minilm --shard-size 1000
    $ accelerate launch --num_processes 8 -m deita_hf.cli.main score pool.jsonl --output out/scored
"""

from __future__ import annotations

import argparse
import logging

from deita_hf.cli.options import (
    add_component_arguments,
    check_local_models,
    component_options,
)
from deita_hf.errors import ConfigError
from deita_hf.pipeline.presets import DEFAULT_PRESET, PRESETS

__all__ = ["DEFAULT_SPECS", "register", "run"]

logger = logging.getLogger(__name__)

#: what `deita-hf score` computes when no flag is given (the default preset's specs)
DEFAULT_SPECS = dict(PRESETS[DEFAULT_PRESET].specs)


def register(subparsers, parents=()) -> argparse.ArgumentParser:
    """Add the ``score`` sub-command to ``deita-hf``."""
    p = subparsers.add_parser(
        "score", parents=list(parents),
        help="score (complexity, quality) and embed a pool; resumable, multi-process",
        description="Adds `complexity`/`quality` (one float per turn) and `embedding` columns. "
                    "Writes parquet shards into OUTPUT (Hub layout; load with deita_hf.load_pool) "
                    "and resumes an interrupted run. Under `accelerate launch --num_processes N` "
                    "each process scores its shards on its own device.")
    p.add_argument("input", help="pool: a json/jsonl/parquet/csv file, a dataset folder or a Hub id")
    p.add_argument("--output", required=True, help="output folder (resumes if it holds a run)")
    p.add_argument("--split", default="train", help="split to read from folders/Hub ids")
    add_component_arguments(p, complexity=None, quality=None, embedder=None,
                            preset=DEFAULT_PRESET, note=" (default: the preset's)")
    p.add_argument("--shard-size", type=int, default=1000, help="rows per shard (unit of resumption)")
    p.add_argument("--overwrite", action="store_true",
                   help="discard a previous run with other settings or input")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``deita-hf score``; every argument is checked before a model or the pool loads."""
    from deita_hf.components import build_component, describe_component, parse_spec
    from deita_hf.data.loading import load_pool
    from deita_hf.pipeline.presets import check_models_available, preset_components
    from deita_hf.pipeline.sharded import check_score_output, score_in_shards
    from deita_hf.runtime import dist_state

    if args.shard_size < 1:
        raise ConfigError(f"--shard-size must be a positive number of rows, got {args.shard_size}.")
    options = component_options(args)
    parts = preset_components(getattr(args, "preset", None),
                              {"complexity": args.complexity_scorer,
                               "quality": args.quality_scorer, "embedding": args.embedder},
                              dtype=options.pop("dtype", None))
    parsed = {role: parse_spec(role, spec) for role, (spec, _) in parts.items()}
    check_local_models(parsed)
    if all(p.kind == "none" for p in parsed.values()):
        raise ConfigError("deita-hf score: nothing to do (all components are 'none').")
    check_models_available({role: spec for role, (spec, _) in parts.items()},
                           command="deita-hf score", preset=getattr(args, "preset", None))
    check_score_output(args.output, overwrite=args.overwrite)
    state = dist_state(args.device)
    if args.device is None:
        options["device"] = str(state.device)
    components = [build_component(role, p, **{**options, **parts[role][1]})
                  for role, p in parsed.items()]
    components = [c for c in components if c is not None]
    if state.is_main_process:
        for role, p in parsed.items():
            if p.kind == "none":
                print(f"deita-hf score: no {role} component ({role} spec 'none')")
        for c in components:
            print(f"deita-hf score: {describe_component(c)}")
    ds = load_pool(args.input, split=args.split)
    out = score_in_shards(ds, args.output, components, shard_size=args.shard_size,
                          overwrite=args.overwrite, state=state, progress=not args.no_progress,
                          source=str(args.input))
    if state.is_main_process:
        print(f"deita-hf score: {len(ds)} rows scored into {out} (load with deita_hf.load_pool)")
    return 0
