"""Fuzz (seeded, no hypothesis): the conversation parsers of ``deita_hf.data.formats`` on generated
rows of every format (messages, sharegpt, prompt_completion, alpaca, dolly) with random roles,
orders, missing keys, nulls, content parts and system messages.

Each row either parses to the turns an independent reference (written from the module's
documented contract) expects, or raises a ``FormatError`` naming the row; never another
exception, and never a silent "" for a missing key."""

from __future__ import annotations

import random
import warnings
from typing import Any

import pytest

from deita_hf.data.formats import FormatError, to_turns, turns_from_batch

N_ROWS = 3000
ERR = "error"


class Bad(Exception):
    """The reference's verdict: the row is malformed."""


# -- the reference ---------------------------------------------------------------------------

_CONTENT_KEYS = ("content", "value", "text", "message")
_SHAREGPT = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
             "chatgpt": "assistant", "system": "system"}


def ref_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        out = []
        for part in value:
            if isinstance(part, str):
                out.append(part)
            elif isinstance(part, dict) and part.get("type", "text") == "text":
                if not isinstance(part.get("text"), str):
                    raise Bad("text part without text")
                out.append(part["text"])
            else:
                raise Bad("non-text part")
        return "".join(out)
    raise Bad(f"content of type {type(value).__name__}")


def ref_messages(messages: Any, role_key: str, content_key: str,
                 role_map: dict | None) -> list[tuple[str, str]]:
    if not isinstance(messages, list):
        raise Bad("not a list of messages")
    out = []
    for msg in messages:
        if not isinstance(msg, dict) or role_key not in msg or content_key not in msg:
            raise Bad("message without its keys")
        role = msg[role_key]
        if not isinstance(role, str):
            raise Bad("role not a string")
        if role_map is not None:
            if role not in role_map:
                raise Bad("unknown role")
            role = role_map[role]
        elif role not in ("system", "user", "assistant"):
            raise Bad("unknown role")
        content = msg[content_key]
        if content is None and any(
                k not in (content_key, role_key) and isinstance(msg.get(k), (str, list))
                and len(msg[k]) > 0 for k in _CONTENT_KEYS):
            raise Bad("text under another key")
        out.append((role, ref_text(content)))
    return out


def ref_alpaca(row: dict, context_key: str, output_key: str) -> list[tuple[str, str]]:
    instruction = ref_text(row.get("instruction"))
    extra = ref_text(row.get(context_key))
    if extra.strip():
        instruction = f"{instruction}\n\n{extra}"
    out = []
    if row.get("system"):
        out.append(("system", ref_text(row["system"])))
    history = row.get("history") or []
    if not isinstance(history, (list, str, dict)):
        raise Bad("history is not a list")
    for pair in history:
        if not isinstance(pair, list) or len(pair) != 2:
            raise Bad("history entry not a pair")
        out += [("user", ref_text(pair[0])), ("assistant", ref_text(pair[1]))]
    out.append(("user", instruction))
    if row.get(output_key) is not None:
        out.append(("assistant", ref_text(row[output_key])))
    return out


def reference(row: dict, fmt: str) -> list[tuple[str, str]]:
    """The expected turns, or raises Bad."""
    if fmt == "messages":
        msgs = ref_messages(row["messages"], "role", "content", None)
    elif fmt == "sharegpt":
        msgs = ref_messages(row["conversations"], "from", "value", _SHAREGPT)
    elif fmt == "prompt_completion":
        prompt, completion = row["prompt"], row["completion"]
        msgs = ([("user", prompt)] if isinstance(prompt, str)
                else ref_messages(prompt, "role", "content", None))
        if isinstance(completion, str):
            msgs.append(("assistant", completion))
        elif completion is not None:
            msgs += ref_messages(completion, "role", "content", None)
    elif fmt == "alpaca":
        msgs = ref_alpaca(row, "input", "output")
    else:
        msgs = ref_alpaca(row, "context", "response")
    pos = 0
    while pos < len(msgs) and msgs[pos][0] == "system":
        pos += 1
    dropped = pos < len(msgs) and msgs[pos][0] == "assistant"
    if dropped:
        del msgs[pos]
    if not msgs and not dropped:
        raise Bad("empty conversation")
    if pos == len(msgs):
        raise Bad("no user turn")
    for i, (role, _) in enumerate(msgs[pos:]):
        if role != ("user" if i % 2 == 0 else "assistant"):
            raise Bad("out of order")
    talk = [text for role, text in msgs if role != "system"]
    return [(talk[i], talk[i + 1] if i + 1 < len(talk) else "") for i in range(0, len(talk), 2)]


# -- the generator ---------------------------------------------------------------------------

def _word(rng: random.Random) -> str:
    return rng.choice(["", " ", "hi", "2+2?", "4", "Ünïcødé ✓", "line\nbreak", "a" * 30,
                       "tab\there", "{\"json\": 1}"])


def _content(rng: random.Random) -> Any:
    r = rng.random()
    if r < 0.7:
        return _word(rng)
    if r < 0.8:  # text parts, sometimes split in several
        return [{"type": "text", "text": _word(rng)} for _ in range(rng.randint(1, 3))]
    return rng.choice([None, 5, 3.5, True, {"text": "x"}, ["plain", "strings"], [None],
                       [{"type": "text", "text": None}], [{"type": "text"}],
                       [{"type": "image", "url": "x"}], [{"text": "no type"}],
                       [{"type": None, "text": "x"}], b"bytes", []])


def _role(rng: random.Random, valid: list[str], p_bad: float) -> Any:
    if rng.random() < p_bad:
        return rng.choice(["bot", "", "USER", None, 3, ["user"], {"r": 1}, "tool", "function"])
    return rng.choice(valid)


def _conversation(rng: random.Random, role_key: str, content_key: str, roles: dict[str, list[str]],
                  p_bad: float) -> Any:
    if rng.random() < p_bad / 4:
        return rng.choice([None, "just text", {role_key: "user", content_key: "x"}, 7, []])
    pattern = ["system"] * (rng.random() < 0.3)
    if rng.random() < 0.15:
        pattern.append("assistant")  # a leading assistant message, dropped
    n = rng.randint(0 if rng.random() < 0.05 else 1, 5)
    pattern += ["user" if i % 2 == 0 else "assistant" for i in range(n)]
    if rng.random() < p_bad and pattern:  # shuffle some roles: out of order
        i = rng.randrange(len(pattern))
        pattern[i] = rng.choice(["system", "user", "assistant"])
    msgs: list[Any] = []
    for role in pattern:
        msg: dict[str, Any] = {role_key: _role(rng, roles[role], p_bad / 3),
                               content_key: _content(rng) if rng.random() < p_bad else _word(rng)}
        r = rng.random()
        if r < p_bad / 4:
            del msg[content_key]  # a missing content key, perhaps under another key
            if rng.random() < 0.6:
                msg[rng.choice([k for k in _CONTENT_KEYS if k != content_key])] = _word(rng)
        elif r < p_bad / 2:
            msg[content_key] = None  # explicit null, perhaps with text elsewhere
            if rng.random() < 0.5:
                msg[rng.choice([k for k in _CONTENT_KEYS if k != content_key])] = _word(rng)
        elif r < p_bad * 0.6:
            del msg[role_key]
        elif r < p_bad * 0.7:
            msg = rng.choice(["a string message", None, ["user", "hi"], 3])
        if isinstance(msg, dict) and rng.random() < 0.1:
            msg["name"] = "extra key, ignored"
        msgs.append(msg)
    return msgs


_MESSAGE_ROLES = {"system": ["system"], "user": ["user"], "assistant": ["assistant"]}
_SHAREGPT_ROLES = {"system": ["system"], "user": ["human", "user"],
                   "assistant": ["gpt", "assistant", "chatgpt"]}


def _alpaca_row(rng: random.Random, p_bad: float, context_key: str, output_key: str) -> dict:
    def text() -> Any:
        return _content(rng) if rng.random() < p_bad else _word(rng)

    row: dict[str, Any] = {"instruction": text(), output_key: text()}
    if rng.random() < 0.7:
        row[context_key] = text()
    if rng.random() < 0.3:
        row["system"] = text()
    if rng.random() < 0.3:
        if rng.random() < p_bad:
            row["history"] = rng.choice([5, "ab", {"a": 1}, [["only one"]], [None], [["u", "a", "x"]],
                                         [[None, "a"]], [["u", 3]], None, []])
        else:
            row["history"] = [[_word(rng), _word(rng)] for _ in range(rng.randint(0, 3))]
    return row


def generate(rng: random.Random) -> tuple[str, dict]:
    fmt = rng.choice(["messages", "sharegpt", "prompt_completion", "alpaca", "dolly"])
    p_bad = rng.choice([0.0, 0.0, 0.2, 0.5])
    if fmt == "messages":
        return fmt, {"messages": _conversation(rng, "role", "content", _MESSAGE_ROLES, p_bad)}
    if fmt == "sharegpt":
        return fmt, {"conversations": _conversation(rng, "from", "value", _SHAREGPT_ROLES, p_bad)}
    if fmt == "prompt_completion":
        conv = _conversation(rng, "role", "content", _MESSAGE_ROLES, p_bad)
        if isinstance(conv, list) and rng.random() < 0.5:
            cut = rng.randint(0, len(conv))
            prompt, completion = conv[:cut], conv[cut:]
        else:
            prompt, completion = conv, None
        if rng.random() < 0.5:
            prompt = _word(rng) if rng.random() > p_bad else rng.choice([None, 5, {"a": 1}])
        if rng.random() < 0.5:
            completion = rng.choice([_word(rng), None])
        return fmt, {"prompt": prompt, "completion": completion}
    if fmt == "alpaca":
        return fmt, _alpaca_row(rng, p_bad, "input", "output")
    return fmt, _alpaca_row(rng, p_bad, "context", "response")


# -- the tests ---------------------------------------------------------------------------------

def _outcome(fn) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn()
        except FormatError as err:
            return err


@pytest.mark.parametrize("chunk", range(6))
def test_parsers_match_the_reference_or_name_the_row(chunk):
    rng = random.Random(1000 + chunk)
    seen = {"ok": 0, "error": 0}
    for k in range(N_ROWS // 6):
        fmt, row = generate(rng)
        index = rng.randrange(10_000)
        try:
            expected = reference(row, fmt)
        except Bad:
            expected = ERR
        got = _outcome(lambda row=row, index=index: to_turns(row, index=index))
        batch = _outcome(lambda row=row, index=index: turns_from_batch(
            {key: [value] for key, value in row.items()}, indices=[index]))
        where = f"chunk {chunk} case {k} ({fmt}): {row!r}"
        if expected == ERR:
            seen["error"] += 1
            assert isinstance(got, FormatError), f"{where}\nparsed as {got!r}, expected an error"
            assert f"row {index}" in str(got), f"{where}\n{got}"
            assert isinstance(batch, FormatError) and f"row {index}" in str(batch), where
        else:
            seen["ok"] += 1
            assert not isinstance(got, Exception), f"{where}\nraised {got!r}"
            assert got == expected, where
            assert batch == [expected], where
    assert seen["ok"] > 100 and seen["error"] > 100, seen  # both paths exercised


@pytest.mark.parametrize("fmt, row", [
    ("messages", {"messages": [{"role": "user"}, {"role": "assistant", "content": "a"}]}),
    ("messages", {"messages": [{"role": "user", "text": "q"}, {"role": "assistant", "content": "a"}]}),
    ("sharegpt", {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt"}]}),
    ("sharegpt", {"conversations": [{"from": "human", "content": "q"}]}),
    ("prompt_completion", {"prompt": [{"role": "user"}], "completion": "a"}),
    ("prompt_completion", {"prompt": "q", "completion": [{"role": "assistant", "text": "a"}]}),
])
def test_a_missing_content_key_is_never_empty_text(fmt, row):
    with pytest.raises(FormatError, match="row 11: .*no '(content|value)' key"):
        to_turns(row, index=11)


def test_missing_format_columns_are_a_format_error():
    for row in ({"conversation": []}, {"instruction": "x"}, {"prompt": "p"}, {}, {"text": "t"}):
        with pytest.raises(FormatError, match="Unknown conversation format"):
            to_turns(row, index=3)


@pytest.mark.parametrize("row", [
    {"conversations": [{"from": ["human"], "value": "q"}]},
    {"conversations": [{"from": {"r": 1}, "value": "q"}]},
    {"instruction": "q", "output": "a", "history": 5},
    {"instruction": "q", "response": "a", "history": 2.5},
])
def test_odd_roles_and_history_are_format_errors(row):  # were TypeErrors
    with pytest.raises(FormatError, match="row 4"):
        to_turns(row, index=4)
