"""``deita-hf score``: add complexity, quality and embedding columns to a pool, shard by shard.

The options are the fields of :class:`deita_hf.pipeline.config.ScoreConfig`; ``--config
score.yaml`` reads them from YAML (keys: the flags' names with underscores) and the flags given
override it. The run is :func:`deita_hf.pipeline.run_scoring`; this module only parses and
prints.

The components come from ``--preset`` (default ``deita``: the published scorers in float32
and DeitaEmbedder on Mistral-7B-v0.1; ``fast``: the scorers in bf16 on a GPU and the packaged
MiniLM); the spec flags and ``--dtype`` override its parts. Offline (``HF_HUB_OFFLINE=1``) a
model without a local copy stops the run at once, before any loads.

Three ways to run it on more than one device (the same shards, settings and output):
``accelerate launch`` (the processes of one node or one launch), ``--engine ray`` (a Ray
cluster: :mod:`deita_hf.pipeline.ray_engine`) and Slurm array tasks (``--num-shards K
--shard-index I``, then ``--assemble`` or the last task: :mod:`deita_hf.pipeline.sharded`).

Example:
    $ deita-hf score pool.jsonl --output out/scored --complexity-scorer length \\
        --quality-scorer length --embedder minilm --shard-size 1000
    $ deita-hf score pool.jsonl --config score.yaml
    $ accelerate launch --num_processes 8 -m deita_hf.cli.main score pool.jsonl --output out/scored
    $ deita-hf score pool.jsonl --output out/scored --engine ray --address auto --num-workers 16
    $ deita-hf score pool.jsonl --output out/scored --num-shards 8 --shard-index 3   # array task 3
    $ deita-hf score pool.jsonl --output out/scored --num-shards 8 --assemble
"""

from __future__ import annotations

import argparse
from typing import Any

from deita_hf.cli.options import add_config_arguments, config_from_args
from deita_hf.pipeline.presets import DEFAULT_PRESET, PRESETS

__all__ = ["DEFAULT_SPECS", "register", "run"]

#: what `deita-hf score` computes when no flag is given (the default preset's specs)
DEFAULT_SPECS = dict(PRESETS[DEFAULT_PRESET].specs)

#: the option groups of ``--help``
GROUPS = {
    "scoring and embedding (specs: see deita_hf.components; default: the preset's)": (
        "preset", "complexity_scorer", "quality_scorer", "embedder", "batch_size", "max_length",
        "dtype", "on_error", "device"),
    "scale out (see the README's 'Scale out')": (
        "engine", "address", "num_workers", "gpus_per_worker", "num_shards", "shard_index",
        "assemble"),
}


def register(subparsers, parents=()) -> argparse.ArgumentParser:
    """Add the ``score`` sub-command to ``deita-hf``."""
    from deita_hf.pipeline.config import ScoreConfig

    p = subparsers.add_parser(
        "score", parents=list(parents),
        help="score (complexity, quality) and embed a pool; resumable, multi-process, Ray, "
             "Slurm arrays",
        description="Adds `complexity`/`quality` (one float per turn) and `embedding` columns. "
                    "Writes parquet shards into OUTPUT (Hub layout; load with deita_hf.load_pool) "
                    "and resumes an interrupted run. Under `accelerate launch --num_processes N` "
                    "each process scores its shards on its own device; --engine ray scores on a "
                    "Ray cluster; --num-shards/--shard-index run it as Slurm array tasks. "
                    "Options may come from --config YAML; flags override it.")
    add_config_arguments(p, ScoreConfig, GROUPS)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``deita-hf score``; every argument is checked before a model or the pool loads."""
    from deita_hf.pipeline.config import ScoreConfig
    from deita_hf.pipeline.run_score import run_scoring

    config = config_from_args(ScoreConfig, args)
    result = run_scoring(config, progress=not args.no_progress,
                         say=lambda line: print(f"deita-hf score: {line}"))
    if not result.main_process:
        return 0
    print(f"deita-hf score: {_done_line(result, config)}")
    return 0


def _done_line(result: Any, config: Any) -> str:
    """What the run did, truthfully: rows scored by this run, rows found already scored, and
    whether it wrote the output folder."""
    load = "load with deita_hf.load_pool"
    found = (f"; {result.found_rows:,} rows of {result.found_shards} of {result.shards} shards "
             f"were already scored" if result.found_shards else "")
    if not result.complete:
        return (f"array shard {config.shard_index} of {config.num_shards} is scored "
                f"({result.scored_rows:,} rows scored by this task{found}); {result.output} is "
                f"written when every shard is (by the last array task to finish, or `deita-hf "
                f"score ... --assemble`)")
    if not result.written:
        return (f"already complete: nothing scored ({result.output} holds the "
                f"{result.num_rows:,} scored rows; {load})")
    if not result.found_shards and result.scored_rows == result.num_rows:
        return f"{result.num_rows:,} rows scored into {result.output} ({load})"
    return (f"{result.scored_rows:,} rows scored by this run{found}; {result.output} holds the "
            f"{result.num_rows:,} rows ({load})")
