"""Readers of existing answers: FastChat model_answer JSON Lines and AlpacaEval model_outputs.json,
with errors that name the record and the layout."""

from __future__ import annotations

import json

import pytest
from sample_data import MT_BENCH_GPT4, TEST_DATA, read_jsonl

from deita_hf.errors import InputError, InputNotFoundError
from deita_hf.evaluation.answers import (
    answers_for_questions,
    read_fastchat_answers,
    read_model_outputs,
    write_json_array,
)


def test_fastchat_answers_by_question_and_name():
    name, answers = read_fastchat_answers(TEST_DATA / MT_BENCH_GPT4)
    rows = read_jsonl(MT_BENCH_GPT4)
    assert name == "gpt-4" and sorted(answers) == list(range(81, 101))
    assert answers[85] == rows[4]["choices"][0]["turns"]
    picked = [{"question_id": 90, "turns": ["a", "b"]}, {"question_id": 81, "turns": ["a", "b"]}]
    assert answers_for_questions(answers, picked, "f") == [answers[90], answers[81]]


def test_fastchat_answers_name_from_the_file_and_errors(tmp_path):
    path = tmp_path / "vicuna-13b-v1.3.jsonl"        # no model_id: FastChat's convention, the file name
    path.write_text(json.dumps({"question_id": 81, "choices": [{"index": 0, "turns": ["x", "y"]}]}) + "\n")
    assert read_fastchat_answers(path) == ("vicuna-13b-v1.3", {81: ["x", "y"]})
    with pytest.raises(InputError, match=r"questions \[81\] have fewer answers than turns"):
        answers_for_questions({81: ["x"]}, [{"question_id": 81, "turns": ["q1", "q2"]}], "f")
    alpaca = tmp_path / "outputs.json"
    write_json_array(alpaca, [{"instruction": "Hi", "output": "Hello", "generator": "m"}])
    with pytest.raises(InputError, match="AlpacaEval's layout"):
        read_fastchat_answers(alpaca)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question_id": 81, "choices": []}\nnot json\n')
    with pytest.raises(InputError, match="line 2: not JSON"):
        read_fastchat_answers(bad)
    bad.write_text('{"question_id": 81, "choices": []}\n')
    with pytest.raises(InputError, match="record 0: FastChat answers need"):
        read_fastchat_answers(bad)
    with pytest.raises(InputNotFoundError):
        read_fastchat_answers(tmp_path / "missing.jsonl")


def test_alpaca_eval_outputs(tmp_path):
    path = tmp_path / "model_outputs.json"
    write_json_array(path, [{"instruction": "Add", "input": "1 and 2", "output": "3", "generator": "m"},
                            {"instruction": "Hi", "output": "Hello", "generator": "m"}])
    assert read_model_outputs(path) == ("m", {"Add\n\n1 and 2": "3", "Hi": "Hello"})
    lines = tmp_path / "answers.jsonl"                # JSON Lines too (deita-hf's own answers.jsonl)
    lines.write_text("".join(json.dumps(r) + "\n" for r in [{"instruction": "Hi", "output": "Yo", "generator": "a"},
                                                            {"instruction": "Go", "output": "Ok", "generator": "b"}]))
    assert read_model_outputs(lines) == ("answers", {"Hi": "Yo", "Go": "Ok"})    # two generators: the file name
    write_json_array(path, [{"instruction": "Hi", "output": "A"}, {"instruction": "Hi", "output": "B"}])
    with pytest.raises(InputError, match="two different outputs"):
        read_model_outputs(path)
    write_json_array(path, [{"instruction": "Hi"}])
    with pytest.raises(InputError, match="record 0: 'instruction' and 'output' must be strings"):
        read_model_outputs(path)
    with pytest.raises(InputError, match="FastChat's model_answer layout"):
        read_model_outputs(TEST_DATA / MT_BENCH_GPT4)
