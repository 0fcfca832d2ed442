"""Scorer rows: the released ShareGPT form, a rank folder, plain rows; bad rows name the row."""

from __future__ import annotations

import pytest
from datasets import Dataset
from scorer_helpers import released_row, write_jsonl

from deita_hf.errors import FormatError
from deita_hf.scorer_training.data import load_scorer_rows, parse_prompt, to_scorer_rows
from deita_hf.scoring.prompts import COMPLEXITY_TEMPLATE, QUALITY_TEMPLATE


def test_released_form_is_parsed_back_into_fields(released_complexity_rows, short_dolly, tmp_path):
    rows = load_scorer_rows(write_jsonl(tmp_path / "c.jsonl", released_complexity_rows), "complexity")
    assert rows["score"][:] == [1.0, 3.0, 6.0, 2.0, 5.0]
    assert rows["instruction"][:] == [r["instruction"] for r in short_dolly[:5]]
    assert rows["prompt"][0] == released_complexity_rows[0]["conversations"][0]["value"]
    assert rows["seed_id"][:] == [None] * 5 and rows["row"][:] == list(range(5))


def test_quality_released_rows_and_messages_form(released_quality_rows, short_dolly):
    ds = Dataset.from_list(released_quality_rows)
    rows = to_scorer_rows(ds, "quality")
    assert rows["output"][:] == [r["output"] for r in short_dolly[:6]]
    messages = [{"messages": [{"role": "user", "content": r["conversations"][0]["value"]},
                              {"role": "assistant", "content": r["conversations"][1]["value"]}]}
                for r in released_quality_rows]
    assert to_scorer_rows(Dataset.from_list(messages), "quality")["score"][:] == rows["score"][:]


def test_rank_output_folder_scorer_config(released_complexity_rows, tmp_path):
    root = tmp_path / "rank"
    (root / "scorer").mkdir(parents=True)
    # the contract of `deita-hf rank` (deita_hf.evol): config "scorer" = id, conversations, seed_id
    rows = [{"id": f"v{i}", **r, "seed_id": f"seed-{i // 2}"}
            for i, r in enumerate(released_complexity_rows)]
    Dataset.from_list(rows).to_parquet(str(root / "scorer" / "train-00000-of-00001.parquet"))
    (root / "data").mkdir()  # the ranked variants (default config): not scorer rows
    Dataset.from_dict({"instruction": ["x"], "score": [9]}).to_parquet(str(root / "data" / "a.parquet"))
    (root / "deita_rank.json").write_text("{}")
    loaded = load_scorer_rows(root, "complexity")
    assert loaded["seed_id"][:] == ["seed-0", "seed-0", "seed-1", "seed-1", "seed-2"]
    assert loaded["score"][:] == [1.0, 3.0, 6.0, 2.0, 5.0]


def test_plain_rows_use_the_package_templates(short_dolly):
    ds = Dataset.from_list([{"instruction": r["instruction"], "output": r["output"], "score": 4}
                            for r in short_dolly[:2]])
    q = to_scorer_rows(ds, "quality")
    assert q["prompt"][1] == QUALITY_TEMPLATE.format(instruction=short_dolly[1]["instruction"],
                                                     output=short_dolly[1]["output"])
    c = to_scorer_rows(ds, "complexity")
    assert c["prompt"][0] == COMPLEXITY_TEMPLATE.format(instruction=short_dolly[0]["instruction"])
    assert parse_prompt(q["prompt"][0]) == ("quality", {"instruction": short_dolly[0]["instruction"],
                                                        "output": short_dolly[0]["output"]})


@pytest.mark.parametrize("bad, words", [("7", "outside 1..6"), ("0", "outside 1..6"),
                                        ("three", "not a number"), ("", "not a number"),
                                        ("2.5", "not a whole number"), (None, "not a number")])
def test_bad_scores_name_the_row(released_complexity_rows, bad, words):
    rows = [dict(r) for r in released_complexity_rows]
    rows[3] = released_row(rows[3]["conversations"][0]["value"], bad)
    with pytest.raises(FormatError, match=rf"row 3: score .*{words}"):
        to_scorer_rows(Dataset.from_list(rows), "complexity")


def test_bad_plain_score_and_fractional_labels_for_eval(short_dolly):
    ds = Dataset.from_list([{"instruction": r["instruction"], "score": s}
                            for r, s in zip(short_dolly[:3], (2.0, 6.5, 3.0))])
    with pytest.raises(FormatError, match=r"row 1: score 6\.5 is outside 1\.\.6"):
        to_scorer_rows(ds, "complexity")
    ok = Dataset.from_list([{"instruction": "a", "score": 2.5}])
    assert to_scorer_rows(ok, "complexity", integer=False)["score"][:] == [2.5]


def test_wrong_kind_and_unknown_columns(released_complexity_rows):
    with pytest.raises(FormatError, match="set kind 'complexity'"):
        to_scorer_rows(Dataset.from_list(released_complexity_rows), "quality")
    with pytest.raises(FormatError, match="Cannot read scorer rows from columns"):
        to_scorer_rows(Dataset.from_dict({"text": ["x"]}), "complexity")
    bad_roles = [{"conversations": [{"from": "gpt", "value": "3"}]}]
    with pytest.raises(FormatError, match="row 0: a scorer row is one human message"):
        to_scorer_rows(Dataset.from_list(bad_roles), "complexity")


def test_prompt_in_no_known_form_is_kept_whole():
    rows = to_scorer_rows(Dataset.from_list([released_row("Rate: hi", "2")]), "complexity")
    assert rows[0]["instruction"] is None and rows[0]["prompt"] == "Rate: hi"
