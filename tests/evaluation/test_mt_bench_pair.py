"""MT-Bench pairwise against a baseline: FastChat's pair prompts in both orders, judgments in
FastChat's layout, and the numbers against FastChat's show_result rule computed directly; the
baseline as a FastChat answers file or as a model; the FastChat judgment reader."""

from __future__ import annotations

import json

import pytest
from eval_helpers import chat_requests, model_reply, read_jsonl_file
from sample_data import MT_BENCH_GPT4, TEST_DATA

from deita_hf.cli.main import main
from deita_hf.evaluation import judgment_results, read_fastchat_judgments, run_mt_bench_pair
from deita_hf.evaluation.benchmark_data import DATA_DIR

PROMPTS = {row["name"]: row for row in read_jsonl_file(DATA_DIR / "judge_prompts.jsonl")}
REFS = {row["question_id"]: row["choices"][0]["turns"] for row in read_jsonl_file(DATA_DIR / "reference_answer_gpt-4.jsonl")}


def _pair_judge(body, path):
    """Game-dependent verdicts: the model (answers 'Answer to turn ...') wins when shown as A; when the
    baseline is A, a tie on turn 2 prompts and a win for B on turn 1 prompts; no verdict for one question."""
    user = body["messages"][1]["content"]
    model_is_a = "Answer to turn" in user.split("Assistant B")[0]
    if "trip to Hawaii" in user:                     # question 81: never a verdict
        return "I cannot decide."
    if model_is_a:
        return "A is better. [[A]]"
    return "[[C]]" if "### User:" in user else "[[B]]"


def _fastchat_show_result(rows, baseline):
    """FastChat's display_result_pairwise (show_result.py), for the one model against the baseline."""
    res = {"win": 0, "loss": 0, "tie": 0}
    for r in rows:
        if r["g1_winner"] == "error" or r["g2_winner"] == "error" or baseline not in (r["model_1"], r["model_2"]):
            continue
        if r["g1_winner"] == "tie" or r["g1_winner"] != r["g2_winner"]:
            res["tie"] += 1
        else:
            winner = r["model_1"] if r["g1_winner"] == "model_1" else r["model_2"]
            res["win" if winner != baseline else "loss"] += 1
    n = sum(res.values())
    return {**res, "win_rate": res["win"] / n, "loss_rate": res["loss"] / n,
            "win_rate_adjusted": (res["win"] + 0.5 * res["tie"]) / n}


@pytest.fixture(scope="module")
def pair_run(tmp_path_factory):
    from helpers.openai_server import ScriptedOpenAIServer

    out = tmp_path_factory.mktemp("pair") / "run"
    with ScriptedOpenAIServer(model_reply) as model, ScriptedOpenAIServer(_pair_judge) as judge:
        results = run_mt_bench_pair(f"openai:{model.url}#tiny", f"openai:{judge.url}#judge", out,
                                    baseline=TEST_DATA / MT_BENCH_GPT4, questions=2, retries=1, progress=False)
        bodies = chat_requests(judge)
    return {"dir": out, "results": results, "judge": bodies, "judgments": read_jsonl_file(out / "judgments.jsonl")}


def test_prompts_both_orders_and_fastchat_fields(pair_run):
    gpt4 = {r["question_id"]: r["choices"][0]["turns"] for r in read_jsonl_file(TEST_DATA / MT_BENCH_GPT4)}
    answers = {a["question_id"]: a["choices"][0]["turns"] for a in read_jsonl_file(pair_run["dir"] / "answers.jsonl")}
    assert sorted(answers) == [81, 91]
    base = read_jsonl_file(pair_run["dir"] / "baseline_answers.jsonl")
    assert {b["model_id"] for b in base} == {"gpt-4"} and all(b["choices"][0]["turns"] == gpt4[b["question_id"]]
                                                             for b in base)
    rows = pair_run["judgments"]
    assert len(rows) == 4 and {r["turn"] for r in rows} == {1, 2}
    for r in rows:
        assert set(r) >= {"question_id", "model_1", "model_2", "g1_winner", "g2_winner", "judge", "g1_user_prompt",
                          "g1_judgment", "g2_user_prompt", "g2_judgment", "turn", "tstamp"}
        assert r["model_2"] == "gpt-4" and r["judge"][1] == ("pair-v2" if r["turn"] == 1 else "pair-v2-multi-turn")
        mine, theirs = answers[r["question_id"]], gpt4[r["question_id"]]
        if r["turn"] == 1:   # game 1: the model as A; game 2: the baseline as A
            assert f"[The Start of Assistant A's Answer]\n{mine[0]}\n" in r["g1_user_prompt"]
            assert f"[The Start of Assistant A's Answer]\n{theirs[0]}\n" in r["g2_user_prompt"]
        else:
            assert f"### Assistant A:\n{mine[1]}\n" in r["g1_user_prompt"]
            assert f"### Assistant B:\n{mine[1]}\n" in r["g2_user_prompt"]
    sent = {b["messages"][1]["content"]: b for b in pair_run["judge"]}
    for r in rows:
        assert sent[r["g1_user_prompt"]]["messages"][0]["content"] == PROMPTS[r["judge"][1]]["system_prompt"]


def test_numbers_equal_fastchat_show_result(pair_run):
    rows, m = pair_run["judgments"], pair_run["results"]["metrics"]
    q81 = [r for r in rows if r["question_id"] == 81]
    assert [(r["g1_winner"], r["g2_winner"]) for r in q81] == [("error", "error")] * 2
    direct = _fastchat_show_result(rows, "gpt-4")
    assert {k: m[k] for k in direct} == pytest.approx(direct)
    # question 91: turn 1 model wins both games; turn 2 win + tie: FastChat's tie
    assert (m["win"], m["tie"], m["loss"], m["num_missing"]) == (1, 1, 0, 2)
    assert m["pair_rule"] == "fastchat" and pair_run["results"]["baseline_model"] == "gpt-4"
    assert len(pair_run["judge"]) == 8 + 4       # 81's four prompts (2 turns x 2 games) asked again (retries=1)


def test_fastchat_judgment_reader_aggregates_the_same(pair_run, tmp_path):
    rows = read_fastchat_judgments(pair_run["dir"] / "judgments.jsonl")
    got = judgment_results(rows, source="gpt-4_pair.jsonl")
    assert got["benchmark"] == "mt_bench_pair" and got["baseline"] == "gpt-4"
    assert {k: got["metrics"][k] for k in ("win", "tie", "loss", "win_rate_adjusted")} == \
        {k: pair_run["results"]["metrics"][k] for k in ("win", "tie", "loss", "win_rate_adjusted")}
    # a file with two models, the model also as model_2, and FastChat's mean rule alternative
    extra = [{**r, "model_1": "gpt-4", "model_2": "other", "g1_winner": "model_2", "g2_winner": "model_2"}
             for r in rows]
    swapped = [{**r, "model_1": "gpt-4", "model_2": r["model_1"],
                "g1_winner": {"model_1": "model_2", "model_2": "model_1"}.get(r["g1_winner"], r["g1_winner"]),
                "g2_winner": {"model_1": "model_2", "model_2": "model_1"}.get(r["g2_winner"], r["g2_winner"])}
               for r in rows]
    both = swapped + extra
    with pytest.raises(Exception, match="several|candidate models"):
        judgment_results(both, source="x.jsonl")
    mine = judgment_results(both, source="x.jsonl", model=rows[0]["model_1"], baseline="gpt-4")
    assert mine["metrics"]["win"] == 1 and mine["metrics"]["tie"] == 1
    other = judgment_results(both, source="x.jsonl", model="other")
    assert other["metrics"]["win"] == _fastchat_show_result(extra, "gpt-4")["win"] == 4


def test_single_judgments_read_back_equal_the_run(tmp_path, openai_server):
    from eval_helpers import rating_judge

    from deita_hf.evaluation import run_mt_bench

    judge = openai_server(rating_judge)
    results = run_mt_bench(None, f"openai:{judge.url}#judge", tmp_path / "mt", questions=2,
                           answers=TEST_DATA / MT_BENCH_GPT4, progress=False)
    assert results["model"] == "answers:gpt-4"
    fastchat = tmp_path / "gpt-4_single.jsonl"
    rows = read_jsonl_file(tmp_path / "mt" / "judgments.jsonl")
    rows[0]["score"] = -1                          # FastChat's "no rating"
    fastchat.write_text("".join(json.dumps({k: r[k] for k in ("question_id", "model", "judge", "user_prompt",
                                            "judgment", "score", "turn", "tstamp")}) + "\n" for r in rows))
    assert main(["eval", "--judgments", str(fastchat), "--output", str(tmp_path / "fc")]) == 0
    got = json.loads((tmp_path / "fc" / "results.json").read_text())
    rated = [r["score"] for r in rows if r["score"] != -1]          # show_result: df[df.score != -1].mean()
    assert got["metrics"]["score"] == pytest.approx(sum(rated) / len(rated)) and got["metrics"]["num_missing"] == 1
    turn1 = [r["score"] for r in rows if r["turn"] == 1 and r["score"] != -1]
    assert got["metrics"]["per_turn"]["turn_1"]["score"] == pytest.approx(sum(turn1) / len(turn1))
    assert got["metrics"]["per_category"]["writing"]["num_rated"] == 1 and got["judge"] == results["judge"]
    assert (tmp_path / "fc" / "eval_results.json").is_file() and (tmp_path / "fc" / "mt_bench.png").is_file()


def test_baseline_as_a_model_and_cli_errors(openai_server, tmp_path, capsys):
    model, base = openai_server(model_reply), openai_server(lambda body, path: "A baseline answer.")
    judge = openai_server(_pair_judge)
    args = ["eval", f"openai:{model.url}#tiny", "--benchmark", "mt_bench_pair", "--judge", f"openai:{judge.url}#judge",
            "--output", str(tmp_path / "p"), "--questions", "2", "--no-progress", "--judge-retries", "0"]
    assert main(args + ["--baseline", f"openai:{base.url}#base", "--pair-rule", "mean"]) == 0
    out = capsys.readouterr().out
    assert "MT-Bench pairwise of openai:" in out and "mean pair rule" in out
    results = json.loads((tmp_path / "p" / "results.json").read_text())
    assert results["baseline_model"].startswith("openai:http://127.0.0.1:")
    assert results["baseline_model"].endswith("#base")
    assert len(chat_requests(base)) == 4               # two questions, two turns
    assert results["metrics"]["pair_rule"] == "mean" and results["metrics"]["win"] == 2   # win + tie = 0.75
    # the comparison table, figure and model card know the pairwise benchmark
    assert main(["eval", "--compare", str(tmp_path / "p"), "--output", str(tmp_path / "cmp")]) == 0
    table = capsys.readouterr().out
    assert "### MT-Bench pairwise" in table and "| p | 87.5 | 100.0 | 75.0 | 2/0/0 | mean |" in table
    assert (tmp_path / "cmp" / "comparison.png").is_file()
    card = tmp_path / "model"
    card.mkdir()
    assert main(["eval", "--output", str(tmp_path / "p"), "--update-card", str(card)]) == 0
    text = (card / "README.md").read_text()
    assert "| MT-Bench pairwise vs base (2 of 80 questions) | win rate adjusted (%, ties 1/2, mean pair rule), " \
           "judge judge | 87.5 |" in text
    capsys.readouterr()
    assert main(args[:-2]) == 2 and "needs --baseline" in capsys.readouterr().err
    assert main(args + ["--baseline", "x.jsonl", "--length-control", "v1"]) == 2
    assert main(["eval", "hf:x", "--benchmark", "mt_bench", "--judge", "openai:http://h/v1#j", "--output",
                 str(tmp_path / "o"), "--pair-rule", "fastchat"]) == 2
    assert main(["eval", "hf:x", "--benchmark", "mt_bench", "--judge", "openai:http://h/v1#j", "--output",
                 str(tmp_path / "o"), "--baseline", "y"]) == 2
    err = capsys.readouterr().err
    assert "--length-control and --length-control-data are for --benchmark win_rate" in err
    assert "--pair-rule is for pairwise judging" in err and "--baseline is for --benchmark mt_bench_pair" in err
