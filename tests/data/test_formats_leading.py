"""A leading assistant message is dropped (one counting warning per call); a message without its
format's content key, or a null text part, is an error naming the row, the turn and the key."""

import warnings

import pytest
from datasets import Dataset
from sample_data import SHAREGPT, read_jsonl

from deita_hf.data.formats import (
    FormatError,
    FormatWarning,
    messages_from_batch,
    to_messages,
    to_turns,
    turns_from_batch,
)


def _caught(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn()
    return result, [w for w in caught if issubclass(w.category, FormatWarning)]


@pytest.fixture(scope="module")
def rows():
    return read_jsonl(SHAREGPT, 6)


def test_leading_gpt_dropped_with_one_warning_per_batch(rows):
    greeting = {"from": "gpt", "value": "Hello! I am your assistant."}
    convs = [r["conversations"] for r in rows]
    led = [[greeting, *c] if i % 2 == 0 else c for i, c in enumerate(convs)]
    got, caught = _caught(lambda: messages_from_batch({"conversations": led},
                                                      indices=[10, 11, 12, 13, 14, 15]))
    assert got == messages_from_batch({"conversations": convs})
    assert len(caught) == 1
    assert "3 of 6 conversation(s) (rows 10, 12, 14)" in str(caught[0].message)
    turns, caught = _caught(lambda: turns_from_batch({"conversations": led}))
    assert len(caught) == 1 and turns == [to_turns({"conversations": c}) for c in convs]
    # after a system message, in the messages format, one row at a time
    row = {"messages": [{"role": "system", "content": "Be kind."},
                        {"role": "assistant", "content": "Hi!"},
                        {"role": "user", "content": "2+2?"},
                        {"role": "assistant", "content": "4"}]}
    got, caught = _caught(lambda: to_messages(row, index=3))
    assert [m["role"] for m in got] == ["system", "user", "assistant"] and len(caught) == 1
    # no drop, no warning
    _, caught = _caught(lambda: messages_from_batch({"conversations": convs}))
    assert caught == []


def test_one_warning_per_map_batch(rows):
    led = [[{"from": "gpt", "value": "Hi."}, *r["conversations"]] for r in rows]
    ds = Dataset.from_dict({"conversations": led})

    def count_turns(batch, indices):
        return {"n": [len(t) for t in turns_from_batch(batch, indices=indices)]}

    _, caught = _caught(lambda: ds.map(count_turns, batched=True, batch_size=3,
                                       with_indices=True, load_from_cache_file=False))
    assert len(caught) == 2  # two batches of three rows
    assert all("3 of 3 conversation(s)" in str(w.message) for w in caught)


def test_no_user_turn_is_still_an_error():
    for row in ({"conversations": [{"from": "gpt", "value": "Hello"}]},
                {"messages": [{"role": "system", "content": "s"},
                              {"role": "assistant", "content": "a"}]}):
        with pytest.raises(FormatError, match="row 4: .* has no user turn"):
            to_turns(row, index=4)
    with pytest.raises(FormatError, match="out of order"):  # two assistant messages in a row
        to_turns({"messages": [{"role": "assistant", "content": "a"},
                               {"role": "assistant", "content": "b"},
                               {"role": "user", "content": "c"}]}, index=4)


@pytest.mark.parametrize("row, needles", [
    ({"messages": [{"role": "user", "text": "hello"}, {"role": "assistant", "content": "hi"}]},
     ["row 7", "message 0 of 'messages'", "no 'content' key", "'text'"]),
    ({"conversations": [{"from": "human", "value": "hello"},
                        {"from": "gpt", "content": "hi"}]},
     ["row 7", "message 1 of 'conversations'", "no 'value' key", "'content'"]),
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": None}]}]},
     ["row 7", "message 0 of 'messages'", "text=None"]),
    ({"messages": [{"role": "user", "content": [{"type": "text", "value": "x"}]}]},
     ["row 7", "message 0 of 'messages'", "no 'text' key", "'value'"]),
])
def test_missing_content_key_or_null_text_is_an_error(row, needles):
    with pytest.raises(FormatError) as err:
        to_turns(row, index=7)
    for needle in needles:
        assert needle in str(err.value)


def test_mixed_keys_in_a_dataset_are_caught():
    """`datasets` gives a row the keys of every row (missing ones None): still an error."""
    ds = Dataset.from_dict({"messages": [
        [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}],
        [{"role": "user", "text": "hello"}, {"role": "assistant", "text": "hi"}],
    ]})
    assert ds[1]["messages"][0] == {"role": "user", "content": None, "text": "hello"}
    with pytest.raises(FormatError, match=r"row 1: message 0 of 'messages' has content=None and "
                                          r"its text under the key 'text'"):
        messages_from_batch(ds[:], indices=[0, 1])
    # explicit null content with nothing else: an empty message, as before
    assert to_turns({"messages": [{"role": "user", "content": "q"},
                                  {"role": "assistant", "content": None}]}) == [("q", "")]
