"""Conversation formats: turn any supported row into its (instruction, response) turns.

Supported row schemas (detected from the column names, in this order):

- ``messages``: OpenAI / TRL conversational rows, ``[{"role": ..., "content": ...}, ...]``
  with an optional leading ``system`` message.
- ``sharegpt``: ``conversations`` of ``{"from": "human"|"gpt"|"system", "value": ...}``.
- ``prompt_completion``: TRL ``prompt`` / ``completion``, each a string or a list of messages.
- ``alpaca``: ``instruction`` / ``input`` / ``output`` (``input`` optional; a non-empty input is
  joined to the instruction with a blank line, as the original Alpaca prompt separates them),
  plus an optional ``history`` of ``[user, assistant]`` pairs (LLaMA-Factory's multi-turn
  Alpaca) and an optional ``system`` string.
- ``dolly``: Databricks Dolly ``instruction`` / ``context`` / ``response``.

A final user message with no answer gets an empty response.

Example:
    >>> from deita_hf.data.formats import to_turns
    >>> to_turns({"instruction": "Add 2 and 3.", "input": "", "output": "5"})
    [('Add 2 and 3.', '5')]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from deita_hf.errors import FormatError

__all__ = [
    "FORMATS",
    "FormatError",
    "detect_format",
    "to_messages",
    "to_turns",
    "turns_from_batch",
    "messages_from_batch",
]

#: format name -> the columns that identify it (all must be present)
FORMATS: dict[str, tuple[str, ...]] = {
    "messages": ("messages",),
    "sharegpt": ("conversations",),
    "prompt_completion": ("prompt", "completion"),
    "alpaca": ("instruction", "output"),
    "dolly": ("instruction", "response"),
}

_SHAREGPT_ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "chatgpt": "assistant",
    "system": "system",
}


def _describe_formats() -> str:
    return "; ".join(f"{name}: {', '.join(cols)}" for name, cols in FORMATS.items())


def detect_format(column_names: Iterable[str]) -> str:
    """Return the name of the conversation format that ``column_names`` match.

    Args:
        column_names: the dataset's columns (``ds.column_names``) or a row's keys.

    Returns:
        One of the keys of :data:`FORMATS`.

    Raises:
        FormatError: no format matches; the message lists the columns found and the formats
            accepted.

    Example:
        >>> detect_format(["conversations", "id"])
        'sharegpt'
    """
    columns = set(column_names)
    for name, required in FORMATS.items():
        if all(col in columns for col in required):
            return name
    hint = ""
    if {"prompt", "chosen", "rejected"} <= columns or {"conversations", "chosen"} <= columns:
        hint = (
            " This looks like preference data (prompt/chosen/rejected): convert it with "
            "deita_hf.pipeline.preference before scoring or SFT."
        )
    raise FormatError(
        f"Unknown conversation format: found columns {sorted(columns)}. Accepted formats "
        f"(required columns): {_describe_formats()}. Rename your columns to one of these "
        f"(e.g. ds.rename_column('text', 'instruction')).{hint}"
    )


def _where(index: int | None) -> str:
    return f"row {index}" if index is not None else "row"


def _text(content: Any, index: int | None, field: str) -> str:
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
                parts.append(str(part.get("text", "")))
            else:
                raise FormatError(
                    f"{_where(index)}: {field} holds a non-text content part {part!r}; only "
                    f"text content is supported."
                )
        return "".join(parts)
    raise FormatError(
        f"{_where(index)}: {field} must be a string, got {type(content).__name__} ({content!r})."
    )


def _normalise(messages: Any, index: int | None, field: str, role_key: str, content_key: str,
               role_map: Mapping[str, str] | None = None) -> list[dict[str, str]]:
    if not isinstance(messages, Sequence) or isinstance(messages, str):
        raise FormatError(
            f"{_where(index)}: column '{field}' must be a list of messages, got "
            f"{type(messages).__name__}."
        )
    out = []
    for pos, msg in enumerate(messages):
        if not isinstance(msg, Mapping) or role_key not in msg:
            raise FormatError(
                f"{_where(index)}: message {pos} of '{field}' must be a mapping with keys "
                f"'{role_key}' and '{content_key}', got {msg!r}."
            )
        role = msg[role_key]
        if role_map is not None:
            if role not in role_map:
                raise FormatError(
                    f"{_where(index)}: message {pos} of '{field}' has {role_key}={role!r}; "
                    f"expected one of {sorted(role_map)}."
                )
            role = role_map[role]
        elif role not in ("system", "user", "assistant"):
            raise FormatError(
                f"{_where(index)}: message {pos} of '{field}' has role={role!r}; expected "
                f"'system', 'user' or 'assistant'."
            )
        out.append({"role": role, "content": _text(msg.get(content_key), index, field)})
    return out


def _check_order(messages: list[dict[str, str]], index: int | None, field: str) -> None:
    """Optional system messages first, then user/assistant alternating from a user turn."""
    if not messages:
        raise FormatError(f"{_where(index)}: '{field}' is an empty conversation; drop the row.")
    pos = 0
    while pos < len(messages) and messages[pos]["role"] == "system":
        pos += 1
    if pos == len(messages):
        raise FormatError(
            f"{_where(index)}: '{field}' has only system messages and no user turn; drop the row."
        )
    expected = "user"
    for i in range(pos, len(messages)):
        role = messages[i]["role"]
        if role != expected:
            raise FormatError(
                f"{_where(index)}: roles out of order in '{field}': message {i} is {role!r} "
                f"where {expected!r} was expected (after optional system messages, turns must "
                f"alternate user, assistant, user, ...)."
            )
        expected = "assistant" if expected == "user" else "user"


def _alpaca_messages(row: Mapping[str, Any], index: int | None, context_key: str,
                     output_key: str) -> list[dict[str, str]]:
    instruction = _text(row.get("instruction"), index, "instruction")
    extra = _text(row.get(context_key), index, context_key)
    if extra.strip():
        instruction = f"{instruction}\n\n{extra}"
    messages: list[dict[str, str]] = []
    system = row.get("system")
    if system:
        messages.append({"role": "system", "content": _text(system, index, "system")})
    for pos, pair in enumerate(row.get("history") or []):
        if not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2:
            raise FormatError(
                f"{_where(index)}: history entry {pos} must be a [user, assistant] pair, got "
                f"{pair!r}."
            )
        messages.append({"role": "user", "content": _text(pair[0], index, "history")})
        messages.append({"role": "assistant", "content": _text(pair[1], index, "history")})
    messages.append({"role": "user", "content": instruction})
    output = row.get(output_key)
    if output is not None:
        messages.append({"role": "assistant", "content": _text(output, index, output_key)})
    return messages


def to_messages(row: Mapping[str, Any], *, format: str | None = None,
                index: int | None = None) -> list[dict[str, str]]:
    """Convert a row to TRL's conversational format: a list of ``{"role", "content"}``.

    Args:
        row: one dataset row (a mapping of column name to value).
        format: the format name (see :data:`FORMATS`); detected from the row's keys if None.
        index: the row's index, used in error messages.

    Returns:
        The messages, optional system messages first, then user/assistant alternating.

    Raises:
        FormatError: unknown schema, or a malformed row (empty conversation, roles out of
            order); the message names the row index.

    Example:
        >>> to_messages({"conversations": [{"from": "human", "value": "Hi"},
        ...                                {"from": "gpt", "value": "Hello!"}]})
        [{'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'Hello!'}]
    """
    fmt = format or detect_format(row.keys())
    if fmt == "messages":
        field = "messages"
        messages = _normalise(row["messages"], index, field, "role", "content")
    elif fmt == "sharegpt":
        field = "conversations"
        messages = _normalise(row["conversations"], index, field, "from", "value", _SHAREGPT_ROLES)
    elif fmt == "prompt_completion":
        field = "prompt/completion"
        prompt, completion = row["prompt"], row["completion"]
        if isinstance(prompt, str):
            messages = [{"role": "user", "content": prompt}]
        else:
            messages = _normalise(prompt, index, "prompt", "role", "content")
        if isinstance(completion, str):
            messages.append({"role": "assistant", "content": completion})
        elif completion is not None:
            messages.extend(_normalise(completion, index, "completion", "role", "content"))
    elif fmt == "alpaca":
        field = "instruction/output"
        messages = _alpaca_messages(row, index, "input", "output")
    elif fmt == "dolly":
        field = "instruction/response"
        messages = _alpaca_messages(row, index, "context", "response")
    else:
        raise FormatError(f"Unknown format name {fmt!r}; expected one of {sorted(FORMATS)}.")
    _check_order(messages, index, field)
    return messages


def to_turns(row: Mapping[str, Any], *, format: str | None = None,
             index: int | None = None) -> list[tuple[str, str]]:
    """Convert a row to its turns: a list of ``(instruction, response)`` pairs.

    System messages are dropped (DEITA scores user/assistant turns only). A final user message
    with no answer becomes a turn with an empty response.

    Args:
        row: one dataset row.
        format: the format name; detected from the row's keys if None.
        index: the row's index, used in error messages.

    Returns:
        One ``(instruction, response)`` tuple per turn, in conversation order.

    Raises:
        FormatError: unknown schema or malformed row (names the row index).

    Example:
        >>> to_turns({"messages": [{"role": "user", "content": "2+2?"},
        ...                        {"role": "assistant", "content": "4"},
        ...                        {"role": "user", "content": "and 3+3?"}]})
        [('2+2?', '4'), ('and 3+3?', '')]
    """
    messages = [m for m in to_messages(row, format=format, index=index) if m["role"] != "system"]
    turns = []
    for i in range(0, len(messages), 2):
        response = messages[i + 1]["content"] if i + 1 < len(messages) else ""
        turns.append((messages[i]["content"], response))
    return turns


def _rows(batch: Mapping[str, list]) -> Iterable[dict[str, Any]]:
    keys = list(batch)
    n = len(batch[keys[0]]) if keys else 0
    for i in range(n):
        yield {k: batch[k][i] for k in keys}


def turns_from_batch(batch: Mapping[str, list], *, format: str | None = None,
                     indices: Sequence[int] | None = None) -> list[list[tuple[str, str]]]:
    """:func:`to_turns` for a batch as ``Dataset.map(batched=True)`` passes it.

    Args:
        batch: a mapping of column name to a list of values.
        format: the format name; detected from the batch's columns if None.
        indices: the rows' indices (from ``map(..., with_indices=True)``), for error messages.

    Returns:
        One list of turns per row.

    Example:
        >>> turns_from_batch({"instruction": ["a", "b"], "output": ["x", "y"]})
        [[('a', 'x')], [('b', 'y')]]
    """
    fmt = format or detect_format(batch.keys())
    return [
        to_turns(row, format=fmt, index=None if indices is None else indices[i])
        for i, row in enumerate(_rows(batch))
    ]


def messages_from_batch(batch: Mapping[str, list], *, format: str | None = None,
                        indices: Sequence[int] | None = None) -> list[list[dict[str, str]]]:
    """:func:`to_messages` for a batch as ``Dataset.map(batched=True)`` passes it."""
    fmt = format or detect_format(batch.keys())
    return [
        to_messages(row, format=fmt, index=None if indices is None else indices[i])
        for i, row in enumerate(_rows(batch))
    ]
