"""``deita-hf score``: add complexity, quality and embedding columns to a pool, shard by shard.

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
    $ accelerate launch --num_processes 8 -m deita_hf.cli.main score pool.jsonl --output out/scored
    $ deita-hf score pool.jsonl --output out/scored --engine ray --address auto --num-workers 16
    $ deita-hf score pool.jsonl --output out/scored --num-shards 8 --shard-index 3   # array task 3
    $ deita-hf score pool.jsonl --output out/scored --num-shards 8 --assemble
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

__all__ = ["DEFAULT_SPECS", "check_engine_arguments", "register", "run"]

logger = logging.getLogger(__name__)

#: what `deita-hf score` computes when no flag is given (the default preset's specs)
DEFAULT_SPECS = dict(PRESETS[DEFAULT_PRESET].specs)


def register(subparsers, parents=()) -> argparse.ArgumentParser:
    """Add the ``score`` sub-command to ``deita-hf``."""
    p = subparsers.add_parser(
        "score", parents=list(parents),
        help="score (complexity, quality) and embed a pool; resumable, multi-process, Ray, "
             "Slurm arrays",
        description="Adds `complexity`/`quality` (one float per turn) and `embedding` columns. "
                    "Writes parquet shards into OUTPUT (Hub layout; load with deita_hf.load_pool) "
                    "and resumes an interrupted run. Under `accelerate launch --num_processes N` "
                    "each process scores its shards on its own device; --engine ray scores on a "
                    "Ray cluster; --num-shards/--shard-index run it as Slurm array tasks.")
    p.add_argument("input", help="pool: a json/jsonl/parquet/csv file, a dataset folder or a Hub id")
    p.add_argument("--output", required=True, help="output folder (resumes if it holds a run)")
    p.add_argument("--split", default="train", help="split to read from folders/Hub ids")
    add_component_arguments(p, complexity=None, quality=None, embedder=None,
                            preset=DEFAULT_PRESET, note=" (default: the preset's)")
    p.add_argument("--shard-size", type=int, default=1000, help="rows per shard (unit of resumption)")
    p.add_argument("--overwrite", action="store_true",
                   help="discard a previous run with other settings or input")
    g = p.add_argument_group("scale out (see the README's 'Scale out')")
    g.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="local: this process (or the processes of `accelerate launch`); ray: the "
                        "workers of a Ray cluster (pip install 'deita_hf[ray]')")
    g.add_argument("--address", default=None,
                   help="--engine ray: the cluster to connect to ('auto', HOST:PORT or "
                        "ray://HOST:10001; default: start a local Ray)")
    g.add_argument("--num-workers", type=int, default=None,
                   help="--engine ray: workers (actors), each loading the models once (default: "
                        "the cluster's GPUs / --gpus-per-worker, else its CPUs)")
    g.add_argument("--gpus-per-worker", type=float, default=None,
                   help="--engine ray: GPUs per worker (default 1 where the cluster has GPUs, "
                        "else 0); a vLLM scorer/embedder gets a tensor-parallel group of this size")
    g.add_argument("--num-shards", type=int, default=None,
                   help="Slurm arrays: the run is split into this many array shards (contiguous "
                        "ranges of the --shard-size shard files)")
    g.add_argument("--shard-index", type=int, default=None,
                   help="Slurm arrays: score array shard I (0-based, e.g. $SLURM_ARRAY_TASK_ID) "
                        "into the run's partial folder; the last task to finish assembles")
    g.add_argument("--assemble", action="store_true",
                   help="Slurm arrays: score nothing; write OUTPUT from the finished shards")
    p.set_defaults(func=run)
    return p


def check_engine_arguments(args: argparse.Namespace) -> None:
    """The scale-out flags fit together (checked before anything loads).

    Example:
        >>> ns = argparse.Namespace(engine="local", address="auto", num_workers=None,
        ...                         gpus_per_worker=None, num_shards=None, shard_index=None,
        ...                         assemble=False)
        >>> check_engine_arguments(ns)
        Traceback (most recent call last):
        ...
        deita_hf.errors.ConfigError: --address only applies to --engine ray; add --engine ray or drop it.
    """
    from deita_hf.pipeline.sharded import check_array_task

    ray_only = [flag for flag, value in (("--address", args.address),
                                         ("--num-workers", args.num_workers),
                                         ("--gpus-per-worker", args.gpus_per_worker))
                if value is not None]
    array = args.num_shards is not None or args.shard_index is not None or args.assemble
    if args.engine != "ray" and ray_only:
        raise ConfigError(f"{', '.join(ray_only)} only appl{'ies' if len(ray_only) == 1 else 'y'} "
                          f"to --engine ray; add --engine ray or drop "
                          f"{'it' if len(ray_only) == 1 else 'them'}.")
    if args.num_workers is not None and args.num_workers < 1:
        raise ConfigError(f"--num-workers must be a positive number of workers, got "
                          f"{args.num_workers}.")
    if args.gpus_per_worker is not None and args.gpus_per_worker < 0:
        raise ConfigError(f"--gpus-per-worker must be 0 or more, got {args.gpus_per_worker:g}.")
    if args.engine == "ray" and array:
        raise ConfigError("--num-shards/--shard-index/--assemble split a run into Slurm array "
                          "tasks; Ray schedules the shards itself. Drop them, or drop --engine ray.")
    if array:
        check_array_task(args.num_shards, args.shard_index, args.assemble)


def run(args: argparse.Namespace) -> int:
    """Run ``deita-hf score``; every argument is checked before a model or the pool loads."""
    from deita_hf.components import build_component, describe_component, parse_spec
    from deita_hf.data.loading import load_pool
    from deita_hf.hub.layout import folder_kind, read_settings
    from deita_hf.pipeline.presets import check_models_available, preset_components
    from deita_hf.pipeline.sharded import check_score_output, score_in_shards
    from deita_hf.runtime import dist_state

    if args.shard_size < 1:
        raise ConfigError(f"--shard-size must be a positive number of rows, got {args.shard_size}.")
    check_engine_arguments(args)
    on_ray = args.engine == "ray"
    if on_ray:
        from deita_hf.pipeline.ray_engine import require_ray

        require_ray()
    device, args.device = args.device, (None if on_ray else args.device)
    options = component_options(args)  # on Ray the workers resolve --device, not this process
    args.device = options["device"] = device
    parts = preset_components(getattr(args, "preset", None),
                              {"complexity": args.complexity_scorer,
                               "quality": args.quality_scorer, "embedding": args.embedder},
                              dtype=options.pop("dtype", None))
    parsed = {role: parse_spec(role, spec) for role, (spec, _) in parts.items()}
    check_local_models(parsed)
    if all(p.kind == "none" for p in parsed.values()):
        raise ConfigError("deita-hf score: nothing to do (all components are 'none').")
    if not args.assemble:  # assembling loads no model
        check_models_available({role: spec for role, (spec, _) in parts.items()},
                               command="deita-hf score", preset=getattr(args, "preset", None))
    check_score_output(args.output, overwrite=args.overwrite)
    state = None if on_ray else dist_state(args.device)
    if args.device is None and not on_ray:
        options["device"] = str(state.device)
    components = [build_component(role, p, **{**options, **parts[role][1]})
                  for role, p in parsed.items()]
    components = [c for c in components if c is not None]
    if state is None or state.is_main_process:
        for role, p in parsed.items():
            if p.kind == "none":
                print(f"deita-hf score: no {role} component ({role} spec 'none')")
        for c in components:
            print(f"deita-hf score: {describe_component(c)}")
    ds = load_pool(args.input, split=args.split)
    common = {"shard_size": args.shard_size, "overwrite": args.overwrite,
              "progress": not args.no_progress, "source": str(args.input)}
    if on_ray:
        from deita_hf.pipeline.ray_engine import score_on_ray

        out = score_on_ray(ds, components, output_dir=args.output, address=args.address,
                           num_workers=args.num_workers, gpus_per_worker=args.gpus_per_worker,
                           **common)
    else:
        out = score_in_shards(ds, args.output, components, state=state,
                              num_shards=args.num_shards, shard_index=args.shard_index,
                              assemble=args.assemble, **common)
    if state is not None and not state.is_main_process:
        return 0
    if folder_kind(out) == "scores" and read_settings(out)[1].get("complete"):
        print(f"deita-hf score: {len(ds)} rows scored into {out} (load with deita_hf.load_pool)")
    else:
        print(f"deita-hf score: array shard {args.shard_index} of {args.num_shards} is scored; "
              f"{out} is written when every shard is (by the last array task to finish, or "
              f"`deita-hf score ... --assemble`)")
    return 0
