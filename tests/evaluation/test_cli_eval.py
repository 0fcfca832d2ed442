"""``deita-hf eval`` end to end: a tiny offline LLaMA answering with its own chat template,
a scripted judge, resuming after a failing judge or a KeyboardInterrupt without re-asking,
the model card update, and ``--compare``."""

from __future__ import annotations

import json

import pytest
from eval_helpers import chat_requests, model_reply, rating_judge, read_jsonl_file

from deita_hf.cli.main import main
from deita_hf.generation import OpenAIGenerator
from helpers.openai_server import Fault, scripted


def _mt(model, judge_url, out, *extra):
    return main(["eval", str(model), "--benchmark", "mt_bench", "--judge", f"openai:{judge_url}#judge",
                 "--output", str(out), "--questions", "4", "--max-new-tokens", "6", "--no-progress", *extra])


@pytest.fixture(scope="module")
def card_dir(tmp_path_factory):
    from deita_hf.training.model_card import render_model_card

    folder = tmp_path_factory.mktemp("model") / "deita-6k-sft"
    folder.mkdir()
    card = render_model_card(stage="sft", base_model="org/base-7b", model_name="deita-6k-sft",
                             provenance={"name": "out/deita-6k", "hub_id": None, "card_url": None,
                                         "selection": None, "preference": None},
                             hparams={"learning_rate": 2e-5}, eval_results=[
                                 {"benchmark": "AlpacaEval", "metric": "win rate", "value": 1.0}])
    card.save(folder / "README.md")
    return folder


def test_tiny_llama_mt_bench_and_model_card(openai_server, tmp_path, tiny_chat_llama, card_dir, capsys):
    from huggingface_hub import ModelCard

    judge = openai_server(rating_judge)
    assert _mt(tiny_chat_llama, judge.url, tmp_path / "run", "--update-card", str(card_dir)) == 0
    printed = capsys.readouterr().out
    assert "MT-Bench of hf:" in printed and "0 of 8 ratings missing" in printed
    answers = read_jsonl_file(tmp_path / "run" / "answers.jsonl")
    assert [a["category"] for a in answers] == ["writing", "roleplay", "reasoning", "math"]
    assert all(len(a["choices"][0]["turns"]) == 2 for a in answers)
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    scores = [j["score"] for j in read_jsonl_file(tmp_path / "run" / "judgments.jsonl")]
    assert results["metrics"]["score"] == pytest.approx(sum(scores) / 8)
    # the card: model-index results + the evaluation table, the rest kept
    card = ModelCard.load(card_dir / "README.md")
    entries = {(e.dataset_name, e.metric_type): e.metric_value for e in card.data.eval_results}
    assert entries[("MT-Bench (4 of 80 questions)", "mt_bench_score")] == round(results["metrics"]["score"], 2)
    assert ("MT-Bench (4 of 80 questions)", "mt_bench_turn_2") in entries
    assert card.data.model_name == "deita-6k-sft" and "model-index" in card.content
    assert "## Training procedure" in card.text and "| learning_rate | 2e-05 |" in card.text
    assert "| AlpacaEval | win rate | 1.0 |" in card.text   # the existing row is kept
    assert f"| MT-Bench (4 of 80 questions) | score (1-10), judge judge | {round(results['metrics']['score'], 2)} |" \
        in card.text
    # once more: the results are replaced, not repeated; nothing is generated again
    before = len(chat_requests(judge))
    assert _mt(tiny_chat_llama, judge.url, tmp_path / "run", "--update-card", str(card_dir)) == 0
    assert len(chat_requests(judge)) == before
    again = ModelCard.load(card_dir / "README.md")
    assert len(again.data.eval_results) == len(card.data.eval_results) == 3
    assert again.text.count("| MT-Bench (4 of 80 questions) |") == 3


def test_a_model_without_chat_template_is_an_error(openai_server, tmp_path, tiny_base_llama, capsys):
    judge = openai_server(rating_judge)
    assert _mt(tiny_base_llama, judge.url, tmp_path / "run") == 2
    assert "no chat template" in capsys.readouterr().err
    assert chat_requests(judge) == []


def test_a_judge_that_never_rates(openai_server, tmp_path, capsys):
    model, judge = openai_server(model_reply), openai_server(scripted("A fine answer, I'd give it a seven."))
    assert _mt(f"openai:{model.url}#tiny", judge.url, tmp_path / "run", "--judge-retries", "1") == 0
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["metrics"]["score"] is None and results["metrics"]["num_missing"] == 8
    assert results["judge_report"]["num_judge_calls"] == 16 == len(chat_requests(judge))
    assert all(j["score"] is None and len(j["attempts"]) == 2
               for j in read_jsonl_file(tmp_path / "run" / "judgments.jsonl"))
    assert json.loads((tmp_path / "run" / "eval_results.json").read_text()) == []
    assert "8 of 8 ratings missing" in capsys.readouterr().out


def test_resume_after_the_judge_fails_for_good(openai_server, tmp_path):
    model = openai_server(model_reply)
    calls = {"n": 0}

    def failing(body, path):
        calls["n"] += 1
        return rating_judge(body, path) if calls["n"] <= 3 else Fault(status=400, message="quota exceeded")

    first = openai_server(failing)
    args = ["--concurrency", "1"]
    assert _mt(f"openai:{model.url}#tiny", first.url, tmp_path / "run", *args) == 2
    assert not (tmp_path / "run" / "results.json").exists()
    asked_before = {b["messages"][1]["content"] for b in chat_requests(first)[:3]}
    model_calls = len(model.requests)
    healthy = openai_server(rating_judge)     # a new server (another port), the same served judge name
    assert _mt(f"openai:{model.url}#tiny", healthy.url, tmp_path / "run", *args) == 0
    asked_now = [b["messages"][1]["content"] for b in chat_requests(healthy)]
    assert len(asked_now) == 8 - 3 and not asked_before & set(asked_now)
    assert len(model.requests) == model_calls          # the answers came from the cache
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["judge_report"]["num_missing"] == 0 and results["metrics"]["num_rated"] == 8


def test_resume_after_keyboard_interrupt(openai_server, tmp_path, monkeypatch, capsys):
    model, judge = openai_server(model_reply), openai_server(rating_judge)
    original, calls = OpenAIGenerator.request, {"judge": 0}

    def interrupted(self, index, item, params, *args, **kwargs):
        if self.model == "judge":
            calls["judge"] += 1
            if calls["judge"] > 5:
                raise KeyboardInterrupt
        return original(self, index, item, params, *args, **kwargs)

    monkeypatch.setattr(OpenAIGenerator, "request", interrupted)
    assert _mt(f"openai:{model.url}#tiny", judge.url, tmp_path / "run", "--concurrency", "1") == 130
    assert "re-run the same command to resume" in capsys.readouterr().err
    monkeypatch.setattr(OpenAIGenerator, "request", original)
    assert len(chat_requests(judge)) == 5
    assert _mt(f"openai:{model.url}#tiny", judge.url, tmp_path / "run", "--concurrency", "1") == 0
    assert len(chat_requests(judge)) == 8       # only the 3 unanswered prompts were asked


def test_win_rate_cli_update_card_and_compare(openai_server, tmp_path, reference_file, card_dir, capsys):
    from huggingface_hub import ModelCard

    model, judge = openai_server(model_reply), openai_server(lambda body, path: "[[A]]")   # position-biased
    mt_judge = openai_server(rating_judge)
    spec = f"openai:{model.url}#tiny"
    assert main(["eval", spec, "--benchmark", "win_rate", "--reference", str(reference_file), "--judge",
                 f"openai:{judge.url}#judge", "--output", str(tmp_path / "wr"), "--questions", "5",
                 "--no-progress", "--update-card", str(card_dir)]) == 0
    out = capsys.readouterr().out
    assert "5 pairs flipped between orders" in out and "win rate      50.0%" in out
    card = ModelCard.load(card_dir / "README.md")
    assert any(e.metric_type == "length_controlled_minimal" and e.dataset_type == "reference.jsonl"
               for e in card.data.eval_results)
    assert "| Win rate vs dolly-human (5 instructions) | win rate (%), judge judge | 50.0 |" in card.text
    assert _mt(spec, mt_judge.url, tmp_path / "mt") == 0
    assert main(["eval", "--compare", str(tmp_path / "mt"), str(tmp_path / "wr"), "--labels", "deita-6k",
                 "deita-6k-wr", "--output", str(tmp_path / "cmp")]) == 0
    table = capsys.readouterr().out
    assert "| deita-6k |" in table and "| deita-6k-wr | 50.0 ± 0.0 |" in table
    for name in ("comparison.md", "comparison.json", "comparison.png"):
        assert (tmp_path / "cmp" / name).stat().st_size > 0
    assert main(["eval", "--compare", str(tmp_path / "nothing"), "--output", str(tmp_path / "c2")]) == 2


def test_argument_errors(tmp_path, capsys):
    base = ["eval", "hf:x", "--output", str(tmp_path / "o")]
    assert main(base + ["--judge", "openai:http://127.0.0.1:1/v1#j"]) == 2
    assert main(base + ["--benchmark", "win_rate", "--judge", "openai:http://127.0.0.1:1/v1#j"]) == 2
    assert main(base + ["--benchmark", "mt_bench", "--judge", "gpt-4"]) == 2
    assert main(base + ["--benchmark", "mt_bench", "--judge", "openai:http://h/v1#j", "--questions", "0"]) == 2
    assert main(["eval", "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "needs --reference" in err and "Bad generator spec 'gpt-4'" in err


def test_update_card_alone_from_a_finished_run(openai_server, tmp_path):
    from huggingface_hub import ModelCard

    model, judge = openai_server(model_reply), openai_server(rating_judge)
    assert _mt(f"openai:{model.url}#tiny", judge.url, tmp_path / "run") == 0
    bare = tmp_path / "bare-model"      # a model folder without a card yet
    bare.mkdir()
    assert main(["eval", "--update-card", str(bare), "--output", str(tmp_path / "run")]) == 0
    card = ModelCard.load(bare / "README.md")
    assert card.data.model_name == "bare-model" and len(card.data.eval_results) == 3
    assert "| MT-Bench (4 of 80 questions) | score (1-10), judge judge |" in card.text
    assert main(["eval", "--update-card", str(tmp_path / "missing"), "--output", str(tmp_path / "run")]) == 2


def test_a_base_model_with_the_vicuna_chat_template(openai_server, tmp_path, tiny_base_llama, capsys):
    """No chat template of its own: --chat-template vicuna_v1.1 (or a file) evaluates it; another
    template on the same folder is another evaluation."""
    from transformers import AutoTokenizer

    from deita_hf.generation import TransformersGenerator
    from deita_hf.training.chat_template import VICUNA_SYSTEM_PROMPT, VICUNA_V1_1_TEMPLATE

    judge = openai_server(rating_judge)
    assert _mt(tiny_base_llama, judge.url, tmp_path / "run", "--chat-template", "vicuna_v1.1") == 0
    answers = read_jsonl_file(tmp_path / "run" / "answers.jsonl")
    assert len(answers) == 4 and all(len(a["choices"][0]["turns"]) == 2 for a in answers)
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["model_generator"]["chat_template"] == VICUNA_V1_1_TEMPLATE
    tok = AutoTokenizer.from_pretrained(tiny_base_llama)
    q = "Hello there"
    rendered = TransformersGenerator(tiny_base_llama, chat_template=VICUNA_V1_1_TEMPLATE).encode(
        [{"role": "user", "content": q}])
    assert tok.decode(rendered) == f"{tok.bos_token}{VICUNA_SYSTEM_PROMPT} USER: {q} ASSISTANT:"
    file = tmp_path / "vicuna.jinja"
    file.write_text(VICUNA_V1_1_TEMPLATE)
    before = len(chat_requests(judge))
    assert _mt(tiny_base_llama, judge.url, tmp_path / "run", "--chat-template", str(file)) == 0
    assert len(chat_requests(judge)) == before            # the same template: everything from the cache
    other = tmp_path / "other.jinja"
    other.write_text("{% for m in messages %}{{ m['content'] }}{% endfor %}")
    assert _mt(tiny_base_llama, judge.url, tmp_path / "run", "--chat-template", str(other)) == 2
    assert "chat_template_sha256" in capsys.readouterr().err
    assert _mt(tiny_base_llama, judge.url, tmp_path / "run", "--chat-template", str(tmp_path / "nope")) == 2
    assert "neither a known template" in capsys.readouterr().err


def test_existing_fastchat_answers_are_judged(openai_server, tmp_path, test_data, capsys):
    judge = openai_server(rating_judge)
    answers = test_data / "mt_bench_model_answer_gpt-4_20.jsonl"
    base = ["eval", "--answers", str(answers), "--benchmark", "mt_bench", "--judge", f"openai:{judge.url}#judge",
            "--no-progress"]
    assert main(base + ["--output", str(tmp_path / "run"), "--questions", "2"]) == 0
    written = read_jsonl_file(tmp_path / "run" / "answers.jsonl")
    given = {r["question_id"]: r["choices"][0]["turns"] for r in read_jsonl_file(answers)}
    assert [w["choices"][0]["turns"] for w in written] == [given[81], given[91]]
    assert {w["model_id"] for w in written} == {"answers:gpt-4"}
    sent = [b["messages"][1]["content"] for b in chat_requests(judge)]
    assert len(sent) == 4 and any(given[81][0] in p for p in sent) and any(given[91][1] in p for p in sent)
    assert main(base + ["--output", str(tmp_path / "r4"), "--questions", "4"]) == 2
    assert "no answer to 2 of the 4 questions (question_id [101, 111])" in capsys.readouterr().err
    assert not (tmp_path / "r4" / "results.json").exists()


def test_new_argument_errors(tmp_path, capsys, test_data, reference_file):
    out = ["--output", str(tmp_path / "o")]
    judge = ["--judge", "openai:http://127.0.0.1:1/v1#j"]
    answers = str(test_data / "mt_bench_model_answer_gpt-4_20.jsonl")
    assert main(["eval", "hf:x", "--answers", answers, "--benchmark", "mt_bench", *judge, *out]) == 2
    assert main(["eval", "--answers", answers, "--benchmark", "mt_bench", "--chat-template", "vicuna_v1.1",
                 *judge, *out]) == 2
    assert main(["eval", "openai:http://127.0.0.1:1/v1#m", "--benchmark", "mt_bench", "--chat-template",
                 "vicuna_v1.1", *judge, *out]) == 2
    assert main(["eval", "hf:x", "--benchmark", "mt_bench", "--export", "alpaca_eval", *judge, *out]) == 2
    assert main(["eval", "--answers", answers, "--benchmark", "win_rate", "--reference", str(reference_file),
                 *judge, *out]) == 2
    err = capsys.readouterr().err
    assert "not both" in err and "with --answers nothing is generated" in err
    assert "--chat-template applies to local models" in err
    assert "--export alpaca_eval is for --benchmark win_rate" in err
    assert "in FastChat's model_answer layout; the win rate needs AlpacaEval's" in err
