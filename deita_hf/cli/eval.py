"""``deita-hf eval``: MT-Bench (single or pairwise) or a pairwise win rate, judged by an LLM.

MODEL and ``--judge`` are generator specs (``hf:DIR``, ``vllm:DIR``, ``openai:URL#MODEL``, or a
local model folder). Answers and judgments are cached under ``--output``, so re-running the
same command after an interruption asks nothing twice.

Example:
    $ deita-hf eval out/deita-6k-sft --benchmark mt_bench \\
        --judge openai:http://127.0.0.1:8000/v1#judge --output out/eval/deita-6k
    $ deita-hf eval out/deita-6k-sft --benchmark win_rate --reference alpaca_eval_gpt4.jsonl \\
        --judge openai:http://127.0.0.1:8000/v1#judge --output out/eval/deita-6k-wr \\
        --length-control-data df_gamed.csv --export alpaca_eval --update-card out/deita-6k-sft
    $ deita-hf eval --answers model_answer/vicuna-13b.jsonl --benchmark mt_bench_pair \\
        --baseline model_answer/gpt-3.5-turbo.jsonl --judge openai:http://127.0.0.1:8000/v1#judge \\
        --output out/eval/vicuna-pair
    $ deita-hf eval --judgments model_judgment/gpt-4_single.jsonl --model-name vicuna-13b-v1.3 \\
        --output out/eval/vicuna-fastchat
    $ deita-hf eval --compare out/eval/deita-6k out/eval/random-6k out/eval/full --output out/eval/cmp
    $ deita-hf eval out/deita-6k-sft --benchmark open_llm --tasks-dir tasks/ --output out/eval/open-llm
    $ deita-hf eval out/deita-6k-sft --benchmark ifeval --apply-chat-template --output out/eval/ifeval
    $ deita-hf eval out/deita-6k-sft --benchmark lm_eval:arc_easy,piqa --num-fewshot 0 --output out/eval/lm

``open_llm`` (ARC-Challenge 25-shot, HellaSwag 10-shot, MMLU 5-shot, TruthfulQA mc2 0-shot: the
Open LLM Leaderboard v1 settings), ``ifeval`` and ``lm_eval:TASK[,TASK...]`` run
lm-evaluation-harness's own tasks on MODEL (no judge); ``--tasks-dir`` adds or replaces task
YAMLs (local copies of the data sets, offline).

``--compare DIR ...`` writes ``comparison.md``, ``comparison.json`` and ``comparison.png`` to
``--output`` and prints the table. Without MODEL (or ``--answers``), ``--update-card
MODEL_DIR`` and ``--export alpaca_eval`` use the results already in ``--output``.
"""

from __future__ import annotations

import argparse
import sys

from deita_hf.errors import ConfigError, GenerationError
from deita_hf.pipeline.config import DEVICE_HELP, DTYPE_HELP, MAX_LENGTH_HELP

__all__ = ["register", "run"]

BENCHMARKS = ("mt_bench", "mt_bench_pair", "win_rate")
#: the lm-evaluation-harness benchmarks (no judge); lm_eval:TASK[,TASK...] is the third
LM_EVAL_BENCHMARKS = ("open_llm", "ifeval")
#: the flags only the lm-eval benchmarks read, with their defaults
_LM_EVAL_FLAGS = {"tasks_dir": None, "num_fewshot": None, "limit": None, "dtype": None, "device": None,
                  "max_length": None, "apply_chat_template": False}


def _benchmark(value: str) -> str:
    if value in BENCHMARKS or value in LM_EVAL_BENCHMARKS or value.startswith("lm_eval:"):
        return value
    raise argparse.ArgumentTypeError(f"invalid choice: {value!r} (choose from {', '.join(BENCHMARKS)}, "
                                     f"{', '.join(LM_EVAL_BENCHMARKS)}, lm_eval:TASK[,TASK...])")


def register(subparsers, parents=()) -> argparse.ArgumentParser:
    """Add the ``eval`` sub-command to ``deita-hf``."""
    p = subparsers.add_parser(
        "eval", parents=list(parents),
        help="MT-Bench (single or pairwise) or pairwise win rate of a model, judged by an LLM; compare runs",
        description="Generate answers with MODEL (its own chat template, or --chat-template) or read them "
        "(--answers), have --judge grade them (mt_bench: FastChat's 1-10 single-answer grading; "
        "mt_bench_pair: FastChat's pairwise grading against --baseline; win_rate: pairwise vs --reference, "
        "both orders, AlpacaEval's raw and length-controlled win rates), and write answers, raw judgments, "
        "results.json and a figure to --output. Resumable: re-run the same command.",
    )
    p.add_argument("model", nargs="?", metavar="MODEL",
                   help="model under test: hf:DIR, vllm:DIR, openai:URL#MODEL, or a local model folder")
    p.add_argument("--benchmark", type=_benchmark, default=None,
                   metavar="{" + ",".join(BENCHMARKS + LM_EVAL_BENCHMARKS) + ",lm_eval:TASK[,TASK...]}",
                   help="what to run: judged (mt_bench, mt_bench_pair, win_rate) or lm-evaluation-harness "
                        "tasks (open_llm: the Open LLM Leaderboard v1 settings; ifeval; lm_eval:TASK,...)")
    p.add_argument("--judge", default=None, metavar="SPEC", help="the judge's generator spec")
    p.add_argument("--reference", default=None, metavar="DATASET",
                   help="win_rate: the reference model's outputs (instruction, output columns): file, "
                        "folder or Hub id")
    p.add_argument("--baseline", default=None, metavar="MODEL_OR_ANSWERS",
                   help="mt_bench_pair: the baseline: a FastChat answers file (model_answer/*.jsonl) or a "
                        "generator spec whose answers are generated")
    p.add_argument("--answers", default=None, metavar="FILE",
                   help="judge these existing answers instead of MODEL's: FastChat model_answer JSON Lines "
                        "(mt_bench, mt_bench_pair) or AlpacaEval model_outputs.json (win_rate)")
    p.add_argument("--judgments", default=None, metavar="FILE",
                   help="aggregate FastChat judgments (model_judgment/*_single.jsonl or *_pair.jsonl) into "
                        "--output's results.json, without judging")
    p.add_argument("--model-name", default=None, metavar="NAME",
                   help="--judgments: the model to report (a file may hold several); --export: its name")
    p.add_argument("--output", required=True, metavar="DIR",
                   help="run folder (holds the cache; re-run to resume), or the --compare folder")
    p.add_argument("--questions", type=int, default=None, metavar="N",
                   help="smoke run: N MT-Bench questions (round-robin over categories) or the first N "
                        "reference instructions")
    p.add_argument("--pair-rule", choices=("fastchat", "mean"), default=None,
                   help="how a pair's two orders combine: fastchat (any disagreement is a tie; default for "
                        "mt_bench_pair) or mean (win + tie = 0.75; default for win_rate)")
    p.add_argument("--length-control", choices=("auto", "v1", "noreg", "minimal", "none"), default="auto",
                   help="win_rate: AlpacaEval's length-controlled estimator: v1 (length_controlled_v1, the "
                        "leaderboard's: needs df_gamed.csv), noreg, minimal (length only, no table) or none; "
                        "auto (default): v1 with --length-control-data, or with the Hub's table for "
                        "AlpacaEval's own instructions when the Hub can be reached, else minimal")
    p.add_argument("--length-control-data", default=None, metavar="PATH",
                   help="win_rate: AlpacaEval's df_gamed.csv (hf://datasets/tatsu-lab/alpaca_eval) or "
                        "instruction_difficulty.csv; pairs match it by their row in --reference")
    p.add_argument("--export", choices=("alpaca_eval",), default=None,
                   help="win_rate: also write DIR/alpaca_eval/ (model_outputs.json, annotations.json, "
                        "leaderboard.csv in AlpacaEval's fields)")
    p.add_argument("--chat-template", default=None, metavar="vicuna_v1.1|PATH",
                   help="render MODEL's chats with this template instead of its tokenizer's (hf:, vllm:): "
                        "vicuna_v1.1 (FastChat's, DEITA's SFT format) or a file holding a Jinja template")
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
    g = p.add_argument_group("lm-evaluation-harness benchmarks (open_llm, ifeval, lm_eval:TASK,...)")
    g.add_argument("--tasks-dir", default=None, metavar="DIR",
                   help="lm-eval's include path: task YAMLs that add tasks or replace built-in ones (a YAML "
                        "named like a built-in task, e.g. with dataset_path: json and local data_files, is how "
                        "local copies of the data sets are used offline)")
    g.add_argument("--num-fewshot", type=int, default=None, metavar="K",
                   help="lm_eval:TASK only: few-shot examples per task (default: each task's own)")
    g.add_argument("--limit", type=int, default=None, metavar="N",
                   help="smoke run: the first N documents of each task (not comparable with full runs)")
    g.add_argument("--dtype", default=None, metavar="DTYPE", help=DTYPE_HELP)
    g.add_argument("--device", default=None, metavar="DEVICE", help=DEVICE_HELP)
    g.add_argument("--max-length", type=int, default=None, metavar="TOKENS", help=MAX_LENGTH_HELP)
    g.add_argument("--apply-chat-template", action="store_true",
                   help="render prompts with the tokenizer's chat template (lm-eval's flag; chat models)")
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
    if args.model and args.answers:
        raise ConfigError("Give MODEL (answers are generated) or --answers FILE (existing answers), not both.")
    if not args.benchmark or not args.judge:
        raise ConfigError(f"MODEL (or --answers) needs --benchmark {'|'.join(BENCHMARKS)} and --judge SPEC.")
    if args.answers and args.chat_template:
        raise ConfigError("--chat-template renders MODEL's chats; with --answers nothing is generated.")
    bench = args.benchmark
    if bench == "win_rate" and not args.reference:
        raise ConfigError("--benchmark win_rate needs --reference DATASET (instruction, output columns).")
    if bench != "win_rate" and args.reference:
        raise ConfigError("--reference is for --benchmark win_rate; MT-Bench ships its own questions and references.")
    if bench == "mt_bench_pair" and not args.baseline:
        raise ConfigError("--benchmark mt_bench_pair needs --baseline MODEL_OR_ANSWERS (FastChat's default "
                          "baseline is gpt-3.5-turbo's answers, model_answer/gpt-3.5-turbo.jsonl).")
    if bench != "mt_bench_pair" and args.baseline:
        raise ConfigError("--baseline is for --benchmark mt_bench_pair.")
    if bench == "mt_bench" and args.pair_rule:
        raise ConfigError("--pair-rule is for pairwise judging (mt_bench_pair, win_rate); mt_bench grades "
                          "single answers.")
    if bench != "win_rate" and (args.length_control != "auto" or args.length_control_data):
        raise ConfigError("--length-control and --length-control-data are for --benchmark win_rate.")
    if args.export and bench != "win_rate":
        raise ConfigError("--export alpaca_eval is for --benchmark win_rate (MT-Bench files already follow "
                          "FastChat's layout).")


def _evaluate(args: argparse.Namespace) -> dict:
    from deita_hf import evaluation
    from deita_hf.evaluation.outputs import resolve_chat_template

    _check(args)
    template = resolve_chat_template(args.chat_template)
    kwargs = {"model": _generator_kwargs(args.model, args) if args.model else {},
              "judge": _generator_kwargs(args.judge, args)}
    if args.baseline:
        kwargs["baseline"] = _generator_kwargs(args.baseline, args)
    common = {"questions": args.questions, "max_new_tokens": args.max_new_tokens,
              "judge_max_tokens": args.judge_max_tokens, "retries": args.judge_retries,
              "reask_temperature": args.reask_temperature, "progress": not args.no_progress,
              "overwrite": args.overwrite, "generator_kwargs": kwargs, "answers": args.answers,
              "chat_template": template}
    try:
        if args.benchmark == "mt_bench":
            return evaluation.run_mt_bench(args.model, args.judge, args.output, **common)
        if args.benchmark == "mt_bench_pair":
            return evaluation.run_mt_bench_pair(args.model, args.judge, args.output, baseline=args.baseline,
                                                pair_rule=args.pair_rule or "fastchat", **common)
        return evaluation.run_win_rate(args.model, args.judge, args.reference, args.output, split=args.split,
                                       pair_rule=args.pair_rule or "mean", length_control=args.length_control,
                                       length_control_data=args.length_control_data, **common)
    except (KeyboardInterrupt, GenerationError):
        print(f"deita-hf eval: stopped; finished answers and judgments are cached in "
              f"{args.output}/cache: re-run the same command to resume.", file=sys.stderr)
        raise


def _is_lm_eval(benchmark: str | None) -> bool:
    return bool(benchmark) and (benchmark in LM_EVAL_BENCHMARKS or benchmark.startswith("lm_eval:"))


def _lm_eval(args: argparse.Namespace) -> dict:
    """An lm-evaluation-harness benchmark: checks its flags, runs it, returns the results."""
    from deita_hf.evaluation.lm_eval_run import run_lm_eval

    judged = {"--judge": args.judge, "--reference": args.reference, "--baseline": args.baseline,
              "--judgments": args.judgments, "--pair-rule": args.pair_rule, "--export": args.export,
              "--length-control-data": args.length_control_data, "--questions": args.questions,
              "--chat-template": args.chat_template}
    given = [flag for flag, value in judged.items() if value is not None]
    if args.length_control != "auto":
        given.append("--length-control")
    if given:
        raise ConfigError(f"--benchmark {args.benchmark} runs lm-evaluation-harness tasks without a judge; drop "
                          f"{', '.join(given)} (a smoke run is --limit N; chat models: --apply-chat-template).")
    return run_lm_eval(args.model, args.output, args.benchmark, tasks_dir=args.tasks_dir,
                       num_fewshot=args.num_fewshot, batch_size=args.batch_size, dtype=args.dtype,
                       device=args.device, max_length=args.max_length, limit=args.limit,
                       apply_chat_template=args.apply_chat_template, answers=args.answers,
                       overwrite=args.overwrite, progress=not args.no_progress)


def _from_judgments(args: argparse.Namespace) -> dict:
    from pathlib import Path

    from deita_hf.evaluation.fastchat_judgments import judgment_results, read_fastchat_judgments
    from deita_hf.evaluation.outputs import write_results

    if args.model or args.answers or args.judge:
        raise ConfigError("--judgments aggregates judgments that exist: drop MODEL, --answers and --judge.")
    rows = read_fastchat_judgments(args.judgments)
    results = judgment_results(rows, source=str(args.judgments), model=args.model_name, baseline=args.baseline,
                               pair_rule=args.pair_rule or "fastchat")
    Path(args.output).mkdir(parents=True, exist_ok=True)
    return write_results(args.output, results)


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
    lm_flags = [f"--{k.replace('_', '-')}" for k, v in _LM_EVAL_FLAGS.items() if getattr(args, k, v) != v]
    if lm_flags and not _is_lm_eval(args.benchmark):
        raise ConfigError(f"{', '.join(lm_flags)} are for the lm-evaluation-harness benchmarks (--benchmark "
                          "open_llm, ifeval, lm_eval:TASK,...).")
    if _is_lm_eval(args.benchmark) and (args.model or args.answers):
        results = _lm_eval(args)
        print(evaluation.format_summary(results))
        print(f"Wrote {args.output}/results.json, {results['files']['samples']}, {results['files']['lm_eval']}, "
              f"{results['files']['figure']}")
    elif args.judgments:
        results = _from_judgments(args)
        print(evaluation.format_summary(results))
        print(f"Wrote {args.output}/results.json, {results['files']['figure']}")
    elif not args.model and not args.answers:
        if not args.update_card and not args.export:
            raise ConfigError("Give MODEL to evaluate, --answers FILE, --judgments FILE, --compare DIR ..., or "
                              "--update-card MODEL_DIR / --export alpaca_eval (for the results already in --output).")
        results = evaluation.read_results(args.output)
    else:
        results = _evaluate(args)
        print(evaluation.format_summary(results))
        print(f"Wrote {args.output}/results.json, answers.jsonl, judgments.jsonl, "
              f"{results['files']['figure']}")
    if args.export:
        from deita_hf.evaluation.alpaca_export import export_alpaca_eval

        out = export_alpaca_eval(args.output, name=args.model_name)
        print("Wrote " + ", ".join(out["files"]))
        if out["row"]["length_controlled_winrate"] is None:
            print(f"deita-hf eval: the leaderboard row has no length_controlled_winrate: the run used "
                  f"{out['row']['lc_estimator'] or 'no length control'}, not length_controlled_v1 (give "
                  "--length-control-data df_gamed.csv).", file=sys.stderr)
    if args.update_card:
        path = evaluation.update_model_card(args.update_card, results)
        print(f"Updated the model card {path}")
    return 0
