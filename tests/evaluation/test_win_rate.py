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


def _model_vs_tie(body, path):
    """Prefers the model's answer when it is shown first, calls a tie when the reference is first."""
    return "[[A]]" if answer_in(body["messages"][1]["content"], "A").startswith("Answer") else "[[C]]"


def test_pair_rule_fastchat_makes_any_disagreement_a_tie(openai_server, tmp_path, reference_file):
    model, judge = openai_server(model_reply), openai_server(_model_vs_tie)
    common = dict(max_new_tokens=16, retries=0, progress=False)
    fast = run_win_rate(f"openai:{model.url}#tiny", f"openai:{judge.url}#judge", reference_file, tmp_path / "f",
                        pair_rule="fastchat", **common)
    mean = run_win_rate(f"openai:{model.url}#tiny", f"openai:{judge.url}#judge", reference_file, tmp_path / "m",
                        pair_rule="mean", **common)
    assert all(j["preferences"] == [1.0, 0.5] for j in read_jsonl_file(tmp_path / "f" / "judgments.jsonl"))
    assert fast["metrics"]["win_rate"] == 50.0 and fast["metrics"]["num_ties"] == 8
    assert mean["metrics"]["win_rate"] == 75.0 and mean["metrics"]["num_wins"] == 8
    assert fast["settings"]["pair_rule"] == "fastchat" and mean["metrics"]["pair_rule"] == "mean"


def _alpaca_outputs(path, rows, generator="my-model"):
    path.write_text(json.dumps([{"instruction": r["instruction"], "output": f"Answer {i}: " + "x" * (40 * i),
                                 "generator": generator} for i, r in enumerate(rows)]))
    return path


def test_existing_alpaca_eval_outputs_are_judged_as_they_are(openai_server, tmp_path, reference_file):
    from deita_hf.errors import InputError

    rows = load_reference_outputs(reference_file)
    outputs = _alpaca_outputs(tmp_path / "model_outputs.json", rows[::-1])       # another order: matched by text
    judge = openai_server(_model_vs_tie)
    results = run_win_rate(None, f"openai:{judge.url}#judge", reference_file, tmp_path / "wr", answers=outputs,
                           retries=0, progress=False)
    answers = read_jsonl_file(tmp_path / "wr" / "answers.jsonl")
    given = {o["instruction"]: o["output"] for o in json.loads(outputs.read_text())}
    assert [a["output"] for a in answers] == [given[r["instruction"]] for r in rows]
    assert results["model"] == "answers:my-model" and all(a["generator"] == "answers:my-model" for a in answers)
    assert len(chat_requests(judge)) == 16
    partial = _alpaca_outputs(tmp_path / "partial.json", rows[:5])
    with pytest.raises(InputError, match="no output for 3 of the 8 reference instructions"):
        run_win_rate(None, f"openai:{judge.url}#judge", reference_file, tmp_path / "p", answers=partial,
                     progress=False)


def test_length_controlled_v1_in_a_run_with_the_table(openai_server, tmp_path, reference_file):
    import lc_data

    table = lc_data.write_gamed_table(tmp_path / "df_gamed.csv")
    rows = load_reference_outputs(reference_file)
    outputs = _alpaca_outputs(tmp_path / "model_outputs.json", rows)

    def judge(body, path):   # the model wins its long answers (i >= 5), whatever the order
        prompt = body["messages"][1]["content"]
        long_first = answer_in(prompt, "A").startswith("Answer") and len(answer_in(prompt, "A")) > 170
        long_second = answer_in(prompt, "B").startswith("Answer") and len(answer_in(prompt, "B")) > 170
        return "[[A]]" if long_first else "[[B]]" if long_second else \
            ("[[B]]" if answer_in(prompt, "A").startswith("Answer") else "[[A]]")

    server = openai_server(judge)
    results = run_win_rate(None, f"openai:{server.url}#judge", reference_file, tmp_path / "wr", answers=outputs,
                           length_control_data=table, progress=False)
    m = results["metrics"]
    assert m["lc_estimator"] == "length_controlled_v1" and results["settings"]["length_control_data"] == str(table)
    from deita_hf.evaluation.length_control import load_length_control_table
    from deita_hf.evaluation.stats import win_rate_stats

    judged = read_jsonl_file(tmp_path / "wr" / "judgments.jsonl")
    answers = read_jsonl_file(tmp_path / "wr" / "answers.jsonl")
    again = win_rate_stats([j["preferences"][0] for j in judged], swapped=[j["preferences"][1] for j in judged],
                           output_lengths=[len(a["output"]) for a in answers],
                           reference_lengths=[len(a["reference_output"]) for a in answers],
                           length_control="length_controlled_v1", instruction_index=[a["index"] for a in answers],
                           length_control_table=load_length_control_table(table))
    assert again["lc_win_rate"] == pytest.approx(m["lc_win_rate"]) and m["win_rate"] == 37.5
