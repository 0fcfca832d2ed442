"""Turn preference data into TRL's conversational ``prompt`` / ``chosen`` / ``rejected``.

Accepted row schemas (detected from the column names, in this order):

- ``explicit``: TRL ``prompt`` / ``chosen`` / ``rejected``. The prompt is a string or a list of
  messages; ``chosen``/``rejected`` are strings, one message or lists of assistant messages, or
  whole conversations that repeat the prompt (UltraFeedback-binarized style).
- ``sharegpt``: ``conversations`` (``{"from", "value"}``, ending with a human turn) with
  ``chosen``/``rejected`` messages (LLaMA-Factory's DPO format).
- ``alpaca_eval``: AlpacaEval annotations ``instruction`` / ``output_1`` / ``output_2`` /
  ``preference`` (1: output_1 is better, 2: output_2 is better, 0 or 1.5: a draw, dropped).
- ``implicit``: TRL implicit-prompt ``chosen`` / ``rejected`` conversations that share their
  prompt messages.

Example:
    >>> from deita_hf.data.preference import preference_to_messages
    >>> preference_to_messages({"prompt": "2+2?", "chosen": "4", "rejected": "5"})["chosen"]
    [{'role': 'assistant', 'content': '4'}]
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from datasets import Dataset

from deita_hf.data.formats import VICUNA_V1_1_SYSTEM, FormatError, to_messages

__all__ = [
    "PREFERENCE_FORMATS",
    "deita_dpo_strings",
    "detect_preference_format",
    "preference_to_messages",
    "to_deita_dpo_dataset",
    "to_preference_dataset",
]

logger = logging.getLogger(__name__)

#: preference format name -> the columns that identify it (all must be present)
PREFERENCE_FORMATS: dict[str, tuple[str, ...]] = {
    "explicit": ("prompt", "chosen", "rejected"),
    "sharegpt": ("conversations", "chosen", "rejected"),
    "alpaca_eval": ("instruction", "output_1", "output_2", "preference"),
    "implicit": ("chosen", "rejected"),
}

_ASSISTANT_NAMES = {"assistant", "gpt", "chatgpt"}


def detect_preference_format(column_names: Iterable[str]) -> str:
    """Return the name of the preference format that ``column_names`` match.

    Args:
        column_names: the dataset's columns or a row's keys.

    Returns:
        One of the keys of :data:`PREFERENCE_FORMATS`.

    Raises:
        FormatError: no format matches; the message lists the columns found and those accepted.

    Example:
        >>> detect_preference_format(["conversations", "chosen", "rejected"])
        'sharegpt'
    """
    columns = set(column_names)
    for name, required in PREFERENCE_FORMATS.items():
        if all(col in columns for col in required):
            return name
    accepted = "; ".join(f"{n}: {', '.join(c)}" for n, c in PREFERENCE_FORMATS.items())
    raise FormatError(
        f"Not a preference dataset: found columns {sorted(columns)}. Accepted preference formats "
        f"(required columns): {accepted}. Rename your columns, e.g. "
        f"ds.rename_columns({{'question': 'prompt', 'good': 'chosen', 'bad': 'rejected'}})."
    )


def _where(index: int | None) -> str:
    return f"row {index}" if index is not None else "row"


def _is_message(value: Any) -> bool:
    return isinstance(value, Mapping) and ("role" in value or "from" in value)


def _conversation(messages: Sequence[Any], index: int | None, field: str) -> list[dict[str, str]]:
    """Validate a conversation (role/content or from/value messages) with the core parser."""
    if messages and all(isinstance(m, Mapping) and "from" in m for m in messages):
        return to_messages({"conversations": list(messages)}, format="sharegpt", index=index)
    return to_messages({"messages": list(messages)}, format="messages", index=index)


def _completion(value: Any, index: int | None, field: str) -> list[dict[str, str]]:
    """An assistant completion: a string, one message, or a list of assistant messages."""
    if isinstance(value, str):
        return [{"role": "assistant", "content": value}]
    if _is_message(value):
        value = [value]
    if not isinstance(value, Sequence) or not value:
        raise FormatError(
            f"{_where(index)}: column '{field}' must be a string, a message or a list of "
            f"assistant messages, got {value!r}."
        )
    out = []
    for pos, msg in enumerate(value):
        if not _is_message(msg):
            raise FormatError(
                f"{_where(index)}: message {pos} of '{field}' must be a mapping with 'role' and "
                f"'content' (or 'from' and 'value'), got {msg!r}."
            )
        role = msg.get("role", msg.get("from"))
        content = msg.get("content", msg.get("value"))
        if role not in _ASSISTANT_NAMES:
            raise FormatError(
                f"{_where(index)}: message {pos} of '{field}' has role {role!r}; a completion "
                f"holds assistant messages only."
            )
        if not isinstance(content, str):
            raise FormatError(
                f"{_where(index)}: message {pos} of '{field}' must have string content, got "
                f"{content!r}."
            )
        out.append({"role": "assistant", "content": content})
    return out


def _ends_with_user(prompt: list[dict[str, str]], index: int | None, field: str) -> None:
    if prompt[-1]["role"] != "user":
        raise FormatError(
            f"{_where(index)}: the prompt in '{field}' must end with a user message (the one "
            f"chosen/rejected answer), but it ends with {prompt[-1]['role']!r}."
        )


def _prompt(value: Any, index: int | None, field: str) -> list[dict[str, str]]:
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if not isinstance(value, Sequence) or not value:
        raise FormatError(
            f"{_where(index)}: column '{field}' must be a string or a non-empty list of messages, "
            f"got {value!r}."
        )
    prompt = _conversation(value, index, field)
    _ends_with_user(prompt, index, field)
    return prompt


def _is_full_conversation(value: Any) -> bool:
    """True when a chosen/rejected value holds non-assistant messages (it repeats the prompt)."""
    if not isinstance(value, Sequence) or isinstance(value, str):
        return False
    return any(_is_message(m) and m.get("role", m.get("from")) not in _ASSISTANT_NAMES
               for m in value)


def _split_shared_prompt(chosen: Any, rejected: Any, index: int | None) -> dict[str, list]:
    """Implicit prompt: the messages ``chosen`` and ``rejected`` share before they differ."""
    c = _conversation(chosen, index, "chosen")
    r = _conversation(rejected, index, "rejected")
    k = 0
    while k < min(len(c), len(r)) and c[k] == r[k]:
        k += 1
    while k and c[k - 1]["role"] != "user":  # the prompt ends on the last shared user message
        k -= 1
    if k == 0 or k == len(c) or k == len(r):
        raise FormatError(
            f"{_where(index)}: 'chosen' and 'rejected' must share their prompt messages (ending "
            f"with a user message) and differ in the answer; could not find such a prompt."
        )
    return {"prompt": c[:k], "chosen": _completion(c[k:], index, "chosen"),
            "rejected": _completion(r[k:], index, "rejected")}


def _alpaca_eval(row: Mapping[str, Any], index: int | None) -> dict[str, list] | None:
    pref = row["preference"]
    if pref is None or not isinstance(pref, (int, float)) or math.isnan(pref) or not (
        pref == 0 or 1 <= pref <= 2
    ):
        raise FormatError(
            f"{_where(index)}: 'preference' must be 0 (draw), 1 (output_1 better) or 2 (output_2 "
            f"better), or a value in [1, 2]; got {pref!r}."
        )
    if pref == 0 or pref == 1.5:
        return None
    better, worse = ("output_1", "output_2") if pref < 1.5 else ("output_2", "output_1")
    return {"prompt": _prompt(row["instruction"], index, "instruction"),
            "chosen": _completion(row[better], index, better),
            "rejected": _completion(row[worse], index, worse)}


def preference_to_messages(row: Mapping[str, Any], *, format: str | None = None,
                           index: int | None = None) -> dict[str, list] | None:
    """Convert one preference row to conversational ``prompt`` / ``chosen`` / ``rejected``.

    Args:
        row: one dataset row.
        format: a :data:`PREFERENCE_FORMATS` name; detected from the row's keys if None.
        index: the row's index, for error messages.

    Returns:
        ``{"prompt": [...], "chosen": [...], "rejected": [...]}``: the prompt messages (ending
        with a user message) and the two assistant completions; or None for an AlpacaEval draw.

    Raises:
        FormatError: unknown schema or malformed row (the message names the row and column).

    Example:
        >>> row = {"conversations": [{"from": "human", "value": "Hi"}],
        ...        "chosen": {"from": "gpt", "value": "Hello!"},
        ...        "rejected": {"from": "gpt", "value": "Go away."}}
        >>> preference_to_messages(row)["prompt"]
        [{'role': 'user', 'content': 'Hi'}]
    """
    fmt = format or detect_preference_format(row.keys())
    if fmt == "alpaca_eval":
        return _alpaca_eval(row, index)
    chosen, rejected = row["chosen"], row["rejected"]
    if fmt == "implicit" or (
        fmt == "explicit" and _is_full_conversation(chosen) and _is_full_conversation(rejected)
    ):
        out = _split_shared_prompt(chosen, rejected, index)
        if fmt == "explicit" and isinstance(row["prompt"], str):
            last_user = out["prompt"][-1]["content"]
            if row["prompt"].strip() != last_user.strip():
                raise FormatError(
                    f"{_where(index)}: 'chosen'/'rejected' repeat a prompt whose last user "
                    f"message differs from the 'prompt' column ({row['prompt'][:60]!r} vs "
                    f"{last_user[:60]!r})."
                )
        return out
    if fmt == "explicit":
        prompt = _prompt(row["prompt"], index, "prompt")
    elif fmt == "sharegpt":
        prompt = _prompt(row["conversations"], index, "conversations")
    else:
        raise FormatError(f"Unknown preference format {fmt!r}; expected one of "
                          f"{sorted(PREFERENCE_FORMATS)}.")
    return {"prompt": prompt, "chosen": _completion(chosen, index, "chosen"),
            "rejected": _completion(rejected, index, "rejected")}


def _convert_batch(batch: Mapping[str, list], indices: Sequence[int], fmt: str) -> dict[str, list]:
    out: dict[str, list] = {"prompt": [], "chosen": [], "rejected": [], "_keep": []}
    keys = list(batch)
    for i, index in enumerate(indices):
        conv = preference_to_messages({k: batch[k][i] for k in keys}, format=fmt, index=index)
        out["_keep"].append(conv is not None)
        for key in ("prompt", "chosen", "rejected"):
            out[key].append(conv[key] if conv is not None else [{"role": "user", "content": ""}])
    return out


def to_preference_dataset(ds: Dataset, *, keep_columns: bool = False,
                          num_proc: int | None = None) -> Dataset:
    """Convert ``ds`` to TRL's conversational preference format.

    The format is detected from the column names first, so a dataset that cannot be converted
    fails at once with the columns it has; a malformed row fails with its index. AlpacaEval
    draws are dropped (and counted in the log).

    Args:
        ds: a dataset in one of :data:`PREFERENCE_FORMATS`.
        keep_columns: keep the other columns (default: only ``prompt``/``chosen``/``rejected``,
            what ``DPOTrainer`` reads).
        num_proc: processes for ``Dataset.map``.

    Returns:
        A ``Dataset`` whose ``prompt``, ``chosen`` and ``rejected`` are lists of messages.

    Raises:
        FormatError: unknown schema or malformed row.
    """
    if not isinstance(ds, Dataset):
        raise TypeError(f"to_preference_dataset expects a datasets.Dataset, got {type(ds).__name__}.")
    fmt = detect_preference_format(ds.column_names)
    replaced = {"prompt", "chosen", "rejected"}
    remove = ds.column_names if not keep_columns else [c for c in ds.column_names if c in replaced]
    out = ds.map(
        _convert_batch,
        batched=True,
        with_indices=True,
        fn_kwargs={"fmt": fmt},
        remove_columns=remove,
        num_proc=num_proc,
        desc=f"Converting {fmt} preference rows",
    )
    if fmt == "alpaca_eval":
        n = len(out)
        out = out.filter(lambda keep: keep, input_columns="_keep", desc="Dropping draws")
        logger.info("Dropped %d of %d rows that are draws (preference 0 or 1.5).", n - len(out), n)
    logger.info("Preference data: %d rows in %r format -> TRL prompt/chosen/rejected.", len(out), fmt)
    return out.remove_columns("_keep")


def deita_dpo_strings(pair: Mapping[str, Any], *, system: str | None = None,
                      index: int | None = None) -> dict[str, str]:
    """One pair as the strings of DEITA's ``dpo_train.py`` (``preprocess``, commit acec45ca).

    The original builds, from UltraFeedback-binarized rows::

        prompt   = conv.system + conv.sep + messages[0]["role"] + ": " + prompt + conv.sep
        chosen   = chosen[1]["role"] + ": " + chosen[1]["content"] + conv.sep2
        rejected = rejected[1]["role"] + ": " + rejected[1]["content"] + conv.sep2

    with FastChat's ``vicuna_v1.1`` ``system``, ``sep=" "`` and ``sep2="</s>"``, i.e.
    ``"{system} user: {prompt} "`` and ``"assistant: {reply}</s>"``: lower-case roles, no
    ``ASSISTANT:`` after the prompt. Strings are concatenated as they are (an empty reply gives
    ``"assistant: </s>"``).

    Beyond the original (single-turn prompts only): a system message in the prompt replaces the
    default system prompt, and earlier turns of a multi-turn prompt are written the same way
    (``"user: {u} "`` then ``"assistant: {a}</s>"``).

    Args:
        pair: :func:`preference_to_messages` output (``prompt`` messages ending with a user
            message; ``chosen``/``rejected``: one assistant message each).
        system: the system prompt when the prompt has none (default: FastChat's vicuna_v1.1).
        index: the row's index, for error messages.

    Returns:
        ``{"prompt", "chosen", "rejected"}`` strings.

    Raises:
        FormatError: a completion with more than one message.

    Example:
        >>> out = deita_dpo_strings({"prompt": [{"role": "user", "content": "2+2?"}],
        ...                          "chosen": [{"role": "assistant", "content": "4"}],
        ...                          "rejected": [{"role": "assistant", "content": "5"}]})
        >>> out["prompt"][-29:], out["chosen"]
        ("user's questions. user: 2+2? ", 'assistant: 4</s>')
    """
    messages = list(pair["prompt"])
    pos = 0
    while pos < len(messages) and messages[pos]["role"] == "system":
        pos += 1
    if pos:
        system = "\n\n".join(m["content"] for m in messages[:pos])
    elif system is None:
        system = VICUNA_V1_1_SYSTEM
    prompt = system + " "
    for m in messages[pos:]:
        prompt += m["role"] + ": " + m["content"] + (" " if m["role"] == "user" else "</s>")
    out = {"prompt": prompt}
    for key in ("chosen", "rejected"):
        completion = list(pair[key])
        if len(completion) != 1:
            raise FormatError(
                f"{_where(index)}: '{key}' has {len(completion)} messages; DEITA's DPO format "
                f"takes one assistant reply per response."
            )
        out[key] = "assistant: " + completion[0]["content"] + "</s>"
    return out


def _deita_batch(batch: Mapping[str, list], indices: Sequence[int]) -> dict[str, list]:
    out: dict[str, list] = {"prompt": [], "chosen": [], "rejected": []}
    for i, index in enumerate(indices):
        strings = deita_dpo_strings({k: batch[k][i] for k in ("prompt", "chosen", "rejected")},
                                    index=index)
        for key, value in strings.items():
            out[key].append(value)
    return out


def to_deita_dpo_dataset(ds: Dataset, *, num_proc: int | None = None) -> Dataset:
    """Convert preference data to the string ``prompt``/``chosen``/``rejected`` of DEITA's DPO.

    Args:
        ds: a dataset in one of :data:`PREFERENCE_FORMATS`, or :func:`to_preference_dataset`
            output.
        num_proc: processes for ``Dataset.map``.

    Returns:
        A ``Dataset`` with string ``prompt``, ``chosen`` and ``rejected`` (see
        :func:`deita_dpo_strings`).
    """
    conv = ds
    if not (set(ds.column_names) == {"prompt", "chosen", "rejected"} and len(ds)
            and isinstance(ds[0]["prompt"], list)):
        conv = to_preference_dataset(ds, num_proc=num_proc)
    return conv.map(_deita_batch, batched=True, with_indices=True, num_proc=num_proc,
                    desc="DEITA dpo_train.py strings")
