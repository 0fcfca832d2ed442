"""Judge replies: FastChat's rating and verdict parsing, re-asks with a new seed and
temperature, and missing verdicts that stay missing."""

from __future__ import annotations

import pytest
from eval_helpers import chat_requests

from deita_hf.errors import ConfigError
from deita_hf.evaluation.judging import ask_judge, parse_rating, parse_verdict
from deita_hf.generation import build_generator
from helpers.openai_server import scripted


@pytest.mark.parametrize("text, rating", [
    ("Rating: [[5]]", 5.0), ("[[7.5]] and later [[2]]", 7.5), ("no double brackets: [8]", 8.0),
    ("[[10]]", 10.0), ("first [3] then [[9]]", 9.0), ("Rating: 7/10", None), ("", None), (None, None),
    ("[[0]]", None), ("see reference [23]", None), ("[[five]]", None),
])
def test_parse_rating_fastchat_patterns(text, rating):
    assert parse_rating(text) == rating


def test_parse_verdict():
    assert parse_verdict("A is better. [[A]]") == "A"
    assert parse_verdict("[[B]]") == "B"
    assert parse_verdict("a tie: [[C]]") == "tie"
    assert parse_verdict("[[A]] ... actually [[B]]") == "A"   # FastChat checks [[A]] first
    assert parse_verdict("Assistant A") is None and parse_verdict(None) is None


def test_reask_with_new_seed_and_temperature(openai_server):
    def responder(body, path):  # no rating when greedy; a rating when sampled
        return "I cannot decide." if body["temperature"] == 0 else f"Rating: [[{body['seed'] + 4}]]"

    server = openai_server(responder)
    judge = build_generator(f"openai:{server.url}#judge")
    prompts = [[{"role": "user", "content": f"judge {i}"}] for i in range(3)]
    out = ask_judge(judge, prompts, parse_rating, retries=2, reask_temperature=0.9, progress=False)
    assert [o["value"] for o in out] == [5.0, 5.0, 5.0]
    assert all(o["attempts"] == ["I cannot decide.", "Rating: [[5]]"] for o in out)
    bodies = chat_requests(server)
    assert len(bodies) == 6
    assert sorted((b["temperature"], b["seed"]) for b in bodies) == [(0.0, 0)] * 3 + [(0.9, 1)] * 3


def test_a_judge_that_never_rates_gives_missing_not_invented(openai_server):
    server = openai_server(scripted("This answer is good, I would say 8 out of 10."))
    judge = build_generator(f"openai:{server.url}#judge")
    out = ask_judge(judge, [[{"role": "user", "content": "x"}]] * 1 + [[{"role": "user", "content": "y"}]],
                    parse_rating, retries=3, progress=False)
    assert [o["value"] for o in out] == [None, None]
    assert [len(o["attempts"]) for o in out] == [4, 4]
    assert len(chat_requests(server)) == 8
    assert sorted({b["seed"] for b in chat_requests(server)}) == [0, 1, 2, 3]
    with pytest.raises(ConfigError):
        ask_judge(judge, [], parse_rating, retries=-1)
