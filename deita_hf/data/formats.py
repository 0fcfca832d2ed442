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

A final user message with no answer gets an empty response. A conversation that starts (after
its system messages) with an assistant message loses that message in :func:`to_messages`
(TRL's conversational format starts with a user turn; DEITA's embedder drops a leading
non-human message too). :func:`to_turns` and :func:`turns_from_batch` drop it by default and,
with ``leading_assistant="keep"`` (what the DEITA scorers and the length baselines use), keep it
as DEITA's score pipeline does: messages are paired in order, so the opening assistant message
is the first turn's instruction and the user message after it that turn's response. Either
way one :class:`FormatWarning` per call counts the rows and says what was done. A
conversation with no user message is an error, and so is a message without its format's
content key (``content`` for ``messages``, ``value`` for ShareGPT) or a text part whose
``text`` is null: nothing is read as ``""`` silently.

Example:
    >>> from deita_hf.data.formats import to_turns
    >>> to_turns({"instruction": "Add 2 and 3.", "input": "", "output": "5"})
    [('Add 2 and 3.', '5')]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from deita_hf.data.messages import (
    LEADING_ASSISTANT,
    SHAREGPT_ROLES,
    FormatWarning,
    check_leading,
    check_order,
    leading_assistant_position,
    message_text,
    normalise_messages,
    row_label,
    warn_leading,
)
from deita_hf.errors import FormatError

#: FastChat's ``vicuna_v1.1`` system prompt (``Conversation.system``): DEITA's embedding, its
#: SFT chat template and its DPO strings all use it
VICUNA_V1_1_SYSTEM = (
    "A chat between a curious user and an artificial intelligence assistant. The assistant gives "
    "helpful, detailed, and polite answers to the user's questions."
)

__all__ = [
    "FORMATS",
    "LEADING_ASSISTANT",
    "VICUNA_V1_1_SYSTEM",
    "FormatError",
    "FormatWarning",
    "check_instructions",
    "detect_format",
    "messages_from_batch",
    "to_messages",
    "to_turns",
    "turns_from_batch",
]

#: format name -> the columns that identify it (all must be present)
FORMATS: dict[str, tuple[str, ...]] = {
    "messages": ("messages",),
    "sharegpt": ("conversations",),
    "prompt_completion": ("prompt", "completion"),
    "alpaca": ("instruction", "output"),
    "dolly": ("instruction", "response"),
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


def _alpaca_messages(row: Mapping[str, Any], index: int | None, context_key: str,
                     output_key: str) -> list[dict[str, str]]:
    instruction = message_text(row.get("instruction"), index, "instruction")
    extra = message_text(row.get(context_key), index, context_key)
    if extra.strip():
        instruction = f"{instruction}\n\n{extra}"
    messages: list[dict[str, str]] = []
    system = row.get("system")
    if system:
        messages.append({"role": "system", "content": message_text(system, index, "system")})
    history = row.get("history") or []
    if not isinstance(history, Sequence) or isinstance(history, str):
        raise FormatError(f"{row_label(index)}: 'history' must be a list of [user, assistant] "
                          f"pairs, got {history!r}.")
    for pos, pair in enumerate(history):
        if not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2:
            raise FormatError(
                f"{row_label(index)}: history entry {pos} must be a [user, assistant] pair, got "
                f"{pair!r}."
            )
        messages.append({"role": "user", "content": message_text(pair[0], index, "history")})
        messages.append({"role": "assistant", "content": message_text(pair[1], index, "history")})
    messages.append({"role": "user", "content": instruction})
    output = row.get(output_key)
    if output is not None:
        messages.append({"role": "assistant", "content": message_text(output, index, output_key)})
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
        FormatError: unknown schema, or a malformed row (empty conversation, no user turn,
            roles out of order, a message without its content key); the message names the row
            index (and the message).

    Example:
        >>> to_messages({"conversations": [{"from": "human", "value": "Hi"},
        ...                                {"from": "gpt", "value": "Hello!"}]})
        [{'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'Hello!'}]
    """
    messages, dropped = _convert(row, format or detect_format(row.keys()), index)
    if dropped:
        warn_leading([index], 1)
    return messages


def _convert(row: Mapping[str, Any], fmt: str, index: int | None, keep_leading: bool = False
             ) -> tuple[list[dict[str, str]], bool]:
    """:func:`to_messages` without the warning: ``(messages, opened with an assistant
    message)``; that message is dropped, or kept with ``keep_leading``."""
    if fmt == "messages":
        field = "messages"
        messages = normalise_messages(row["messages"], index, field, "role", "content")
    elif fmt == "sharegpt":
        field = "conversations"
        messages = normalise_messages(row["conversations"], index, field, "from", "value", SHAREGPT_ROLES)
    elif fmt == "prompt_completion":
        field = "prompt/completion"
        prompt, completion = row["prompt"], row["completion"]
        if isinstance(prompt, str):
            messages = [{"role": "user", "content": prompt}]
        else:
            messages = normalise_messages(prompt, index, "prompt", "role", "content")
        if isinstance(completion, str):
            messages.append({"role": "assistant", "content": completion})
        elif completion is not None:
            messages.extend(normalise_messages(completion, index, "completion", "role", "content"))
    elif fmt == "alpaca":
        field = "instruction/output"
        messages = _alpaca_messages(row, index, "input", "output")
    elif fmt == "dolly":
        field = "instruction/response"
        messages = _alpaca_messages(row, index, "context", "response")
    else:
        raise FormatError(f"Unknown format name {fmt!r}; expected one of {sorted(FORMATS)}.")
    lead = leading_assistant_position(messages)
    if lead is not None and not keep_leading:
        del messages[lead]
    check_order(messages, index, field, lead is not None, lead is not None and keep_leading)
    return messages, lead is not None


def to_turns(row: Mapping[str, Any], *, format: str | None = None, index: int | None = None,
             leading_assistant: str = "drop") -> list[tuple[str, str]]:
    """Convert a row to its turns: a list of ``(instruction, response)`` pairs.

    System messages are dropped (DEITA scores user/assistant turns only). A final user message
    with no answer becomes a turn with an empty response.

    Args:
        row: one dataset row.
        format: the format name; detected from the row's keys if None.
        index: the row's index, used in error messages.
        leading_assistant: an assistant message that opens the conversation is dropped
            (``"drop"``), or kept (``"keep"``) as DEITA's score pipeline keeps it: messages are
            paired in order, so it is the first turn's instruction and the user message after it
            that turn's response. Either is counted in a :class:`FormatWarning`.

    Returns:
        One ``(instruction, response)`` tuple per turn, in conversation order.

    Raises:
        FormatError: unknown schema or malformed row (names the row index).

    Example:
        >>> to_turns({"messages": [{"role": "user", "content": "2+2?"},
        ...                        {"role": "assistant", "content": "4"},
        ...                        {"role": "user", "content": "and 3+3?"}]})
        [('2+2?', '4'), ('and 3+3?', '')]
        >>> row = {"conversations": [{"from": "gpt", "value": "Hi! Ask me."},
        ...                          {"from": "human", "value": "2+2?"},
        ...                          {"from": "gpt", "value": "4"}]}
        >>> import warnings
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     to_turns(row), to_turns(row, leading_assistant="keep")
        ([('2+2?', '4')], [('Hi! Ask me.', '2+2?'), ('4', '')])
    """
    return turns_from_batch({k: [v] for k, v in row.items()}, format=format,
                            indices=None if index is None else [index],
                            leading_assistant=leading_assistant)[0]


def _pairs(messages: list[dict[str, str]]) -> list[tuple[str, str]]:
    messages = [m for m in messages if m["role"] != "system"]
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
                     indices: Sequence[int] | None = None,
                     leading_assistant: str = "drop") -> list[list[tuple[str, str]]]:
    """:func:`to_turns` for a batch as ``Dataset.map(batched=True)`` passes it.

    Args:
        batch: a mapping of column name to a list of values.
        format: the format name; detected from the batch's columns if None.
        indices: the rows' indices (from ``map(..., with_indices=True)``), for error messages.
        leading_assistant: ``"drop"`` or ``"keep"`` (see :func:`to_turns`); the rows that open
            with an assistant message are counted in one :class:`FormatWarning` per call.

    Returns:
        One list of turns per row.

    Example:
        >>> turns_from_batch({"instruction": ["a", "b"], "output": ["x", "y"]})
        [[('a', 'x')], [('b', 'y')]]
    """
    check_leading(leading_assistant)
    keep = leading_assistant == "keep"
    return [_pairs(m) for m in _batch_messages(batch, format, indices, keep)]


def messages_from_batch(batch: Mapping[str, list], *, format: str | None = None,
                        indices: Sequence[int] | None = None) -> list[list[dict[str, str]]]:
    """:func:`to_messages` for a batch as ``Dataset.map(batched=True)`` passes it.

    Leading assistant messages dropped in the batch are counted in one :class:`FormatWarning`.

    Example:
        >>> import warnings
        >>> batch = {"conversations": [[{"from": "gpt", "value": "Hi!"},
        ...                             {"from": "human", "value": "2+2?"},
        ...                             {"from": "gpt", "value": "4"}]]}
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     messages_from_batch(batch, indices=[7])[0][0]
        {'role': 'user', 'content': '2+2?'}
        >>> len(caught), "1 of 1 conversation(s) (rows 7)" in str(caught[0].message)
        (1, True)
    """
    return _batch_messages(batch, format, indices)


def _batch_messages(batch: Mapping[str, list], format: str | None,
                    indices: Sequence[int] | None, keep_leading: bool = False
                    ) -> list[list[dict[str, str]]]:
    fmt = format or detect_format(batch.keys())
    out, led = [], []
    for i, row in enumerate(_rows(batch)):
        index = None if indices is None else indices[i]
        messages, was_led = _convert(row, fmt, index, keep_leading)
        out.append(messages)
        if was_led:
            led.append(index)
    warn_leading(led, len(out), kept=keep_leading, stacklevel=4)
    return out


def check_instructions(batch: Mapping[str, list], *, format: str | None = None,
                       indices: Sequence[int] | None = None) -> None:
    """Refuse rows with an empty or null instruction (a user turn with no text, or only
    whitespace): scoring one would score nothing as if it were an instruction. The shared check
    of every scorer (:func:`deita_hf.scoring.baselines.require_batch`) and of
    :func:`deita_hf.components.apply_components` (before the first component runs).

    Args:
        batch: a mapping of column name to a list of values (a ``Dataset`` slice).
        format: the format name; detected from the batch's columns if None.
        indices: the rows' indices, for the message.

    Raises:
        FormatError: names the first such row and turn (or a malformed row).

    Example:
        >>> check_instructions({"instruction": ["Add 2 and 3.", None], "output": ["5", "x"]},
        ...                    indices=[10, 11])
        Traceback (most recent call last):
        ...
        deita_hf.errors.FormatError: row 11: the instruction (user turn 1) is empty or null; there is nothing to score. Fill it in or drop the row (e.g. ds.filter(lambda r: (r['instruction'] or '').strip())).
    """
    fmt = format or detect_format(batch.keys())
    for i, row in enumerate(_rows(batch)):
        index = None if indices is None else indices[i]
        messages, _ = _convert(row, fmt, index)
        users = [m["content"] for m in messages if m["role"] == "user"]
        for turn, text in enumerate(users, start=1):
            if not text.strip():
                column = {"alpaca": "instruction", "dolly": "instruction"}.get(fmt)
                hint = (f"ds.filter(lambda r: (r[{column!r}] or '').strip())" if column
                        else "ds.filter(...)")
                raise FormatError(
                    f"{row_label(index)}: the instruction (user turn {turn}) is empty or null; "
                    f"there is nothing to score. Fill it in or drop the row (e.g. {hint}).")
