"""``deita-hf eval``: MT-Bench or a pairwise win rate for a model, judged by an LLM.

MODEL and ``--judge`` are generator specs (``hf:DIR``, ``vllm:DIR``, ``openai:URL#MODEL``, or a
local model folder). Answers and judgments are cached under ``--output``, so re-running the
same command after an interruption asks nothing twice.

Example:
    $ deita-hf eval out/deita-6k-sft --benchmark mt_bench \\
        --judge openai:http://127.0.0.1:8000/v1#judge --output out/eval/deita-6k
    $ deita-hf eval out/deita-6k-sft --benchmark win_rate --reference alpaca_eval_gpt4.jsonl \\
        --judge openai:http://127.0.0.1:8000/v1#judge --output out/eval/deita-6k-wr \\
        --update-card out/deita-6k-sft
    $ deita-hf eval --compare out/eval/deita-6k out/eval/random-6k out/eval/full --output out/eval/cmp

``--compare DIR ...`` writes ``comparison.md``, ``comparison.json`` and ``comparison.png`` to
``--output`` and prints the table. ``--update-card MODEL_DIR`` without MODEL writes the
results already in ``--output`` into the card.
"""

from __future__ import annotations

import argparse
import sys

from deita_hf.errors import ConfigError, GenerationError

__all__ = ["register", "run"]


def register(subparsers, parents=()) -> argparse.ArgumentParser:
    """Add the ``eval`` sub-command to ``deita-hf``."""
    p = subparsers.add_parser(
        "eval", parents=list(parents),
        help="MT-Bench or pairwise win rate of a model, judged by an LLM; compare runs",
        description="Generate answers with MODEL (its own chat template), have --judge grade them "
        "(MT-Bench: FastChat's 1-10 single-answer grading; win_rate: pairwise vs --reference, both "
        "orders, raw and length-controlled win rate), and write answers, raw judgments, "
        "results.json and a figure to --output. Resumable: re-run the same command.",
    )
    p.add_argument("model", nargs="?", metavar="MODEL",
                   help="model under test: hf:DIR, vllm:DIR, openai:URL#MODEL, or a local model folder")
    p.add_argument("--benchmark", choices=("mt_bench", "win_rate"), default=None, help="what to run")
    p.add_argument("--judge", default=None, metavar="SPEC", help="the judge's generator spec")
    p.add_argument("--reference", default=None, metavar="DATASET",
                   help="win_rate: the reference model's outputs (instruction, output columns): file, "
                        "folder or Hub id")
    p.add_argument("--output", required=True, metavar="DIR",
                   help="run folder (holds the cache; re-run to resume), or the --compare folder")
    p.add_argument("--questions", type=int, default=None, metavar="N",
                   help="smoke run: N MT-Bench questions (round-robin over categories) or the first N "
                        "reference instructions")
    p.add_argument("--max-new-tokens", type=int, default=1024, help="tokens per answer (default 1024)")
    p.add_argument("--judge-max-tokens", type=int, default=2048, help="tokens per judge reply (2048)")
    p.add_argument("--judge-retries", type=int, default=2,
                   help="re-asks (new seed, --reask-temperature) for a reply without a verdict, before "
                        "it counts as missing (default 2)")
    p.add_argument("--reask-temperature", type=float, default=0.7, help="temperature of re-asks (0.7)")
    p.add_argument("--batch-size", type=int, default=8, help="inputs per batch for hf: models (8)")
    p.add_argument("--concurrency", type=int, default=8, help="requests in flight for openai: specs (8)")
    p.add_argument("--split", default="train", help="split of --reference (train)")
    p.add_argument("--overwrite", action="store_true",
                   help="reuse an --output folder that holds another model's or benchmark's run")
    p.add_argument("--update-card", default=None, metavar="MODEL_DIR",
                   help="write the results into MODEL_DIR/README.md (model-index + evaluation table)")
    p.add_argument("--compare", nargs="+", default=None, metavar="DIR",
                   help="compare finished run folders instead of running (table + figure in --output)")
    p.add_argument("--labels", nargs="+", default=None, help="--compare: one name per DIR")
    p.set_defaults(func=run)
    return p


def _generator_kwargs(spec: str, args: argparse.Namespace) -> dict:
    prefix = spec.split(":", 1)[0] if ":" in spec else ""
    if prefix == "openai":
        return {"max_concurrency": args.concurrency}
    if prefix == "vllm":
        return {}
    return {"batch_size": args.batch_size}


def _check(args: argparse.Namespace) -> None:
    for flag, value, low in (("--max-new-tokens", args.max_new_tokens, 1), ("--judge-max-tokens",
                             args.judge_max_tokens, 1), ("--judge-retries", args.judge_retries, 0),
                             ("--batch-size", args.batch_size, 1), ("--concurrency", args.concurrency, 1)):
        if value < low:
            raise ConfigError(f"{flag} must be >= {low}, got {value}.")
    if args.questions is not None and args.questions < 1:
        raise ConfigError(f"--questions must be >= 1, got {args.questions}.")
    if args.reask_temperature < 0:
        raise ConfigError(f"--reask-temperature must be >= 0, got {args.reask_temperature}.")
    if not args.benchmark or not args.judge:
        raise ConfigError("MODEL needs --benchmark mt_bench|win_rate and --judge SPEC.")
    if args.benchmark == "win_rate" and not args.reference:
        raise ConfigError("--benchmark win_rate needs --reference DATASET (instruction, output columns).")
    if args.benchmark == "mt_bench" and args.reference:
        raise ConfigError("--reference is for --benchmark win_rate; MT-Bench ships its own references.")


def run(args: argparse.Namespace) -> int:
    """Run ``deita-hf eval``; returns the exit code."""
    from deita_hf import evaluation

    if args.compare:
        if args.model:
            raise ConfigError("--compare takes run folders only; drop MODEL.")
        out = evaluation.compare_runs(args.compare, args.output, labels=args.labels)
        print(out["table"])
        print("Wrote " + ", ".join(out["files"]))
        return 0
    if not args.model:
        if not args.update_card:
            raise ConfigError("Give MODEL to evaluate, --compare DIR ..., or --update-card MODEL_DIR "
                              "(to write the results already in --output into a card).")
        results = evaluation.read_results(args.output)
    else:
        _check(args)
        common = {"questions": args.questions, "max_new_tokens": args.max_new_tokens,
                  "judge_max_tokens": args.judge_max_tokens, "retries": args.judge_retries,
                  "reask_temperature": args.reask_temperature, "progress": not args.no_progress,
                  "overwrite": args.overwrite,
                  "generator_kwargs": {"model": _generator_kwargs(args.model, args),
                                       "judge": _generator_kwargs(args.judge, args)}}
        try:
            if args.benchmark == "mt_bench":
                results = evaluation.run_mt_bench(args.model, args.judge, args.output, **common)
            else:
                results = evaluation.run_win_rate(args.model, args.judge, args.reference, args.output,
                                                  split=args.split, **common)
        except (KeyboardInterrupt, GenerationError):
            print(f"deita-hf eval: stopped; finished answers and judgments are cached in "
                  f"{args.output}/cache: re-run the same command to resume.", file=sys.stderr)
            raise
        print(evaluation.format_summary(results))
        print(f"Wrote {args.output}/results.json, answers.jsonl, judgments.jsonl, "
              f"{results['files']['figure']}")
    if args.update_card:
        path = evaluation.update_model_card(args.update_card, results)
        print(f"Updated the model card {path}")
    return 0
