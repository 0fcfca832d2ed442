"""MT-Bench end to end with a scripted model and judge: the judge's prompts, turn-by-turn
answers at FastChat's temperatures, the score recomputed from the stored judgments, and the
``evaluate`` module giving the same numbers offline."""

from __future__ import annotations

import json
import math
import os
import pathlib
import tempfile

import lc_data
import pytest
from eval_helpers import (
    chat_requests,
    model_reply,
    rating_judge,
    rating_of,
    read_jsonl_file,
)

from deita_hf.evaluation import run_mt_bench
from deita_hf.evaluation.benchmark_data import DATA_DIR, TEMPERATURES
from deita_hf.evaluation.outputs import json_ready

PROMPTS = {row["name"]: row for row in read_jsonl_file(DATA_DIR / "judge_prompts.jsonl")}
REFS = {row["question_id"]: row["choices"][0]["turns"] for row in read_jsonl_file(DATA_DIR / "reference_answer_gpt-4.jsonl")}
QUESTIONS = {row["question_id"]: row for row in read_jsonl_file(DATA_DIR / "question.jsonl")}


@pytest.fixture(scope="module")
def mt_run(tmp_path_factory):
    from helpers.openai_server import ScriptedOpenAIServer

    out = tmp_path_factory.mktemp("mt") / "run"
    with ScriptedOpenAIServer(model_reply) as model, ScriptedOpenAIServer(rating_judge) as judge:
        results = run_mt_bench(f"openai:{model.url}#tiny", f"openai:{judge.url}#judge", out, questions=8,
                               max_new_tokens=32, progress=False)
    return {"dir": out, "results": results, "model": chat_requests(model), "judge": chat_requests(judge),
            "answers": read_jsonl_file(out / "answers.jsonl"), "judgments": read_jsonl_file(out / "judgments.jsonl")}


def test_files_and_one_question_per_category(mt_run):
    out = mt_run["dir"]
    for name in ("answers.jsonl", "judgments.jsonl", "results.json", "eval_results.json", "mt_bench.png", "run.json"):
        assert (out / name).is_file(), name
    assert (out / "cache" / "generations.sqlite").is_file()
    assert [a["category"] for a in mt_run["answers"]] == [
        "writing", "roleplay", "reasoning", "math", "coding", "extraction", "stem", "humanities"]
    assert len(mt_run["judgments"]) == 16 and len(mt_run["judge"]) == 16 and len(mt_run["model"]) == 16


def test_answers_turn_by_turn_at_the_category_temperature(mt_run):
    questions = QUESTIONS
    by_last = {b["messages"][-1]["content"]: b for b in mt_run["model"]}
    for row in mt_run["answers"]:
        q = questions[row["question_id"]]
        first, second = row["choices"][0]["turns"]
        assert first == first.strip() and first.startswith("Answer to turn 1")   # stripped, as FastChat
        t1, t2 = by_last[q["turns"][0]], by_last[q["turns"][1]]
        assert t1["messages"] == [{"role": "user", "content": q["turns"][0]}]
        # the second turn sees the model's own first answer
        assert t2["messages"] == [{"role": "user", "content": q["turns"][0]},
                                  {"role": "assistant", "content": first},
                                  {"role": "user", "content": q["turns"][1]}]
        assert t1["temperature"] == t2["temperature"] == TEMPERATURES[q["category"]]
        assert t1["max_tokens"] == 32
        assert second.startswith("Answer to turn 2")


def test_the_judge_sees_the_right_prompts(mt_run):
    answers = {a["question_id"]: a["choices"][0]["turns"] for a in mt_run["answers"]}
    questions = QUESTIONS
    sent = {b["messages"][1]["content"]: b for b in mt_run["judge"]}
    for j in mt_run["judgments"]:
        body = sent[j["user_prompt"]]
        q, (a1, a2) = questions[j["question_id"]], answers[j["question_id"]]
        name = ("single-math-v1" if q["category"] in ("math", "reasoning", "coding") else "single-v1") + \
               ("-multi-turn" if j["turn"] == 2 else "")
        assert j["judge"][1] == name
        assert body["messages"][0] == {"role": "system", "content": PROMPTS[name]["system_prompt"]}
        assert body["temperature"] == 0 and body["max_tokens"] == 2048
        user = body["messages"][1]["content"]
        if j["turn"] == 1:
            assert f"[Question]\n{q['turns'][0]}\n\n" in user and f"Answer]\n{a1}\n[The End" in user
            assert q["turns"][1] not in user
        else:  # the whole conversation, the first answer included
            assert f"### User:\n{q['turns'][0]}\n\n### Assistant A:\n{a1}\n\n### User:\n{q['turns'][1]}" \
                   f"\n\n### Assistant A:\n{a2}" in user
        if q["category"] in ("math", "reasoning", "coding"):
            assert REFS[q["question_id"]][0] in user
            assert (REFS[q["question_id"]][1] in user) == (j["turn"] == 2)
        else:
            assert "Reference" not in user


def test_score_equals_an_independent_computation(mt_run):
    judgments, metrics = mt_run["judgments"], mt_run["results"]["metrics"]
    for j in judgments:
        assert j["score"] == rating_of(j["user_prompt"]) and j["judgment"] == j["attempts"][-1]
    scores = [j["score"] for j in judgments]
    assert metrics["score"] == pytest.approx(sum(scores) / len(scores))
    for turn in (1, 2):
        s = [j["score"] for j in judgments if j["turn"] == turn]
        assert metrics["per_turn"][f"turn_{turn}"]["score"] == pytest.approx(sum(s) / len(s))
    for cat, v in metrics["per_category"].items():
        s = [j["score"] for j in judgments if j["category"] == cat]
        assert v["score"] == pytest.approx(sum(s) / 2) and v["num_missing"] == 0
    on_disk = json.loads((mt_run["dir"] / "results.json").read_text())
    assert on_disk["metrics"] == json_ready(metrics) and on_disk["judge_report"]["num_missing"] == 0
    rows = json.loads((mt_run["dir"] / "eval_results.json").read_text())
    assert rows[0]["benchmark"] == "MT-Bench (8 of 80 questions)" and rows[0]["value"] == round(metrics["score"], 2)


def test_evaluate_module_gives_the_same_numbers_offline(mt_run, monkeypatch):
    monkeypatch.setenv("HF_EVALUATE_OFFLINE", "1")
    monkeypatch.setenv("HF_MODULES_CACHE", tempfile.mkdtemp())
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    import evaluate

    from deita_hf.evaluation import metric_path

    j = mt_run["judgments"]
    scores = [s["score"] for s in j]
    scores[3] = None  # a missing rating: counted, not averaged
    metric = evaluate.load(metric_path("mt_bench"))
    got = metric.compute(predictions=scores, references=[s["category"] for s in j], turns=[s["turn"] for s in j])
    from deita_hf.evaluation.stats import mt_bench_scores

    expected = mt_bench_scores(scores, [s["category"] for s in j], [s["turn"] for s in j])
    assert got == expected and got["num_missing"] == 1
    rated = [s for s in scores if s is not None]
    assert got["score"] == pytest.approx(sum(rated) / len(rated))
    full = metric.compute(predictions=[s["score"] for s in j], references=[s["category"] for s in j],
                          turns=[s["turn"] for s in j])
    assert json_ready(full) == mt_run["results"]["metrics"]
    wr = evaluate.load(metric_path("win_rate"))
    got = wr.compute(predictions=[1, 0.5, 0, None], predictions_swapped=[0, 0.5, 0, 1])
    assert got["win_rate"] == pytest.approx(100 / 3) and got["num_flipped"] == 1 and got["num_missing_pairs"] == 1
    # AlpacaEval's length_controlled_v1 from a df_gamed.csv path: the numbers of win_rate_stats
    from deita_hf.evaluation.length_control import load_length_control_table
    from deita_hf.evaluation.stats import win_rate_stats

    table = lc_data.write_gamed_table(pathlib.Path(tempfile.mkdtemp()) / "df_gamed.csv")
    rows = lc_data.annotations()
    kwargs = {"output_lengths": [len(r["output_2"]) for r in rows],
              "reference_lengths": [len(r["output_1"]) for r in rows], "instruction_index": list(range(len(rows))),
              "length_control": "length_controlled_v1", "pair_rule": "fastchat"}
    prefs = [None if r["preference"] is None else r["preference"] - 1 for r in rows]
    got = wr.compute(predictions=prefs, length_control_data=str(table), **kwargs)
    expected = win_rate_stats(prefs, length_control_table=load_length_control_table(table), **kwargs)
    assert got == expected and got["lc_estimator"] == "length_controlled_v1" and math.isfinite(got["lc_win_rate"])
    assert wr.compute(predictions=prefs[:20], output_lengths=kwargs["output_lengths"][:20],
                      reference_lengths=kwargs["reference_lengths"][:20])["lc_estimator"] == "length_controlled_minimal"
