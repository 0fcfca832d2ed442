"""Issue 24: inputs that were averaged in or judged silently are refused with one line naming
the row/record: ratings outside 1-10 and duplicated judgments (``eval --judgments``), a
duplicated ``question_id`` in MT-Bench ``--answers``; ``--answers FILE.jsonl.gz`` is read."""

from __future__ import annotations

import gzip
import json

import pytest
from sample_data import MT_BENCH_GPT4, TEST_DATA

from deita_hf.cli.main import main
from deita_hf.errors import InputError
from deita_hf.evaluation.answers import read_fastchat_answers, read_model_outputs
from deita_hf.evaluation.fastchat_judgments import judgment_results, read_fastchat_judgments


def _single(scores: list, model: str = "m") -> list[dict]:
    """Single judgments of questions 81.. (two turns each), in FastChat's layout."""
    return [{"question_id": 81 + k // 2, "model": model, "judge": ["gpt-4", "single-v1"], "score": s,
             "turn": 1 + k % 2} for k, s in enumerate(scores)]


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_judgments_reject_ratings_outside_the_scale(tmp_path, capsys):
    ok = _write(tmp_path / "ok.jsonl", _single([5, 5, 5, -1]))
    assert judgment_results(read_fastchat_judgments(ok), source="ok")["metrics"]["score"] == 5.0
    for bad in (100, 0, 10.5, -2, "7", True, None):
        path = _write(tmp_path / "bad.jsonl", _single([5, 5, bad, 5]))
        with pytest.raises(InputError, match=r"row 2: score .* outside the judge's scale \(1-10"):
            read_fastchat_judgments(path)
    assert main(["eval", "--judgments", str(path), "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "row 2" in err and "1-10" in err and "Traceback" not in err
    assert not (tmp_path / "out" / "results.json").exists()


def test_judgments_reject_a_question_and_turn_judged_twice(tmp_path, capsys):
    rows = _single([5, 5, 5, 5])
    twice = _write(tmp_path / "twice.jsonl", rows + [{**rows[1], "score": 9}])
    with pytest.raises(InputError, match=r"row 4: question 81, turn 2 of m is judged twice \(also row 1\)"):
        read_fastchat_judgments(twice)
    # the same question and turn of another model is not a duplicate
    other = _write(tmp_path / "two_models.jsonl", rows + _single([7, 7], model="n"))
    assert len(read_fastchat_judgments(other)) == 6
    pair = {"question_id": 81, "model_1": "m", "model_2": "gpt-4", "g1_winner": "model_1",
            "g2_winner": "tie", "turn": 1, "judge": ["gpt-4", "pair-v2"]}
    swapped = {**pair, "model_1": "gpt-4", "model_2": "m"}
    path = _write(tmp_path / "pair.jsonl", [pair, {**pair, "turn": 2}, swapped])
    with pytest.raises(InputError, match=r"row 2: question 81, turn 1 .* judged twice \(also row 0\)"):
        read_fastchat_judgments(path)
    assert main(["eval", "--judgments", str(twice), "--output", str(tmp_path / "out")]) == 2
    assert "judged twice" in capsys.readouterr().err


def test_mt_bench_answers_with_a_duplicated_question_id_are_refused(tmp_path):
    rows = [json.loads(line) for line in (TEST_DATA / MT_BENCH_GPT4).read_text().splitlines()]
    path = _write(tmp_path / "answers.jsonl", rows[:3] + [{**rows[1], "choices": [{"turns": ["x", "y"]}]}])
    with pytest.raises(InputError, match=rf"question_id {rows[1]['question_id']} is answered twice "
                                         r"\(records 1 and 3\)"):
        read_fastchat_answers(path)


def test_answers_files_may_be_gzipped(tmp_path):
    text = (TEST_DATA / MT_BENCH_GPT4).read_text(encoding="utf-8")
    packed = tmp_path / "gpt-4.jsonl.gz"
    with gzip.open(packed, "wt", encoding="utf-8") as fh:
        fh.write(text)
    assert read_fastchat_answers(packed) == read_fastchat_answers(TEST_DATA / MT_BENCH_GPT4)
    outputs = tmp_path / "model_outputs.json.gz"
    with gzip.open(outputs, "wt", encoding="utf-8") as fh:
        json.dump([{"instruction": "Hi?", "output": "Hello."}], fh)
    assert read_model_outputs(outputs) == ("model_outputs", {"Hi?": "Hello."})
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_text("not gzip")
    with pytest.raises(InputError, match="not a readable gzip file"):
        read_fastchat_answers(broken)


def test_noreg_offline_names_its_own_estimator_and_file(monkeypatch):
    from deita_hf.errors import ConfigError
    from deita_hf.evaluation.length_control import choose_length_control

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConfigError) as err:
        choose_length_control("noreg", None, [None])
    text = str(err.value)
    assert "length_controlled_noreg win rate (--length-control noreg) needs the instruction difficulty" in text
    assert "instruction_difficulty.csv" in text and "length_controlled_v1" not in text
    assert "--length-control-data PATH" in text
    with pytest.raises(ConfigError, match=r"length_controlled_v1 win rate \(--length-control v1\) needs the "
                                          r"instruction difficulty and the gamed baselines"):
        choose_length_control("v1", None, [None])


def test_fewer_than_five_pairs_say_why_there_is_no_lc_win_rate():
    from deita_hf.evaluation.length_control import length_controlled_win_rate
    from deita_hf.evaluation.report import format_summary

    lc = length_controlled_win_rate([1.0, 0.0, 1.0], [10, 20, 30], [15, 15, 15],
                                    estimator="length_controlled_minimal")
    metrics = {"win_rate": 66.7, "standard_error": 27.2, "num_wins": 2, "num_ties": 0, "num_losses": 1,
               "num_pairs": 3, "pair_rule": "mean", **lc}
    text = format_summary({"benchmark": "win_rate", "model": "m", "reference_model": "ref", "judge": "j",
                           "metrics": metrics, "judge_report": {}})
    line = next(x for x in text.splitlines() if "LC win rate" in x)
    assert "n/a" not in line and "SE 0 by construction" not in line
    assert line.strip() == ("LC win rate   not computed (length_controlled_minimal: 3 judged pairs: "
                            "the 5-fold fit needs at least 5)")


@pytest.mark.parametrize(("template", "message"), [
    ("{% for m in messages %}{{ m.content }{% endfor %}", "Jinja syntax error on line 1"),
    ("{{ raise_exception('Only system prompts') }}", "does not render a user/assistant chat: Only system prompts")])
def test_a_broken_chat_template_is_refused_before_the_model_loads(tmp_path, capsys, template, message):
    bad = tmp_path / "bad.jinja"
    bad.write_text(template, encoding="utf-8")
    code = main(["eval", f"hf:{tmp_path / 'no-such-model'}", "--benchmark", "mt_bench", "--judge",
                 "openai:http://127.0.0.1:9/v1#judge", "--output", str(tmp_path / "out"),
                 "--chat-template", str(bad), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "no-such-model" not in err, err
    assert not (tmp_path / "out").exists()


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_eval_checks_the_judge_before_generating_any_answer(openai_server, tmp_path, capsys):
    from eval_helpers import chat_requests, model_reply

    model = openai_server(model_reply)
    dead = f"openai:http://127.0.0.1:{_closed_port()}/v1#judge"
    code = main(["eval", f"openai:{model.url}#tiny", "--benchmark", "mt_bench", "--judge", dead,
                 "--output", str(tmp_path / "run"), "--questions", "2", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "--judge openai:http://127.0.0.1:" in err and "nothing answers at" in err, err
    assert chat_requests(model) == []  # not one answer generated for a judge that cannot grade it
