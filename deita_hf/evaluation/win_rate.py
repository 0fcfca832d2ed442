"""Pairwise win rate (AlpacaEval-style): the model's outputs against a reference model's.

The model answers each instruction of the reference data set (greedy, as a chat with its own
chat template, or ``chat_template``), or its existing outputs are read (``answers``:
AlpacaEval's ``model_outputs.json``). A judge compares the two outputs with FastChat's
``pair-v2`` prompt, each pair in BOTH orders (model first, then reference first) to cancel
position bias; a verdict is ``[[A]]``, ``[[B]]`` or ``[[C]]`` (tie). The pair's preference for
the model comes from the two orders (1 win, 0.5 tie, 0 loss each) by the pair rule: ``"mean"``
(default: win + tie = 0.75) or ``"fastchat"`` (any disagreement is a tie); a win in one order
and a loss in the other is a "flip" (0.5 under both). Aggregation:
:func:`~deita_hf.evaluation.stats.win_rate_stats` (AlpacaEval's raw and discrete win rates with
the standard error, and a length-controlled win rate: ``length_controlled_v1`` when the
instruction-difficulty table is known, see :mod:`~deita_hf.evaluation.length_control`).

Example:
    >>> from deita_hf.evaluation.win_rate import preference
    >>> preference("A", model_first=True), preference("A", model_first=False), preference("tie", model_first=True)
    (1.0, 0.0, 0.5)
"""

from __future__ import annotations

import os
from typing import Any

from deita_hf.evaluation.benchmark_data import (
    load_judge_prompts,
    load_reference_outputs,
)
from deita_hf.evaluation.judging import ask_judge, parse_verdict
from deita_hf.evaluation.length_control import choose_length_control
from deita_hf.evaluation.outputs import finish_run, start_run
from deita_hf.evaluation.stats import pair_preference, win_rate_stats
from deita_hf.generation import GenerationParams, Generator

__all__ = ["JUDGE_PROMPT", "pair_messages", "preference", "run_win_rate"]

#: FastChat's pairwise judge prompt used for the win rate
JUDGE_PROMPT = "pair-v2"


def preference(verdict: str | None, *, model_first: bool) -> float | None:
    """The preference for the model (1, 0.5, 0) implied by a verdict, or None without one.

    Args:
        verdict: ``"A"``, ``"B"``, ``"tie"`` or None.
        model_first: the model's output was shown as assistant A.
    """
    if verdict is None:
        return None
    if verdict == "tie":
        return 0.5
    return 1.0 if (verdict == "A") == model_first else 0.0


def pair_messages(instruction: str, answer_a: str, answer_b: str, prompt: dict[str, Any]) -> list[dict[str, str]]:
    """The judge's ``[system, user]`` chat comparing assistant A and assistant B."""
    user = prompt["prompt_template"].format(question=instruction, answer_a=answer_a, answer_b=answer_b)
    return [{"role": "system", "content": prompt["system_prompt"]}, {"role": "user", "content": user}]


def judge_pairs(judge: Generator, rows: list[dict[str, str]], outputs: list[str], *, retries: int = 2,
                max_tokens: int = 2048, reask_temperature: float = 0.7, progress: bool = True,
                pair_rule: str = "mean") -> list[dict[str, Any]]:
    """Judge every (model output, reference output) pair in both orders.

    Args:
        judge: the judge's generator.
        rows: the reference rows (``instruction``, ``output``).
        outputs: the model's outputs, one per row.
        retries: re-asks for a reply without a verdict.
        max_tokens: the judge's ``max_new_tokens``.
        reask_temperature: temperature of the re-asks.
        progress: show progress bars.
        pair_rule: how the two orders combine into ``preference`` (``"mean"``/``"fastchat"``).

    Returns:
        One record per pair: ``index``, ``instruction``, ``verdicts`` ([model-first,
        reference-first]; ``"A"``/``"B"``/``"tie"``/None), ``preferences`` (for the model, per
        order), ``preference`` (by ``pair_rule``; None when an order is missing), ``flipped``,
        ``judgments`` (the last reply per order) and ``attempts`` (every reply per order).
    """
    prompt = load_judge_prompts()[JUDGE_PROMPT]
    first = [pair_messages(r["instruction"], out, r["output"], prompt) for r, out in zip(rows, outputs)]
    second = [pair_messages(r["instruction"], r["output"], out, prompt) for r, out in zip(rows, outputs)]
    replies = ask_judge(judge, first + second, parse_verdict, retries=retries, max_tokens=max_tokens,
                        reask_temperature=reask_temperature, progress=progress, desc="judge (both orders)")
    n = len(rows)
    records = []
    for i, row in enumerate(rows):
        one, two = replies[i], replies[n + i]
        prefs = [preference(one["value"], model_first=True), preference(two["value"], model_first=False)]
        both = None not in prefs
        records.append({
            "index": row.get("index", i), "instruction": row["instruction"], "verdicts": [one["value"], two["value"]],
            "preferences": prefs, "preference": pair_preference(prefs[0], prefs[1], pair_rule),
            "flipped": both and (prefs[0] - 0.5) * (prefs[1] - 0.5) < 0,
            "judge": [judge.spec, JUDGE_PROMPT], "user_prompts": [first[i][1]["content"], second[i][1]["content"]],
            "judgments": [one["attempts"][-1], two["attempts"][-1]],
            "attempts": [one["attempts"], two["attempts"]]})
    return records


def _model_outputs(run: Any, rows: list[dict[str, Any]], given: tuple[str, dict[str, str]] | None,
                   source: Any, *, max_new_tokens: int, progress: bool) -> list[str]:
    """The model's output per reference row: read from ``given`` (by instruction) or generated."""
    from deita_hf.errors import InputError

    if given is not None:
        missing = [r["index"] for r in rows if r["instruction"] not in given[1]]
        if missing:
            raise InputError(f"--answers {str(source)!r} has no output for {len(missing)} of the {len(rows)} "
                             f"reference instructions (rows {missing[:10]}); outputs are matched by instruction.")
        return [given[1][r["instruction"]] for r in rows]
    chats = [[{"role": "user", "content": r["instruction"]}] for r in rows]
    params = GenerationParams(max_new_tokens=max_new_tokens, temperature=0.0)
    texts = run.model.generate(chats, params, progress=progress, desc="answers")
    return [(t or "").strip() for t in texts]


def run_win_rate(model: Generator | str | None, judge: Generator | str, reference: str | os.PathLike,
                 output_dir: str | os.PathLike, *, questions: int | None = None, max_new_tokens: int = 1024,
                 judge_max_tokens: int = 2048, retries: int = 2, reask_temperature: float = 0.7,
                 split: str = "train", progress: bool = True, overwrite: bool = False,
                 generator_kwargs: dict[str, Any] | None = None, answers: str | os.PathLike | None = None,
                 pair_rule: str = "mean", length_control: str = "auto",
                 length_control_data: str | os.PathLike | None = None,
                 chat_template: str | None = None) -> dict[str, Any]:
    """Run the pairwise comparison end to end and write ``output_dir`` (resumable).

    Args:
        model: the model under test (generator or spec); None with ``answers``.
        judge: the judge (generator or spec).
        reference: a data set with ``instruction`` and ``output`` (the reference model's
            outputs, e.g. AlpacaEval's ``gpt4_1106_preview`` outputs): file, folder or Hub id.
        output_dir: the run's folder (``answers.jsonl``, ``judgments.jsonl``, ``results.json``,
            ``eval_results.json``, ``win_rate.png``, ``cache/``).
        questions: use the first this-many instructions (a smoke run).
        max_new_tokens: most tokens per model output (greedy decoding).
        judge_max_tokens: most tokens per judge reply.
        retries: judge re-asks for a reply without a verdict.
        reask_temperature: temperature of those re-asks.
        split: split of the reference data set.
        progress: show progress bars.
        overwrite: reuse a folder that holds another evaluation.
        generator_kwargs: ``{"model": {...}, "judge": {...}}`` for ``build_generator``.
        answers: the model's existing outputs (AlpacaEval's ``model_outputs.json`` layout,
            matched by instruction) instead of generating them.
        pair_rule: ``"mean"`` (default) or ``"fastchat"``: how the two orders combine.
        length_control: ``"auto"``, ``"v1"``, ``"noreg"``, ``"minimal"`` or ``"none"``
            (:func:`~deita_hf.evaluation.length_control.choose_length_control`).
        length_control_data: AlpacaEval's ``df_gamed.csv`` (or ``instruction_difficulty.csv``);
            pairs are matched to it by their row position in ``reference``.
        chat_template: a Jinja chat template replacing the model's own (``hf:``/``vllm:`` specs).

    Returns:
        The ``results.json`` contents: ``metrics`` (:func:`~deita_hf.evaluation.stats.win_rate_stats`)
        and ``judge_report`` (missing verdicts, flips between the orders).
    """
    from deita_hf.evaluation.answers import read_model_outputs

    rows = load_reference_outputs(reference, split=split, n=questions)
    estimator, table, why = choose_length_control(length_control, length_control_data, [r["dataset"] for r in rows])
    given = None if answers is None else read_model_outputs(answers)
    run = start_run(output_dir, "win_rate", model, judge, overwrite=overwrite, generator_kwargs=generator_kwargs,
                    extra={"reference": str(reference)}, chat_template=chat_template,
                    answers_name=None if given is None else given[0])
    outputs = _model_outputs(run, rows, given, answers, max_new_tokens=max_new_tokens, progress=progress)
    run.write_jsonl("answers.jsonl", [
        {"index": r["index"], "instruction": r["instruction"], "output": out, "generator": run.model_spec,
         "dataset": r["dataset"], "reference_output": r["output"], "reference_generator": r["generator"]}
        for r, out in zip(rows, outputs)])
    records = judge_pairs(run.judge, rows, outputs, retries=retries, max_tokens=judge_max_tokens,
                          reask_temperature=reask_temperature, progress=progress, pair_rule=pair_rule)
    run.write_jsonl("judgments.jsonl", records)
    metrics = win_rate_stats([r["preferences"][0] for r in records], swapped=[r["preferences"][1] for r in records],
                             output_lengths=[len(o) for o in outputs],
                             reference_lengths=[len(r["output"]) for r in rows],
                             pair_rule=pair_rule, length_control=estimator,
                             instruction_index=[r["index"] for r in rows], length_control_table=table)
    missing = [v is None for r in records for v in r["verdicts"]]
    report = {"num_pairs": len(records), "num_judgments": len(missing), "num_missing": sum(missing),
              "num_missing_pairs": metrics["num_missing_pairs"], "num_flipped": metrics.get("num_flipped", 0),
              "num_disagreements": metrics.get("num_disagreements", 0),
              "first_position_rate": metrics.get("first_position_rate"),
              "num_reasked": sum(len(a) > 1 for r in records for a in r["attempts"]),
              "num_judge_calls": sum(len(a) for r in records for a in r["attempts"])}
    for key, k in (("order_model_first", 0), ("order_reference_first", 1)):
        prefs = [r["preferences"][k] for r in records]
        report[key] = {"wins": prefs.count(1.0), "ties": prefs.count(0.5), "losses": prefs.count(0.0),
                       "missing": prefs.count(None)}
    generators = sorted({r["generator"] for r in rows})
    settings = {"num_questions": len(rows), "max_new_tokens": max_new_tokens, "temperature": 0.0,
                "judge_prompt": JUDGE_PROMPT, "judge_max_tokens": judge_max_tokens, "judge_retries": retries,
                "reask_temperature": reask_temperature, "split": split, "pair_rule": pair_rule,
                "length_control": estimator, "length_control_choice": length_control,
                "length_control_reason": why, "length_control_data": None if table is None else table.source,
                "answers": None if answers is None else str(answers),
                "avg_length": int(sum(len(o) for o in outputs) / len(outputs)) if outputs else None}
    return finish_run(run, metrics=metrics, judge_report=report, settings=settings,
                      extra={"reference": str(reference), "reference_model": ", ".join(generators)})
