import gzip
import json

import pytest
from datasets import Dataset, load_dataset
from sample_data import lima_style_rows

from deita_hf.data.formats import (
    FormatError,
    detect_format,
    messages_from_batch,
    to_messages,
    to_turns,
    turns_from_batch,
)


def _first(path, n=1):
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt") as f:
        return [json.loads(next(f)) for _ in range(n)]


def test_messages_with_system_and_final_user_turn():
    row = {"messages": [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": "2+2?"},
        {"role": "assistant", "content": "4"},
        {"role": "user", "content": "3+3?"},
    ]}
    assert to_turns(row) == [("2+2?", "4"), ("3+3?", "")]
    assert to_messages(row)[0] == {"role": "system", "content": "Be terse."}


def test_messages_content_parts_are_joined():
    row = {"messages": [{"role": "user", "content": [{"type": "text", "text": "a"},
                                                     {"type": "text", "text": "b"}]},
                        {"role": "assistant", "content": "c"}]}
    assert to_turns(row) == [("ab", "c")]


def test_sharegpt_real_conversation(test_data):
    row = _first(test_data / "axolotl_conversation_fixture.jsonl")[0]
    assert detect_format(row) == "sharegpt"
    turns = to_turns(row)
    assert len(turns) == 6
    assert turns[0][0] == row["conversations"][0]["value"]
    assert turns[-1][1] == row["conversations"][-1]["value"]


def test_sharegpt_preference_prompt_ends_with_user(test_data):
    rows = _first(test_data / "llamafactory_dpo_en_demo_70.jsonl", 5)
    for row in rows:
        turns = to_turns({"conversations": row["conversations"]})
        assert turns[-1][1] == ""
        assert turns[-1][0] == row["conversations"][-1]["value"]


def test_alpaca_input_joined_with_blank_line():
    row = {"instruction": "Summarise.", "input": "Some text.", "output": "Short."}
    assert to_turns(row) == [("Summarise.\n\nSome text.", "Short.")]
    assert to_turns({"instruction": "Hi", "input": "", "output": "Yo"}) == [("Hi", "Yo")]


def test_alpaca_history_becomes_earlier_turns():
    ds = Dataset.from_list(lima_style_rows())  # LIMA as LLaMA-Factory converts it
    multi = ds.filter(lambda r: len(r["history"]) > 0)
    assert len(multi) == 5
    row = multi[0]
    turns = to_turns(row)
    assert len(turns) == len(row["history"]) + 1
    assert turns[0] == tuple(row["history"][0])
    assert turns[-1] == (row["instruction"], row["output"])


def test_dolly_original_columns():
    row = {"instruction": "Who?", "context": "Ada wrote it.", "response": "Ada."}
    assert detect_format(row) == "dolly"
    assert to_turns(row) == [("Who?\n\nAda wrote it.", "Ada.")]


def test_prompt_completion_strings_and_messages():
    assert to_turns({"prompt": "Q", "completion": "A"}) == [("Q", "A")]
    row = {"prompt": [{"role": "system", "content": "s"}, {"role": "user", "content": "Q1"},
                      {"role": "assistant", "content": "A1"}, {"role": "user", "content": "Q2"}],
           "completion": [{"role": "assistant", "content": "A2"}]}
    assert to_turns(row) == [("Q1", "A1"), ("Q2", "A2")]


def test_unknown_schema_lists_columns_and_formats():
    with pytest.raises(FormatError) as err:
        detect_format(["text", "label"])
    msg = str(err.value)
    assert "['label', 'text']" in msg and "messages" in msg and "conversations" in msg


def test_preference_columns_get_a_hint():
    with pytest.raises(FormatError, match="preference"):
        detect_format(["prompt", "chosen", "rejected"])


@pytest.mark.parametrize("row, needle", [
    ({"messages": []}, "empty conversation"),
    ({"messages": [{"role": "assistant", "content": "x"}]}, "out of order"),
    ({"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]},
     "out of order"),
    ({"messages": [{"role": "system", "content": "s"}]}, "no user turn"),
    ({"messages": [{"role": "tool", "content": "x"}]}, "role='tool'"),
    ({"conversations": [{"from": "bot", "value": "x"}]}, "from='bot'"),
    ({"messages": "hello"}, "must be a list"),
    ({"instruction": "a", "output": "b", "history": [["only one"]]}, "history entry 0"),
])
def test_malformed_rows_name_the_row(row, needle):
    with pytest.raises(FormatError) as err:
        to_turns(row, index=17)
    assert "row 17" in str(err.value)
    assert needle in str(err.value)


def test_batch_helpers_report_dataset_indices():
    batch = {"messages": [[{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}],
                          []]}
    with pytest.raises(FormatError, match="row 41"):
        turns_from_batch(batch, indices=[40, 41])
    ok = {"instruction": ["a", "b"], "output": ["x", "y"]}
    assert turns_from_batch(ok) == [[("a", "x")], [("b", "y")]]
    assert messages_from_batch(ok)[1][1] == {"role": "assistant", "content": "y"}


def test_every_bundled_dataset_format_converts(test_data):
    files = {
        "dolly_alpagasus_300.jsonl": "alpaca",
        "fastchat_dummy_conversation_20.jsonl": "sharegpt",
        "axolotl_conversation_fixture.jsonl": "sharegpt",
    }
    for rel, fmt in files.items():
        ds = load_dataset("json", data_files=str(test_data / rel), split="train")
        ds = ds.select(range(min(50, len(ds))))
        assert detect_format(ds.column_names) == fmt
        turns = turns_from_batch(ds[:], indices=list(range(len(ds))))
        assert all(t and all(isinstance(x, str) for pair in t for x in pair) for t in turns)
