"""One conversation's messages: reading their text, checking their roles and order.

The pieces :mod:`deita_hf.data.formats` builds every format's conversion from: a message
list is normalised to ``{"role", "content"}`` dicts (:func:`normalise_messages`, text parts
joined by :func:`message_text`), checked for order (:func:`check_order`), and a leading
assistant message is found (:func:`leading_assistant_position`) and reported once per call
(:func:`warn_leading`). Every error names the row, the column and the message.

Example:
    >>> normalise_messages([{"from": "human", "value": "Hi"}], 3, "conversations", "from",
    ...                    "value", SHAREGPT_ROLES)
    [{'role': 'user', 'content': 'Hi'}]
    >>> check_order([{"role": "assistant", "content": "Hello"}], 3, "messages")
    Traceback (most recent call last):
    ...
    deita_hf.errors.FormatError: row 3: roles out of order in 'messages': message 0 is 'assistant' where 'user' was expected (after optional system messages, turns must alternate user, assistant, user, ...).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from deita_hf.errors import FormatError

__all__ = ["CONTENT_KEYS", "LEADING_ASSISTANT", "SHAREGPT_ROLES", "FormatWarning", "check_leading",
           "check_order", "leading_assistant_position", "message_text", "normalise_messages",
           "row_label", "warn_leading"]

#: ShareGPT ``from`` values -> roles
SHAREGPT_ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "chatgpt": "assistant",
    "system": "system",
}


#: keys that hold a message's text in some format: a message whose own content key is null
#: while one of these holds text was written in another format (``datasets`` fills the keys
#: a row lacks with None when rows of several formats share a column)
CONTENT_KEYS = ("content", "value", "text", "message")


#: what :func:`to_turns` does with an assistant message that opens a conversation: ``drop`` it
#: (the default; as DEITA's embedder) or ``keep`` it as a turn (as DEITA's score pipeline)
LEADING_ASSISTANT = ("drop", "keep")


class FormatWarning(UserWarning):
    """Rows were converted with a change (a leading assistant message dropped or paired in
    order as a turn), counted."""


def row_label(index: int | None) -> str:
    return f"row {index}" if index is not None else "row"


def message_text(content: Any, index: int | None, field: str, turn: int | None = None) -> str:
    """Message content as a string: plain strings, None (empty) or lists of text parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, Mapping) and part.get("type", "text") == "text":
                if not isinstance(part.get("text"), str):
                    where = f"message {turn} of '{field}'" if turn is not None else f"'{field}'"
                    found = ("no 'text' key" if "text" not in part
                             else f"text={part['text']!r}")
                    raise FormatError(
                        f"{row_label(index)}: {where} has a text part with {found} (keys found: "
                        f"{sorted(part)}); a text part is {{'type': 'text', 'text': '...'}}."
                    )
                parts.append(part["text"])
            else:
                raise FormatError(
                    f"{row_label(index)}: {field} holds a non-text content part {part!r}; only "
                    f"text content is supported."
                )
        return "".join(parts)
    raise FormatError(
        f"{row_label(index)}: {field} must be a string, got {type(content).__name__} ({content!r})."
    )


def normalise_messages(messages: Any, index: int | None, field: str, role_key: str, content_key: str,
               role_map: Mapping[str, str] | None = None) -> list[dict[str, str]]:
    if not isinstance(messages, Sequence) or isinstance(messages, str):
        raise FormatError(
            f"{row_label(index)}: column '{field}' must be a list of messages, got "
            f"{type(messages).__name__}."
        )
    out = []
    for pos, msg in enumerate(messages):
        if not isinstance(msg, Mapping) or role_key not in msg:
            raise FormatError(
                f"{row_label(index)}: message {pos} of '{field}' must be a mapping with keys "
                f"'{role_key}' and '{content_key}', got {msg!r}."
            )
        role = msg[role_key]
        if not isinstance(role, str):
            raise FormatError(
                f"{row_label(index)}: message {pos} of '{field}' has {role_key}={role!r}; a role "
                f"must be a string.")
        if role_map is not None:
            if role not in role_map:
                raise FormatError(
                    f"{row_label(index)}: message {pos} of '{field}' has {role_key}={role!r}; "
                    f"expected one of {sorted(role_map)}."
                )
            role = role_map[role]
        elif role not in ("system", "user", "assistant"):
            raise FormatError(
                f"{row_label(index)}: message {pos} of '{field}' has role={role!r}; expected "
                f"'system', 'user' or 'assistant'."
            )
        if content_key not in msg:
            raise FormatError(
                f"{row_label(index)}: message {pos} of '{field}' has no '{content_key}' key (keys "
                f"found: {sorted(msg)}); each message needs '{role_key}' and '{content_key}'."
            )
        content = msg[content_key]
        if content is None:
            other = [k for k in CONTENT_KEYS if k not in (content_key, role_key)
                     and isinstance(msg.get(k), (str, list)) and len(msg[k]) > 0]
            if other:
                raise FormatError(
                    f"{row_label(index)}: message {pos} of '{field}' has {content_key}=None and its "
                    f"text under the key {other[0]!r} (keys found: "
                    f"{sorted(k for k, v in msg.items() if v is not None)}); rename "
                    f"{other[0]!r} to '{content_key}'."
                )
        out.append({"role": role, "content": message_text(content, index, field, pos)})
    return out


def leading_assistant_position(messages: list[dict[str, str]]) -> int | None:
    """The position of an assistant message that opens the conversation (after system
    messages), or None."""
    pos = 0
    while pos < len(messages) and messages[pos]["role"] == "system":
        pos += 1
    if pos < len(messages) and messages[pos]["role"] == "assistant":
        return pos
    return None


def check_leading(leading_assistant: str) -> None:
    if leading_assistant not in LEADING_ASSISTANT:
        raise FormatError(f"leading_assistant={leading_assistant!r}; expected one of "
                          f"{LEADING_ASSISTANT}.")


def warn_leading(rows_led: Sequence[int | None], total: int, kept: bool = False,
                  stacklevel: int = 3) -> None:
    """One warning for the conversations of one call that open with an assistant message."""
    if not rows_led:
        return
    rows = [str(i) for i in rows_led if i is not None]
    shown = ", ".join(rows[:10]) + (", ..." if len(rows) > 10 else "")
    where = f"{len(rows_led)} of {total} conversation(s){f' (rows {shown})' if rows else ''}"
    if kept:
        msg = (f"deita_hf: {where} open with an assistant message; it is kept and scored as a "
               f"turn, as DEITA's score pipeline does (messages are paired in order: the "
               f"assistant message is the first turn's instruction, the user message after it "
               f"that turn's response).")
    else:
        msg = (f"deita_hf: dropped the leading assistant message of {where}: a conversation "
               f"starts with a user turn here, as in DEITA's embedder (which drops a leading "
               f"non-human message; DEITA's scorers keep it as a turn).")
    warnings.warn(msg, FormatWarning, stacklevel=stacklevel)


def check_order(messages: list[dict[str, str]], index: int | None, field: str,
                 led: bool = False, kept: bool = False) -> None:
    """Optional system messages first, then user/assistant alternating from a user turn (from
    the kept leading assistant message with ``kept``)."""
    if not messages and not led:
        raise FormatError(f"{row_label(index)}: '{field}' is an empty conversation; drop the row.")
    pos = 0
    while pos < len(messages) and messages[pos]["role"] == "system":
        pos += 1
    if pos == len(messages) or (kept and pos == len(messages) - 1):
        what = ("only an assistant message, which is out of order at the start of a "
                "conversation" if led else "only system messages")
        raise FormatError(
            f"{row_label(index)}: '{field}' has no user turn ({what}); drop the row."
        )
    expected = "assistant" if kept else "user"
    for i in range(pos, len(messages)):
        role = messages[i]["role"]
        if role != expected:
            raise FormatError(
                f"{row_label(index)}: roles out of order in '{field}': message {i} is {role!r} "
                f"where {expected!r} was expected (after optional system messages, turns must "
                f"alternate user, assistant, user, ...)."
            )
        expected = "assistant" if expected == "user" else "user"
