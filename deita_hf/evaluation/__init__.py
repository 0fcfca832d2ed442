"""Measure what a selection bought: MT-Bench and a pairwise (AlpacaEval-style) win rate.

- :func:`run_mt_bench`: two-turn answers from the model (its own chat template, FastChat's
  per-category temperatures), graded 1-10 by an LLM judge with FastChat's single-answer
  prompts (GPT-4 reference answers for math, reasoning and coding); missing ratings counted,
  never filled in.
- :func:`run_mt_bench_pair`: FastChat's pairwise grading against a baseline model (both
  orders; FastChat's pair rule by default).
- :func:`run_win_rate`: the model against a reference model's outputs, each pair judged in
  both orders; AlpacaEval's raw, discrete and length-controlled win rates
  (``length_controlled_v1`` with AlpacaEval's table, else ``length_controlled_minimal``).
- Existing answers (``answers=``: FastChat ``model_answer`` or AlpacaEval ``model_outputs.json``)
  are judged as they are; FastChat ``model_judgment`` files aggregate with
  :func:`judgment_results`; :func:`export_alpaca_eval` writes AlpacaEval's files.
- :func:`run_lm_eval`: lm-evaluation-harness benchmarks without a judge: ``open_llm`` (the Open
  LLM Leaderboard v1 settings and their mean), ``ifeval`` and ``lm_eval:TASK[,TASK...]``, through
  lm-eval's own task definitions and ``simple_evaluate`` on the model loaded once.
- :func:`update_model_card` writes results into a model card (``model-index`` and table);
  :func:`compare_runs` compares runs ("DEITA 6K vs random 6K vs full pool").
- Two ``evaluate`` modules aggregate your own judgments, offline, by path:
  ``evaluate.load(metric_path("mt_bench"))`` and ``evaluate.load(metric_path("win_rate"))``.

Every model call goes through :mod:`deita_hf.generation` (``hf:``, ``vllm:``, ``openai:``
specs) with its on-disk cache, so an interrupted run resumes where it stopped. The command
line is ``deita-hf eval`` (:mod:`deita_hf.cli.eval`).

Example:
    >>> from deita_hf.evaluation import METRICS, metric_path
    >>> METRICS
    ('mt_bench', 'win_rate')
    >>> import os; os.path.isfile(os.path.join(metric_path("mt_bench"), "mt_bench.py"))
    True
"""

from __future__ import annotations

from pathlib import Path

from deita_hf.errors import ConfigError
from deita_hf.evaluation.alpaca_export import export_alpaca_eval
from deita_hf.evaluation.answers import read_fastchat_answers, read_model_outputs
from deita_hf.evaluation.benchmark_data import (
    load_judge_prompts,
    load_questions,
    load_reference_answers,
)
from deita_hf.evaluation.card import update_model_card
from deita_hf.evaluation.fastchat_judgments import judgment_results, read_fastchat_judgments
from deita_hf.evaluation.judging import parse_rating, parse_verdict
from deita_hf.evaluation.mt_bench import run_mt_bench
from deita_hf.evaluation.mt_bench_pair import run_mt_bench_pair
from deita_hf.evaluation.outputs import read_results
from deita_hf.evaluation.report import compare_runs, format_summary
from deita_hf.evaluation.length_control import length_controlled_win_rate, load_length_control_table
from deita_hf.evaluation.stats import mt_bench_pair_scores, mt_bench_scores, pair_preference, win_rate_stats
from deita_hf.evaluation.win_rate import run_win_rate
from deita_hf.evaluation.lm_eval_run import run_lm_eval

__all__ = [
    "METRICS", "compare_runs", "export_alpaca_eval", "format_summary", "judgment_results",
    "length_controlled_win_rate", "load_judge_prompts", "load_length_control_table", "load_questions",
    "load_reference_answers", "metric_path", "mt_bench_pair_scores", "mt_bench_scores", "pair_preference",
    "parse_rating", "parse_verdict", "read_fastchat_answers", "read_fastchat_judgments", "read_model_outputs",
    "read_results", "run_lm_eval", "run_mt_bench", "run_mt_bench_pair", "run_win_rate", "update_model_card", "win_rate_stats",
]

#: the ``evaluate`` modules shipped with the package
METRICS = ("mt_bench", "win_rate")
_METRICS_DIR = Path(__file__).resolve().parent / "metrics"


def metric_path(name: str) -> str:
    """The folder of a shipped ``evaluate`` module, for ``evaluate.load(path)`` (works offline).

    Args:
        name: ``"mt_bench"`` or ``"win_rate"``.

    Returns:
        The module's folder (it holds ``NAME.py``).

    Raises:
        ConfigError: an unknown name.

    Example (plain text: ``import evaluate`` takes seconds):

        import evaluate
        mt = evaluate.load(metric_path("mt_bench"))
        mt.compute(predictions=[8, None, 6], references=["writing", "math", "math"], turns=[1, 1, 2])
    """
    if name not in METRICS:
        raise ConfigError(f"Unknown metric {name!r}; the package ships {', '.join(METRICS)}.")
    return str(_METRICS_DIR / name)
