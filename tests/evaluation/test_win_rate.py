"""Pairwise win rate with a scripted model and judge: both orders, flips of a position-biased
judge, missing verdicts, and the numbers recomputed from the stored judgments."""

from __future__ import annotations

import json

import pytest
from eval_helpers import answer_in, chat_requests, model_reply, read_jsonl_file

from deita_hf.evaluation import run_win_rate
from deita_hf.evaluation.benchmark_data import load_reference_outputs
from deita_hf.evaluation.win_rate import preference


def _run(openai_server, tmp_path, reference_file, judge_responder, name="wr"):
    model, judge = openai_server(model_reply), openai_server(judge_responder)
    results = run_win_rate(f"openai:{model.url}#tiny", f"openai:{judge.url}#judge", reference_file,
                           tmp_path / name, max_new_tokens=16, retries=1, progress=False)
    return results, judge, read_jsonl_file(tmp_path / name / "judgments.jsonl")


def test_preference_mapping():
    assert [preference(v, model_first=True) for v in ("A", "B", "tie", None)] == [1.0, 0.0, 0.5, None]
    assert [preference(v, model_first=False) for v in ("A", "B", "tie")] == [0.0, 1.0, 0.5]


def test_both_orders_and_a_consistent_judge(openai_server, tmp_path, reference_file):
    def prefers_model(body, path):  # the model's answers start with "Answer to turn"
        return "[[A]]" if answer_in(body["messages"][1]["content"], "A").startswith("Answer") else "[[B]]"

    results, judge, judgments = _run(openai_server, tmp_path, reference_file, prefers_model)
    rows = load_reference_outputs(reference_file)
    answers = read_jsonl_file(tmp_path / "wr" / "answers.jsonl")
    bodies = chat_requests(judge)
    assert len(bodies) == 2 * len(rows) == 16
    for row, ans in zip(rows, answers):  # each pair shown once in each order
        shown = [(answer_in(b["messages"][1]["content"], "A"), answer_in(b["messages"][1]["content"], "B"))
                 for b in bodies if b["messages"][1]["content"].startswith(f"[User Question]\n{row['instruction']}\n")]
        assert sorted(shown) == sorted([(ans["output"], row["output"]), (row["output"], ans["output"])])
    m = results["metrics"]
    assert m["win_rate"] == 100.0 and m["num_flipped"] == 0 and m["num_wins"] == 8
    assert all(j["verdicts"] == ["A", "B"] and j["preference"] == 1.0 for j in judgments)


def test_a_position_biased_judge_flips_every_pair(openai_server, tmp_path, reference_file):
    results, _, judgments = _run(openai_server, tmp_path, reference_file, lambda body, path: "Clearly [[A]]")
    m, report = results["metrics"], results["judge_report"]
    assert m["win_rate"] == 50.0 and m["num_ties"] == 8
    assert m["num_flipped"] == report["num_flipped"] == 8 and m["first_position_rate"] == 100.0
    assert report["order_model_first"]["wins"] == 8 and report["order_reference_first"]["losses"] == 8
    assert all(j["flipped"] for j in judgments)


def test_missing_verdicts_and_numbers_from_the_stored_judgments(openai_server, tmp_path, reference_file):
    def judge(body, path):
        prompt = body["messages"][1]["content"]
        model_first = answer_in(prompt, "A").startswith("Answer")
        if "Dolly" in prompt or len(prompt) % 3 == 0:   # some prompts never get a verdict
            return "Both are fine."
        return "[[C]]" if len(prompt) % 3 == 1 else ("[[A]]" if model_first else "[[B]]")

    results, server, judgments = _run(openai_server, tmp_path, reference_file, judge)
    missing = sum(v is None for j in judgments for v in j["verdicts"])
    assert missing > 0 and results["judge_report"]["num_missing"] == missing
    assert len(chat_requests(server)) == 16 + missing     # retries=1: each unrated prompt asked once more
    prefs = [j["preference"] for j in judgments if j["preference"] is not None]
    assert results["metrics"]["num_pairs"] == len(prefs) and len(prefs) < 8
    assert results["metrics"]["win_rate"] == pytest.approx(100 * sum(prefs) / len(prefs))
    on_disk = json.loads((tmp_path / "wr" / "results.json").read_text())
    assert on_disk["metrics"]["num_missing_pairs"] == 8 - len(prefs)
