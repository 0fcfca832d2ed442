"""MT-Bench pairwise against a baseline model (FastChat's ``--mode pairwise-baseline``).

Every question is answered by the model and by the baseline (generated, or read from FastChat
answers, e.g. ``gpt-3.5-turbo.jsonl``, FastChat's default baseline). The judge compares the
two with FastChat's pairwise prompts: ``pair-v2`` (turn 1), ``pair-v2-multi-turn`` (turn 2, both
whole conversations, focused on the second answers), and ``pair-math-v1``/``pair-math-v1-multi-turn``
with GPT-4's reference answer for math, reasoning and coding. Each turn is judged in both
orders, game 1 with the model as assistant A and game 2 with the baseline as A, as FastChat's
``play_a_match_pair``; a reply without ``[[A]]``/``[[B]]``/``[[C]]`` is asked again, then is
FastChat's ``error`` (missing, left out). The two games combine by the pair rule (FastChat's by
default: any disagreement is a tie); :func:`~deita_hf.evaluation.stats.mt_bench_pair_scores`
aggregates. ``judgments.jsonl`` holds FastChat's ``model_judgment/*_pair.jsonl`` fields.

Example (plain text: it runs models and a judge):

    from deita_hf.evaluation.mt_bench_pair import run_mt_bench_pair
    results = run_mt_bench_pair("hf:out/deita-6k-sft", "openai:http://127.0.0.1:8000/v1#judge",
                                "out/eval/deita-6k-pair", baseline="model_answer/gpt-3.5-turbo.jsonl")
    results["metrics"]["win_rate_adjusted"]
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from deita_hf.evaluation.benchmark_data import (
    NEED_REF_CATEGORIES,
    TEMPERATURES,
    load_judge_prompts,
    load_questions,
    load_reference_answers,
    select_questions,
)
from deita_hf.evaluation.judging import ask_judge, parse_verdict
from deita_hf.evaluation.mt_bench import answer_rows, model_answers
from deita_hf.evaluation.outputs import finish_run, start_run
from deita_hf.evaluation.stats import mt_bench_pair_scores
from deita_hf.evaluation.win_rate import preference
from deita_hf.generation import Generator, build_generator

__all__ = ["WINNER", "pair_judge_messages", "run_mt_bench_pair"]

#: a game's verdict ("A"/"B"/"tie"/None) as FastChat's winner, per game (1: model is A)
WINNER = {1: {"A": "model_1", "B": "model_2", "tie": "tie", None: "error"},
          2: {"A": "model_2", "B": "model_1", "tie": "tie", None: "error"}}


def pair_judge_messages(question: dict[str, Any], answers_a: list[str], answers_b: list[str], turn: int,
                        reference: list[str] | None, prompts: dict[str, dict[str, Any]]
                        ) -> tuple[str, list[dict[str, str]]]:
    """The judge's chat comparing assistant A and B on one turn, as FastChat's ``run_judge_pair``.

    Args:
        question: the MT-Bench question.
        answers_a: assistant A's answers to its turns.
        answers_b: assistant B's answers.
        turn: 1 or 2.
        reference: the reference answers (math/reasoning/coding), or None.
        prompts: :func:`~deita_hf.evaluation.benchmark_data.load_judge_prompts` output.

    Returns:
        (prompt name, ``[system, user]`` messages).

    Example:
        >>> from deita_hf.evaluation.benchmark_data import load_judge_prompts, load_questions
        >>> q = load_questions()[0]
        >>> name, m = pair_judge_messages(q, ["a1", "a2"], ["b1", "b2"], 2, None, load_judge_prompts())
        >>> name, "### Assistant B:\\nb2" in m[1]["content"]
        ('pair-v2-multi-turn', True)
    """
    math_like = reference is not None and question["category"] in NEED_REF_CATEGORIES
    name = ("pair-math-v1" if math_like else "pair-v2") + ("-multi-turn" if turn == 2 else "")
    prompt = prompts[name]
    kwargs = {"ref_answer_1": reference[0], "ref_answer_2": reference[1]} if math_like else {}
    if turn == 2:
        user = prompt["prompt_template"].format(
            question_1=question["turns"][0], question_2=question["turns"][1], answer_a_1=answers_a[0],
            answer_b_1=answers_b[0], answer_a_2=answers_a[1], answer_b_2=answers_b[1], **kwargs)
    else:
        user = prompt["prompt_template"].format(question=question["turns"][0], answer_a=answers_a[0],
                                                answer_b=answers_b[0], **kwargs)
    return name, [{"role": "system", "content": prompt["system_prompt"]}, {"role": "user", "content": user}]


def _baseline_answers(baseline: Generator | str | os.PathLike, picked: list[dict[str, Any]], cache: Path,
                      kwargs: dict[str, Any] | None, *, max_new_tokens: int, progress: bool
                      ) -> tuple[str, list[list[str]]]:
    from deita_hf.evaluation.answers import read_fastchat_answers

    if not isinstance(baseline, Generator) and Path(baseline).is_file():
        given = read_fastchat_answers(baseline)
        return given[0], model_answers(None, picked, given=given, source=baseline,
                                       max_new_tokens=max_new_tokens, progress=progress)
    gen = baseline if isinstance(baseline, Generator) else build_generator(baseline, cache_dir=cache, **(kwargs or {}))
    return gen.spec, model_answers(gen, picked, given=None, source=None, max_new_tokens=max_new_tokens,
                                   progress=progress)


def run_mt_bench_pair(model: Generator | str | None, judge: Generator | str, output_dir: str | os.PathLike, *,
                      baseline: Generator | str | os.PathLike, answers: str | os.PathLike | None = None,
                      pair_rule: str = "fastchat", questions: int | None = None, max_new_tokens: int = 1024,
                      judge_max_tokens: int = 2048, retries: int = 2, reask_temperature: float = 0.7,
                      progress: bool = True, overwrite: bool = False,
                      generator_kwargs: dict[str, Any] | None = None,
                      chat_template: str | None = None) -> dict[str, Any]:
    """Run MT-Bench pairwise against ``baseline`` and write ``output_dir`` (resumable).

    Args:
        model: the model under test (generator or spec); None with ``answers``.
        judge: the judge (generator or spec).
        output_dir: the run's folder: ``answers.jsonl`` and ``baseline_answers.jsonl`` (FastChat's
            answer layout), ``judgments.jsonl`` (FastChat's pair judgments), ``results.json``,
            ``eval_results.json``, ``mt_bench_pair.png``, ``cache/``.
        baseline: the baseline: a FastChat answers file (an existing file) or a generator spec
            (its answers are generated like the model's).
        answers: the model's existing answers (FastChat layout) instead of generating them.
        pair_rule: ``"fastchat"`` (default) or ``"mean"`` (:func:`~deita_hf.evaluation.stats.pair_preference`).
        questions: a smoke-run subset of this many questions (round-robin over categories).
        max_new_tokens: most tokens per generated answer.
        judge_max_tokens: most tokens per judge reply.
        retries: judge re-asks for a reply without a verdict.
        reask_temperature: temperature of those re-asks.
        progress: show progress bars.
        overwrite: reuse a folder that holds another evaluation.
        generator_kwargs: ``{"model": {...}, "judge": {...}, "baseline": {...}}`` for ``build_generator``.
        chat_template: a Jinja chat template replacing the model's own (not the baseline's).

    Returns:
        The ``results.json`` contents: ``metrics``
        (:func:`~deita_hf.evaluation.stats.mt_bench_pair_scores`), ``judge_report``, settings.
    """
    from deita_hf.evaluation.answers import read_fastchat_answers

    given = None if answers is None else read_fastchat_answers(answers)
    baseline_id = baseline.spec if isinstance(baseline, Generator) else str(baseline)
    run = start_run(output_dir, "mt_bench_pair", model, judge, overwrite=overwrite,
                    generator_kwargs=generator_kwargs, chat_template=chat_template,
                    answers_name=None if given is None else given[0],
                    extra={"baseline": baseline_id, "pair_rule": pair_rule})
    picked = select_questions(load_questions(), questions)
    mine = model_answers(run.model, picked, given=given, source=answers, max_new_tokens=max_new_tokens,
                         progress=progress)
    base_name, theirs = _baseline_answers(baseline, picked, run.dir / "cache", (generator_kwargs or {}).get("baseline"),
                                          max_new_tokens=max_new_tokens, progress=progress)
    now = time.time()
    run.write_jsonl("answers.jsonl", answer_rows(run.model_spec, picked, mine, now))
    run.write_jsonl("baseline_answers.jsonl", answer_rows(base_name, picked, theirs, now))
    references, prompts = load_reference_answers(), load_judge_prompts()
    jobs = []
    for q, a, b in zip(picked, mine, theirs):
        for turn in range(1, min(len(q["turns"]), 2) + 1):
            ref = references.get(q["question_id"])
            name, g1 = pair_judge_messages(q, a, b, turn, ref, prompts)
            _, g2 = pair_judge_messages(q, b, a, turn, ref, prompts)
            jobs.append((q, turn, name, g1, g2))
    replies = ask_judge(run.judge, [j[3] for j in jobs] + [j[4] for j in jobs], parse_verdict, retries=retries,
                        max_tokens=judge_max_tokens, reask_temperature=reask_temperature, progress=progress,
                        desc="judge (both orders)")
    n = len(jobs)
    records = []
    for k, (q, turn, name, g1, g2) in enumerate(jobs):
        one, two = replies[k], replies[n + k]
        records.append({
            "question_id": q["question_id"], "model_1": run.model_spec, "model_2": base_name,
            "g1_winner": WINNER[1][one["value"]], "g2_winner": WINNER[2][two["value"]],
            "judge": [run.judge.spec, name], "g1_user_prompt": g1[1]["content"], "g1_judgment": one["attempts"][-1],
            "g2_user_prompt": g2[1]["content"], "g2_judgment": two["attempts"][-1], "turn": turn, "tstamp": now,
            "category": q["category"],
            "preferences": [preference(one["value"], model_first=True), preference(two["value"], model_first=False)],
            "attempts": [one["attempts"], two["attempts"]]})
    run.write_jsonl("judgments.jsonl", records)
    metrics = mt_bench_pair_scores([r["preferences"][0] for r in records], [r["preferences"][1] for r in records],
                                   [r["category"] for r in records], [r["turn"] for r in records], pair_rule=pair_rule)
    errors = [v is None for r in records for v in r["preferences"]]
    report = {"num_judgments": len(records), "num_games": len(errors), "num_missing": sum(errors),
              "num_missing_pairs": metrics["num_missing"], "num_disagreements": metrics["num_disagreements"],
              "num_reasked": sum(len(a) > 1 for r in records for a in r["attempts"]),
              "num_judge_calls": sum(len(a) for r in records for a in r["attempts"])}
    settings = {"num_questions": len(picked), "question_ids": [q["question_id"] for q in picked],
                "temperatures": TEMPERATURES, "max_new_tokens": max_new_tokens, "judge_max_tokens": judge_max_tokens,
                "judge_retries": retries, "reask_temperature": reask_temperature, "pair_rule": pair_rule,
                "reference_categories": list(NEED_REF_CATEGORIES), "answers": None if answers is None else str(answers)}
    return finish_run(run, metrics=metrics, judge_report=report, settings=settings,
                      extra={"baseline": baseline_id, "baseline_model": base_name})
