"""A leading assistant message is dropped (one counting warning per call), or kept as a turn as
DEITA's score pipeline keeps it (``leading_assistant="keep"``); a message without its format's
content key, or a null text part, is an error naming the row, the turn and the key."""

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


def _score_pipeline_turns(conversations):
    """DEITA's ``ScorePipeline._load_sharegpt``: message ``idx`` (even) is an instruction and
    message ``idx + 1`` its response, ``""`` after the last message, whatever the roles."""
    out = []
    for idx in range(0, len(conversations), 2):
        nxt = conversations[idx + 1]["value"] if idx + 1 < len(conversations) else ""
        out.append((conversations[idx]["value"], nxt))
    return out


def test_keep_pairs_messages_in_order_as_the_score_pipeline(rows):
    # raw ShareGPT that starts mid-conversation: real conversations from their first reply on
    convs = [r["conversations"][1:] for r in rows if len(r["conversations"]) >= 3]
    convs += [r["conversations"] for r in rows]
    assert sum(c[0]["from"] == "gpt" for c in convs) >= 3
    n_led = sum(c[0]["from"] == "gpt" for c in convs)
    got, caught = _caught(lambda: turns_from_batch({"conversations": convs},
                                                   leading_assistant="keep"))
    assert got == [_score_pipeline_turns(c) for c in convs]
    assert len(caught) == 1
    text = str(caught[0].message)
    assert f"{n_led} of {len(convs)} conversation(s)" in text and "kept and scored as a turn" in text
    # the default drops it, and the warning says whose behaviour that is
    dropped, caught = _caught(lambda: turns_from_batch({"conversations": convs}))
    assert dropped[-len(rows):] == got[-len(rows):]  # rows that open with a user turn: the same
    assert "DEITA's embedder" in str(caught[0].message)
    assert "DEITA's scorers keep it" in str(caught[0].message)
    one, caught = _caught(lambda: to_turns({"conversations": convs[0]}, index=5,
                                           leading_assistant="keep"))
    assert one == _score_pipeline_turns(convs[0]) and "(rows 5)" in str(caught[0].message)
    # after a system message (dropped from the turns), in the messages format
    row = {"messages": [{"role": "system", "content": "Be kind."},
                        {"role": "assistant", "content": "Hi!"},
                        {"role": "user", "content": "2+2?"},
                        {"role": "assistant", "content": "4"}]}
    got, _ = _caught(lambda: to_turns(row, leading_assistant="keep"))
    assert got == [("Hi!", "2+2?"), ("4", "")]
    with pytest.raises(FormatError, match="has no user turn"):
        to_turns({"conversations": [{"from": "gpt", "value": "Hello"}]}, leading_assistant="keep")
    with pytest.raises(FormatError, match="message 1 is 'assistant' where 'user'"):
        to_turns({"messages": [{"role": "assistant", "content": "a"},
                               {"role": "assistant", "content": "b"},
                               {"role": "user", "content": "c"}]}, leading_assistant="keep")
    with pytest.raises(FormatError, match="leading_assistant='score'"):
        to_turns(row, leading_assistant="score")


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
