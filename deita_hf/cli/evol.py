"""``deita-hf evol``: EVOL COMPLEXITY / EVOL QUALITY variants of seed instructions (DEITA §2.3).

Example:
    $ deita-hf evol seeds.jsonl --kind complexity --rounds 5 \\
        --generator openai:http://127.0.0.1:8000/v1#gpt-4o --output out/evol-complexity
    $ deita-hf evol seeds.jsonl --kind quality --generator hf:Qwen/Qwen2.5-7B-Instruct \\
        --limit 2000 --output out/evol-quality

Every answer is cached in ``.NAME.cache`` beside ``--output`` (or ``--cache-dir``): re-running
the same command after an interruption asks nothing twice. Next step: ``deita-hf rank``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from deita_hf.errors import ConfigError, GenerationError

__all__ = ["add_generator_arguments", "generator_options", "register", "run"]


def add_generator_arguments(p: argparse.ArgumentParser) -> None:
    """``--cache-dir``, ``--batch-size`` (hf:) and ``--concurrency`` (openai:), shared with rank."""
    p.add_argument("--cache-dir", default=None,
                   help="generation cache (default: .NAME.cache beside --output NAME; kept when "
                        "the output folder is replaced, so a re-run resumes)")
    p.add_argument("--batch-size", type=int, default=8, help="inputs per batch for hf: models (8)")
    p.add_argument("--concurrency", type=int, default=8,
                   help="requests in flight for openai: specs (8)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a non-empty --output once the new folder is complete")


def generator_options(spec: str, args: argparse.Namespace, flag: str) -> Any:
    """Check the shared flags and build the generator of ``spec`` (nothing loads yet).

    Args:
        spec: the generator spec.
        args: the parsed arguments (``batch_size``, ``concurrency``, ``cache_dir``, ``output``).
        flag: the flag that gave ``spec`` (for messages).

    Returns:
        The :class:`~deita_hf.generation.Generator`, with its cache set.
    """
    from deita_hf.evol.pipeline import default_cache_dir
    from deita_hf.generation import build_generator

    for name, value in (("--batch-size", args.batch_size), ("--concurrency", args.concurrency)):
        if value < 1:
            raise ConfigError(f"{name} must be >= 1, got {value}.")
    prefix = spec.split(":", 1)[0] if ":" in spec else ""
    kwargs = ({"max_concurrency": args.concurrency} if prefix == "openai" else {} if prefix == "vllm"
              else {"batch_size": args.batch_size})
    cache = args.cache_dir if args.cache_dir is not None else default_cache_dir(args.output)
    try:
        return build_generator(spec, cache_dir=cache, **kwargs)
    except ConfigError as err:
        raise ConfigError(f"{flag}: {err}") from err


def register(subparsers, parents=()) -> argparse.ArgumentParser:
    """Add the ``evol`` sub-command to ``deita-hf``."""
    p = subparsers.add_parser(
        "evol", parents=list(parents),
        help="evolve seed instructions (complexity) or responses (quality) M times with an LLM",
        description="DEITA's EVOL COMPLEXITY (rewrite the instruction: add constraints, deepen, "
        "concretize, increase reasoning steps, complicate the input) or EVOL QUALITY (rewrite the "
        "response: more helpful, relevant, deep, creative, detailed), one seeded operation per "
        "round, each round evolving the previous round's variant. Writes one row per variant "
        "(round 0 = the seed) with its status; failed or empty generations end their chain.",
    )
    p.add_argument("seeds", help="seed rows: json/jsonl(.gz)/parquet/csv file, folder or Hub id in "
                   "any supported conversation format (the first turn is used), or instruction-only "
                   "rows (Alpaca's seed_tasks.jsonl, the WizardLM test set)")
    p.add_argument("--kind", choices=["complexity", "quality"], required=True,
                   help="evolve the instruction (complexity) or the response (quality)")
    p.add_argument("--rounds", type=int, default=5, help="evolution rounds M (default 5, as DEITA)")
    p.add_argument("--generator", required=True, metavar="SPEC",
                   help="the rewriting LLM: hf:DIR, vllm:DIR, openai:URL#MODEL or a model folder")
    p.add_argument("--output", required=True, metavar="DIR", help="output folder (Hub layout)")
    p.add_argument("--seed", type=int, default=0, help="seed of the operations and sampling (0)")
    p.add_argument("--max-new-tokens", type=int, default=1024, help="tokens per variant (1024)")
    p.add_argument("--temperature", type=float, default=0.7, help="sampling temperature (0.7; 0: greedy)")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="evolve the first N seeds only")
    p.add_argument("--split", default="train", help="split of SEEDS for folders and Hub ids (train)")
    add_generator_arguments(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``deita-hf evol``; every argument is checked before anything loads."""
    from deita_hf.evol.pipeline import run_evol
    from deita_hf.folder.writer import check_output

    for flag, value, low in (("--rounds", args.rounds, 1), ("--max-new-tokens", args.max_new_tokens, 1),
                             ("--seed", args.seed, 0), ("--limit", args.limit, 1)):
        if value is not None and value < low:
            raise ConfigError(f"{flag} must be >= {low}, got {value}.")
    if not args.temperature >= 0:
        raise ConfigError(f"--temperature must be >= 0, got {args.temperature}.")
    gen = generator_options(args.generator, args, "--generator")
    check_output(args.output, "evol", overwrite=args.overwrite)
    try:
        out, settings = run_evol(
            args.seeds, args.output, kind=args.kind, generator=gen, rounds=args.rounds,
            seed=args.seed, max_new_tokens=args.max_new_tokens, temperature=args.temperature,
            limit=args.limit, split=args.split, cache_dir=gen.cache.path.parent,
            overwrite=args.overwrite, progress=not args.no_progress)
    except (KeyboardInterrupt, GenerationError):
        print(f"deita-hf evol: stopped; finished generations are cached in {gen.cache.path.parent}: "
              f"re-run the same command to resume.", file=sys.stderr)
        raise
    failed = sum(r["failed"] for r in settings["per_round"])
    empty = sum(r["empty"] for r in settings["per_round"])
    print(f"Wrote {settings['variants']} variants of {settings['seeds']} seeds to {out} "
          f"({failed} failed, {empty} empty generations)")
    if failed:
        print(f"Failed generations end their chain; to retry them, re-run with --overwrite (answers "
              f"so far come from the cache {gen.cache.path.parent}).")
    return 0
