"""SFT and DPO data conversion on real rows bundled in tests/data, and on hand-written rows in
the schemas of data that cannot be bundled (LIMA, AlpacaEval annotations, Alpaca seed tasks)."""

from __future__ import annotations

import pytest
from datasets import Dataset
from sample_data import (
    ALPACA_EVAL_DRAWS,
    alpaca_eval_annotation_rows,
    lima_style_rows,
    seed_task_rows,
    write_jsonl,
)

from deita_hf.data.formats import FormatError
from deita_hf.data.loading import load_pool
from deita_hf.training import (
    detect_preference_format,
    preference_to_messages,
    to_preference_dataset,
    to_sft_dataset,
)


@pytest.mark.parametrize("path,rows", [
    ("dolly_alpagasus_300.jsonl", None),
    ("lima_style.jsonl", lima_style_rows()),  # LIMA's schema, written by hand (not bundled)
    ("fastchat_dummy_conversation_20.jsonl", None),
    ("axolotl_conversation_fixture.jsonl", None),
])
def test_sft_conversion_real_data(test_data, tmp_path, path, rows):
    source = test_data / path if rows is None else write_jsonl(rows, tmp_path / path)
    pool = load_pool(source)
    pool = pool.select(range(min(60, len(pool))))
    out = to_sft_dataset(pool)
    assert out.column_names == ["messages"] and len(out) == len(pool)
    for conv in out["messages"]:
        roles = [m["role"] for m in conv if m["role"] != "system"]
        assert roles[0] == "user" and roles[-1] == "assistant"
        assert all(a != b for a, b in zip(roles, roles[1:]))


def test_sft_lima_multi_turn_history(tmp_path):
    pool = load_pool(write_jsonl(lima_style_rows(), tmp_path / "lima_style.jsonl"))
    row = next(i for i, h in enumerate(pool["history"]) if h)
    conv = to_sft_dataset(pool.select([row]))[0]["messages"]
    history = pool[row]["history"]
    assert len(conv) == 2 * len(history) + 2
    assert conv[0]["content"] == history[0][0] and conv[-1]["content"] == pool[row]["output"]


def test_sft_drops_final_unanswered_turn_and_rejects_no_reply():
    ds = Dataset.from_dict({"messages": [[{"role": "user", "content": "a"},
                                          {"role": "assistant", "content": "b"},
                                          {"role": "user", "content": "c"}]]})
    assert [m["content"] for m in to_sft_dataset(ds)[0]["messages"]] == ["a", "b"]
    bad = Dataset.from_dict({"prompt": ["ok", "q"], "completion": ["yes", None]})
    with pytest.raises(FormatError, match="row 1 has no assistant reply"):
        to_sft_dataset(bad)


def test_sft_unknown_columns_named():
    with pytest.raises(FormatError, match=r"found columns \['question', 'text'\]"):
        to_sft_dataset(Dataset.from_dict({"text": ["x"], "question": ["y"]}))


def test_preference_llamafactory_sharegpt(test_data):
    pool = load_pool(test_data / "llamafactory_dpo_en_demo_70.jsonl")
    assert detect_preference_format(pool.column_names) == "sharegpt"
    out = to_preference_dataset(pool)
    assert sorted(out.column_names) == ["chosen", "prompt", "rejected"] and len(out) == 70
    for i in (0, 35, 69):
        row, conv = pool[i], out[i]
        assert conv["prompt"][-1]["role"] == "user"
        assert conv["prompt"][-1]["content"] == row["conversations"][-1]["value"]
        assert conv["chosen"] == [{"role": "assistant", "content": row["chosen"]["value"]}]
        assert conv["rejected"] == [{"role": "assistant", "content": row["rejected"]["value"]}]
    with_system = next(i for i, r in enumerate(pool["conversations"]) if r[0]["from"] == "system")
    assert out[with_system]["prompt"][0]["role"] == "system"


def test_preference_alpaca_eval_drops_draws(tmp_path):
    rows = alpaca_eval_annotation_rows()  # AlpacaEval's annotation schema, written by hand
    pool = load_pool(write_jsonl(rows, tmp_path / "annotations.jsonl"))
    out = to_preference_dataset(pool, keep_columns=True)
    assert len(out) == len(rows) - ALPACA_EVAL_DRAWS  # draws (preference 0) are dropped
    assert sorted(set(out["preference"])) == [1, 2]
    for row in out:
        better = row["output_1"] if row["preference"] == 1 else row["output_2"]
        assert row["chosen"][0]["content"] == better
        assert row["prompt"] == [{"role": "user", "content": row["instruction"]}]


def test_preference_trl_explicit_strings_messages_and_full_conversations():
    user = {"role": "user", "content": "2+2?"}
    rows = [
        {"prompt": "2+2?", "chosen": "4", "rejected": "5"},
        {"prompt": [user], "chosen": [{"role": "assistant", "content": "4"}],
         "rejected": [{"role": "assistant", "content": "5"}]},
        # UltraFeedback-binarized: chosen/rejected repeat the prompt
        {"prompt": "2+2?", "chosen": [user, {"role": "assistant", "content": "4"}],
         "rejected": [user, {"role": "assistant", "content": "5"}]},
    ]
    for row in rows:
        assert preference_to_messages(row) == {
            "prompt": [user], "chosen": [{"role": "assistant", "content": "4"}],
            "rejected": [{"role": "assistant", "content": "5"}]}


def test_preference_implicit_prompt():
    conv = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
            {"role": "user", "content": "and?"}]
    row = {"chosen": conv + [{"role": "assistant", "content": "good"}],
           "rejected": conv + [{"role": "assistant", "content": "bad"}]}
    out = preference_to_messages(row)
    assert out["prompt"] == conv and out["rejected"][0]["content"] == "bad"


@pytest.mark.parametrize("row,message", [
    ({"prompt": "x", "chosen": 3, "rejected": "y"}, "row 7: column 'chosen'"),
    ({"prompt": [{"role": "assistant", "content": "x"}], "chosen": "a", "rejected": "b"},
     "row 7"),
    ({"instruction": "x", "output_1": "a", "output_2": "b", "preference": None},
     "'preference' must be"),
    ({"prompt": "other", "chosen": [{"role": "user", "content": "q"},
                                    {"role": "assistant", "content": "a"}],
      "rejected": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "b"}]},
     "differs from the 'prompt' column"),
])
def test_preference_bad_rows_named(row, message):
    with pytest.raises(FormatError, match=message):
        preference_to_messages(row, index=7)


def test_preference_unknown_columns_named(tmp_path):
    pool = load_pool(write_jsonl(seed_task_rows(), tmp_path / "seed_tasks.jsonl"))
    with pytest.raises(FormatError, match=r"Not a preference dataset: found columns .*'instances'"):
        to_preference_dataset(pool)
