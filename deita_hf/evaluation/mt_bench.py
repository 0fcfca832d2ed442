"""MT-Bench (Zheng et al., 2023): two-turn answers from the model, single-answer grading by a judge.

Answers are generated turn by turn as chat messages rendered with the model's OWN chat template
(turn 2 sees the model's first answer), at FastChat's per-category temperatures
(:data:`~deita_hf.evaluation.benchmark_data.TEMPERATURES`). The judge grades each turn with
FastChat's prompts: ``single-v1`` (turn 1), ``single-v1-multi-turn`` (turn 2, the whole
conversation, focused on the second answer), and their ``single-math-v1*`` versions holding
GPT-4's reference answer for math, reasoning and coding. The judge's ``[[rating]]`` (1-10) is
parsed with FastChat's patterns; a reply without one is asked again (see
:mod:`~deita_hf.evaluation.judging`), then counted as missing. The score is the mean over all
rated turns, also given per turn and per category.

Example (plain text: it runs a model and a judge):

    from deita_hf.evaluation import run_mt_bench
    results = run_mt_bench("hf:out/deita-6k-sft", "openai:http://127.0.0.1:8000/v1#judge",
                           "out/eval/deita-6k", questions=8)
    results["metrics"]["score"]
"""

from __future__ import annotations

import hashlib
import os
import time
from typing import Any

from deita_hf.evaluation.benchmark_data import (
    NEED_REF_CATEGORIES,
    TEMPERATURES,
    load_judge_prompts,
    load_questions,
    load_reference_answers,
    select_questions,
)
from deita_hf.evaluation.judging import ask_judge, parse_rating
from deita_hf.evaluation.outputs import finish_run, start_run
from deita_hf.evaluation.stats import mt_bench_scores
from deita_hf.generation import GenerationParams, Generator

__all__ = ["answer_questions", "answer_rows", "judge_answers", "judge_messages", "model_answers", "run_mt_bench"]


def answer_questions(model: Generator, questions: list[dict[str, Any]], *, max_new_tokens: int = 1024,
                     progress: bool = True) -> list[list[str]]:
    """Answer every question turn by turn, as a chat with the model's own chat template.

    Args:
        model: the generator of the model under test.
        questions: MT-Bench questions (``category``, ``turns``).
        max_new_tokens: most tokens per answer (FastChat: 1024).
        progress: show progress bars.

    Returns:
        ``[[turn-1 answer, turn-2 answer, ...]]`` per question (stripped, as FastChat does).

    Raises:
        ConfigError: a local model whose tokenizer has no chat template.
        GenerationError: a generation failed for good (finished answers stay cached).
    """
    answers: list[list[str]] = [[] for _ in questions]
    for turn in range(max(len(q["turns"]) for q in questions)):
        groups: dict[float, list[int]] = {}
        for i, q in enumerate(questions):
            if turn < len(q["turns"]):
                groups.setdefault(TEMPERATURES.get(q["category"], 0.7), []).append(i)
        for temperature, idx in sorted(groups.items()):
            chats = []
            for i in idx:
                messages: list[dict[str, str]] = []
                for k in range(turn):
                    messages += [{"role": "user", "content": questions[i]["turns"][k]},
                                 {"role": "assistant", "content": answers[i][k]}]
                chats.append(messages + [{"role": "user", "content": questions[i]["turns"][turn]}])
            params = GenerationParams(max_new_tokens=max_new_tokens, temperature=temperature)
            texts = model.generate(chats, params, progress=progress,
                                   desc=f"answers, turn {turn + 1}, T={temperature:g}")
            for i, text in zip(idx, texts):
                answers[i].append((text or "").strip())
    return answers


def judge_messages(question: dict[str, Any], answers: list[str], turn: int,
                   reference: list[str] | None, prompts: dict[str, dict[str, Any]]
                   ) -> tuple[str, list[dict[str, str]]]:
    """The judge's chat for one turn, as FastChat's ``run_judge_single`` builds it.

    Args:
        question: the MT-Bench question.
        answers: the model's answers to its turns.
        turn: 1 or 2.
        reference: the reference answers (math/reasoning/coding), or None.
        prompts: :func:`~deita_hf.evaluation.benchmark_data.load_judge_prompts` output.

    Returns:
        (prompt name, ``[system, user]`` messages).
    """
    math_like = reference is not None and question["category"] in NEED_REF_CATEGORIES
    name = ("single-math-v1" if math_like else "single-v1") + ("-multi-turn" if turn == 2 else "")
    prompt = prompts[name]
    kwargs: dict[str, str] = {}
    if math_like:
        kwargs["ref_answer_1"] = reference[0]
        if turn == 2:
            kwargs["ref_answer_2"] = reference[1]
    if turn == 2:
        user = prompt["prompt_template"].format(question_1=question["turns"][0], question_2=question["turns"][1],
                                                answer_1=answers[0], answer_2=answers[1], **kwargs)
    else:
        user = prompt["prompt_template"].format(question=question["turns"][0], answer=answers[0], **kwargs)
    return name, [{"role": "system", "content": prompt["system_prompt"]}, {"role": "user", "content": user}]


def judge_answers(judge: Generator, questions: list[dict[str, Any]], answers: list[list[str]], *,
                  references: dict[int, list[str]] | None = None, retries: int = 2, max_tokens: int = 2048,
                  reask_temperature: float = 0.7, progress: bool = True) -> list[dict[str, Any]]:
    """Grade every turn of every answer.

    Args:
        judge: the judge's generator.
        questions: the MT-Bench questions.
        answers: :func:`answer_questions` output.
        references: ``{question_id: [ref 1, ref 2]}`` (default: the shipped GPT-4 answers).
        retries: re-asks for a reply without a rating.
        max_tokens: the judge's ``max_new_tokens`` (FastChat: 2048).
        reask_temperature: temperature of the re-asks.
        progress: show progress bars.

    Returns:
        One record per judged turn (FastChat's judgment fields plus ``category``,
        ``attempts``): ``question_id``, ``category``, ``turn``, ``judge`` ([spec, prompt name]),
        ``user_prompt``, ``judgment`` (the last reply), ``attempts`` (every reply), ``score``
        (the rating, None when missing).
    """
    references = load_reference_answers() if references is None else references
    prompts = load_judge_prompts()
    jobs = []
    for q, ans in zip(questions, answers):
        for turn in range(1, min(len(q["turns"]), len(ans), 2) + 1):
            name, messages = judge_messages(q, ans, turn, references.get(q["question_id"]), prompts)
            jobs.append((q, turn, name, messages))
    replies = ask_judge(judge, [m for *_, m in jobs], parse_rating, retries=retries, max_tokens=max_tokens,
                        reask_temperature=reask_temperature, progress=progress, desc="judge")
    return [{"question_id": q["question_id"], "category": q["category"], "turn": turn,
             "judge": [judge.spec, name], "user_prompt": messages[1]["content"],
             "judgment": reply["attempts"][-1], "attempts": reply["attempts"], "score": reply["value"]}
            for (q, turn, name, messages), reply in zip(jobs, replies)]


def answer_rows(model_id: str, questions: list[dict[str, Any]], answers: list[list[str]],
                tstamp: float) -> list[dict[str, Any]]:
    """The answers in FastChat's ``model_answer`` layout (one row per question)."""
    return [{"question_id": q["question_id"], "category": q["category"],
             "answer_id": hashlib.sha1(f"{model_id}|{q['question_id']}".encode()).hexdigest()[:22],
             "model_id": model_id, "choices": [{"index": 0, "turns": ans}], "tstamp": tstamp}
            for q, ans in zip(questions, answers)]


def model_answers(model: Generator | None, questions: list[dict[str, Any]], *,
                  given: tuple[str, dict[int, list[str]]] | None, source: str | os.PathLike | None,
                  max_new_tokens: int, progress: bool) -> list[list[str]]:
    """The answers of the picked questions: generated by ``model``, or those ``given``.

    Args:
        model: the generator (None with ``given``).
        questions: the picked questions.
        given: :func:`~deita_hf.evaluation.answers.read_fastchat_answers` output, or None.
        source: where ``given`` was read (for messages).
        max_new_tokens: most tokens per generated answer.
        progress: show progress bars.
    """
    from deita_hf.evaluation.answers import answers_for_questions

    if given is not None:
        return answers_for_questions(given[1], questions, str(source))
    return answer_questions(model, questions, max_new_tokens=max_new_tokens, progress=progress)


def run_mt_bench(model: Generator | str | None, judge: Generator | str, output_dir: str | os.PathLike, *,
                 questions: int | None = None, max_new_tokens: int = 1024, judge_max_tokens: int = 2048,
                 retries: int = 2, reask_temperature: float = 0.7, progress: bool = True,
                 overwrite: bool = False, generator_kwargs: dict[str, Any] | None = None,
                 answers: str | os.PathLike | None = None, chat_template: str | None = None) -> dict[str, Any]:
    """Run MT-Bench end to end and write ``output_dir`` (resumable: re-run to continue).

    Args:
        model: the model under test: a generator or a spec (``hf:DIR``, ``vllm:...``,
            ``openai:URL#MODEL``, a local folder); None with ``answers``.
        judge: the judge: a generator or a spec.
        output_dir: the run's folder: ``answers.jsonl`` (FastChat's answer format),
            ``judgments.jsonl`` (raw judge replies kept), ``results.json``,
            ``eval_results.json`` (for model cards), ``mt_bench.png`` and ``cache/`` (the
            generation cache of specs given as strings).
        questions: a smoke-run subset of this many questions (round-robin over categories).
        max_new_tokens: most tokens per answer.
        judge_max_tokens: most tokens per judge reply.
        retries: judge re-asks for a reply without a rating.
        reask_temperature: temperature of those re-asks.
        progress: show progress bars.
        overwrite: reuse a folder that holds another model's or benchmark's results.
        generator_kwargs: ``{"model": {...}, "judge": {...}}`` keyword arguments for
            :func:`~deita_hf.generation.build_generator` (e.g. ``batch_size``).
        answers: judge these existing answers (FastChat ``model_answer`` JSON Lines, see
            :mod:`~deita_hf.evaluation.answers`) instead of generating them.
        chat_template: a Jinja chat template replacing the model's own (``hf:``/``vllm:`` specs;
            :func:`~deita_hf.evaluation.outputs.resolve_chat_template`).

    Returns:
        The ``results.json`` contents: ``metrics`` (:func:`~deita_hf.evaluation.stats.mt_bench_scores`),
        ``judge_report`` (missing ratings, re-asks), settings and file names.
    """
    from deita_hf.evaluation.answers import read_fastchat_answers

    given = None if answers is None else read_fastchat_answers(answers)
    run = start_run(output_dir, "mt_bench", model, judge, overwrite=overwrite, generator_kwargs=generator_kwargs,
                    chat_template=chat_template, answers_name=None if given is None else given[0])
    picked = select_questions(load_questions(), questions)
    answers_ = model_answers(run.model, picked, given=given, source=answers, max_new_tokens=max_new_tokens,
                             progress=progress)
    now = time.time()
    run.write_jsonl("answers.jsonl", answer_rows(run.model_spec, picked, answers_, now))
    judgments = judge_answers(run.judge, picked, answers_, retries=retries, max_tokens=judge_max_tokens,
                              reask_temperature=reask_temperature, progress=progress)
    for row in judgments:
        row["model"], row["tstamp"] = run.model_spec, now
    run.write_jsonl("judgments.jsonl", judgments)
    metrics = mt_bench_scores([j["score"] for j in judgments], [j["category"] for j in judgments],
                              [j["turn"] for j in judgments])
    report = {"num_judgments": len(judgments), "num_missing": metrics["num_missing"],
              "num_reasked": sum(len(j["attempts"]) > 1 for j in judgments),
              "num_judge_calls": sum(len(j["attempts"]) for j in judgments),
              "missing": [[j["question_id"], j["turn"]] for j in judgments if j["score"] is None]}
    settings = {"num_questions": len(picked), "question_ids": [q["question_id"] for q in picked],
                "temperatures": TEMPERATURES, "max_new_tokens": max_new_tokens,
                "judge_max_tokens": judge_max_tokens, "judge_retries": retries,
                "reask_temperature": reask_temperature, "reference_categories": list(NEED_REF_CATEGORIES),
                "answers": None if answers is None else str(answers)}
    return finish_run(run, metrics=metrics, judge_report=report, settings=settings)
