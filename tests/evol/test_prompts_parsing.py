"""Unit tests of the evolution/ranking prompts, the operation draw, answer parsing and seeds."""

from collections import Counter

import pytest
from datasets import Dataset

from deita_hf.errors import ConfigError, InputError
from deita_hf.evol import (
    OPERATIONS,
    MalformedAnswer,
    choose_operation,
    clean_output,
    evol_prompt,
    parse_scores,
    rank_prompt,
    seed_rows,
)
from deita_hf.evol.ranking import ranks, scorer_rows, shuffled_order
from deita_hf.scoring.prompts import COMPLEXITY_TEMPLATE, QUALITY_TEMPLATE


def test_operations_are_seeded_per_seed_and_round_and_cover_every_operation():
    draws = [choose_operation("complexity", 0, f"seed-{i:06d}", r) for i in range(200) for r in range(1, 6)]
    assert draws == [choose_operation("complexity", 0, f"seed-{i:06d}", r)
                     for i in range(200) for r in range(1, 6)]
    assert set(Counter(draws)) == set(OPERATIONS["complexity"])
    other = [choose_operation("complexity", 1, f"seed-{i:06d}", 1) for i in range(200)]
    assert other != draws[::5]
    assert {choose_operation("quality", 0, f"s{i}", 1) for i in range(100)} == set(OPERATIONS["quality"])


def test_evolution_prompts_hold_the_text_and_the_operation(seed_rows_50):
    row = seed_rows_50[0]
    for op, method in OPERATIONS["complexity"].items():
        p = evol_prompt("complexity", op, instruction=row["instruction"])
        assert f"<<<\n{row['instruction']}\n>>>" in p and method in p
    p = evol_prompt("quality", "depth", instruction=row["instruction"], response=row["output"])
    assert f"<<<\n{row['output']}\n>>>" in p and f"<<<\n{row['instruction']}\n>>>" in p
    with pytest.raises(ConfigError):
        evol_prompt("quality", "depth", instruction="x")
    with pytest.raises(ConfigError, match="Unknown complexity operation"):
        evol_prompt("complexity", "depth", instruction="x")


def test_rank_prompt_numbers_the_variants_and_states_the_answer_format():
    p = rank_prompt("quality", ["short", "longer answer"], instruction="Why?")
    assert "[[1]]\nshort\n\n[[2]]\nlonger answer" in p and "<<<\nWhy?\n>>>" in p
    assert p.endswith("[[1]] score: <1-6>\n[[2]] score: <1-6>")


@pytest.mark.parametrize("text,expected", [
    ("[[1]] score: 3\n[[2]] score: 6\n[[3]] score: 3", {1: 3, 2: 6, 3: 3}),
    ("Here are my scores:\n\n[[2]] Score: 1\n[[3]] score 2\n[[1]] SCORE: 6.", {1: 6, 2: 1, 3: 2}),
    ("- **[[1]] score: 4**\n- [[2]] score: 5\n- [[3]] score=1", {1: 4, 2: 5, 3: 1}),
])
def test_parse_scores_accepts_the_format(text, expected):
    assert parse_scores(text, 3) == expected


@pytest.mark.parametrize("text,why", [
    ("[[1]] score: 3\n[[2]] score: 6", "no score for [[3]]"),
    ("[[1]] score: 3\n[[2]] score: 6\n[[2]] score: 6\n[[3]] score: 1", "more than once"),
    ("[[1]] score: 3\n[[2]] score: 6\n[[4]] score: 1", "not one of"),
    ("[[1]] score: 0\n[[2]] score: 6\n[[3]] score: 1", "not an integer in 1..6"),
    ("[[1]] score: 7\n[[2]] score: 6\n[[3]] score: 1", "not an integer in 1..6"),
    ("[[1]] score: 4.5\n[[2]] score: 6\n[[3]] score: 1", "not an integer"),
    ("[[1]] score: four\n[[2]] score: 6\n[[3]] score: 1", "not an integer"),
    ("[[1]] is better than [[2]]\n[[3]] score: 1", "is not"),
    ("I cannot rank these.", "no score for [[1]], [[2]], [[3]]"),
    ("", "no score"),
])
def test_parse_scores_rejects_malformed_answers(text, why):
    with pytest.raises(MalformedAnswer, match=why.replace("[", r"\[").replace(".", r"\.")):
        parse_scores(text, 3)


def test_ranks_shuffles_and_clean_output():
    assert ranks([1, 6, 6, 2]) == [4, 1, 1, 3]
    orders = {tuple(shuffled_order(6, 0, f"s{i}")) for i in range(50)}
    assert len(orders) > 30 and all(sorted(o) == list(range(6)) for o in orders)
    assert shuffled_order(6, 0, "s1") == shuffled_order(6, 0, "s1")
    assert any(shuffled_order(6, 0, f"s{i}") != shuffled_order(6, 1, f"s{i}") for i in range(5))
    assert clean_output("#Rewritten Prompt#: Do X.") == "Do X."
    assert clean_output("Improved response:\n<<<\nBetter.\n>>>") == "Better."
    assert clean_output("  \n ") == ""


def test_seed_rows_take_the_first_turn_and_name_rows_without_a_response(seed_rows_50):
    seeds = seed_rows(Dataset.from_list(seed_rows_50[:3]), "quality")
    first = seed_rows_50[0]
    expected = first["instruction"] + (f"\n\n{first['input']}" if first["input"] else "")
    assert seeds[0]["instruction"] == expected and seeds[0]["response"] == first["output"]
    assert [s["seed_id"] for s in seeds] == ["seed-000000", "seed-000001", "seed-000002"]
    sharegpt = Dataset.from_list([{"conversations": [
        {"from": "human", "value": "a"}, {"from": "gpt", "value": "b"},
        {"from": "human", "value": "c"}, {"from": "gpt", "value": "d"}]}])
    assert seed_rows(sharegpt, "quality")[0]["instruction"] == "a"
    rows = [dict(r) for r in seed_rows_50[:4]]
    rows[2]["output"] = ""
    assert len(seed_rows(Dataset.from_list(rows), "complexity")) == 4
    with pytest.raises(InputError, match="Row 2 has no response"):
        seed_rows(Dataset.from_list(rows), "quality")
    assert len(seed_rows(Dataset.from_list(rows), "quality", limit=2)) == 2


def test_scorer_rows_use_the_scorer_templates():
    ranked = [{"variant_id": "s-r0", "seed_id": "s", "instruction": "Q?", "response": "A.",
               "usable": True, "score": 2},
              {"variant_id": "s-r1", "seed_id": "s", "instruction": "Q?", "response": None,
               "usable": False, "score": None}]
    assert scorer_rows(ranked, "quality") == [{"id": "s-r0", "seed_id": "s", "conversations": [
        {"from": "human", "value": QUALITY_TEMPLATE.format(instruction="Q?", output="A.")},
        {"from": "gpt", "value": "2"}]}]
    assert scorer_rows(ranked, "complexity")[0]["conversations"][0]["value"] == \
        COMPLEXITY_TEMPLATE.format(instruction="Q?")
