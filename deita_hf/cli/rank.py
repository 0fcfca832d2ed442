"""``deita-hf rank``: rank and score the variants of each seed with a judge LLM (DEITA §2.3).

Example:
    $ deita-hf rank out/evol-complexity --judge openai:http://127.0.0.1:8000/v1#gpt-4o \\
        --output out/rank-complexity
    $ python -c "import datasets; print(datasets.load_dataset('out/rank-complexity', 'scorer'))"

The output's config ``default`` holds every variant with ``score`` (1..6), ``rank_within_seed``,
``position`` (its place in the shuffled prompt), ``usable`` and the judge's raw answer; config
``scorer`` the scorer training rows in the released ``hkust-nlp/deita-*-scorer-data`` format.
"""

from __future__ import annotations

import argparse
import sys

from deita_hf.cli.evol import add_generator_arguments, generator_options
from deita_hf.errors import ConfigError, GenerationError

__all__ = ["JUDGE_MAX_TOKENS", "JUDGE_RETRIES", "register", "run"]

#: defaults of ``--judge-retries`` and ``--judge-max-tokens``, shared with ``deita-hf eval``
#: (FastChat's judge replies get 2,048 tokens)
JUDGE_RETRIES = 2
JUDGE_MAX_TOKENS = 2048


def register(subparsers, parents=()) -> argparse.ArgumentParser:
    """Add the ``rank`` sub-command to ``deita-hf``."""
    p = subparsers.add_parser(
        "rank", parents=list(parents),
        help="score each seed's evolved variants 1..6 with a judge LLM; write scorer training rows",
        description="One judge prompt per seed with its usable variants in a seeded shuffled order, "
        "answered as one line '[[k]] score: s' per variant (s in 1..6). Malformed answers are re-asked "
        "(new seed, sampled) up to --judge-retries times, then the seed is marked unusable with the raw "
        "answer kept. Writes the ranked variants (config default) and scorer training rows (config "
        "scorer) in DEITA's released format.",
    )
    p.add_argument("input", metavar="DIR", help="a `deita-hf evol` output folder")
    p.add_argument("--judge", required=True, metavar="SPEC",
                   help="the judge LLM: hf:DIR, vllm:DIR, openai:URL#MODEL or a model folder")
    p.add_argument("--output", required=True, metavar="OUT", help="output folder (Hub layout)")
    # --judge-retries and --judge-max-tokens: the same names and defaults as `deita-hf eval`
    p.add_argument("--judge-retries", type=int, default=JUDGE_RETRIES,
                   help="re-asks (new seed, --reask-temperature) of a malformed answer before the "
                        f"seed is unusable (default {JUDGE_RETRIES})")
    p.add_argument("--seed", type=int, default=0, help="seed of the shuffles and re-asks (0)")
    p.add_argument("--judge-max-tokens", type=int, default=JUDGE_MAX_TOKENS,
                   help=f"tokens per judge reply (default {JUDGE_MAX_TOKENS})")
    p.add_argument("--reask-temperature", type=float, default=0.7,
                   help="sampling temperature of re-asks (0.7; the first ask is greedy)")
    add_generator_arguments(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``deita-hf rank``; every argument is checked before anything loads."""
    from deita_hf.evol.pipeline import read_evol, run_rank
    from deita_hf.folder.writer import check_output, folder_kind

    for flag, value, low in (("--judge-retries", args.judge_retries, 0), ("--seed", args.seed, 0),
                             ("--judge-max-tokens", args.judge_max_tokens, 1)):
        if value < low:
            raise ConfigError(f"{flag} must be >= {low}, got {value}.")
    if not args.reask_temperature >= 0:
        raise ConfigError(f"--reask-temperature must be >= 0, got {args.reask_temperature}.")
    if folder_kind(args.input) != "evol":
        read_evol(args.input)  # raises the error that says what the folder is
    judge = generator_options(args.judge, args, "--judge")
    check_output(args.output, "rank", overwrite=args.overwrite)
    try:
        out, s = run_rank(args.input, args.output, judge=judge, retries=args.judge_retries,
                          seed=args.seed, max_new_tokens=args.judge_max_tokens,
                          reask_temperature=args.reask_temperature,
                          cache_dir=judge.cache.path.parent, overwrite=args.overwrite,
                          progress=not args.no_progress)
    except (KeyboardInterrupt, GenerationError):
        print(f"deita-hf rank: stopped; finished judgments are cached in {judge.cache.path.parent}: "
              f"re-run the same command to resume.", file=sys.stderr)
        raise
    print(f"Wrote {s['variants']} ranked variants of {s['seeds']} seeds and {s['scorer_rows']} scorer "
          f"rows to {out} ({s['ranked_seeds']} seeds ranked, {s['unusable_seeds']} unusable, "
          f"{s['too_few_variants']} with fewer than 2 usable variants)")
    return 0
