"""One token layout for the gradient and error measures (LESS, GraNd, EL2N): the whole
conversation, loss on the assistant replies only.

The layout is LESS's (``less/data_selection/get_training_dataset.py``, ``concat_messages``: the
Tulu format of open-instruct), one segment per piece, each tokenized on its own with
``add_special_tokens=False`` so the label boundaries are exact::

    [BOS]                                                  (when the tokenizer has one)
    "<|system|>\\n" + system.strip() + "\\n"                 prompt (no loss)
    "<|user|>\\n" + user.strip() + "\\n"                     prompt
    "<|assistant|>\\n"                                      prompt
    assistant.strip() + EOS + "\\n"                         response (loss)
    ...                                                    the next turns alike

Sequences longer than ``max_length`` are cut on the right (as LESS's ``truncation=True``). A row
whose kept response tokens include no token of a reply's text (every reply empty, or cut off)
has nothing to measure and is an error naming the row. The per-example loss is the mean token
loss over the response positions (labels not ``-100``), as ``model(**batch).loss`` for one
example in LESS.

Example:
    >>> from deita_hf.scoring.conversation_tokens import segments
    >>> [(text, is_response) for text, is_response in segments(
    ...     [{"role": "user", "content": "Hi "}, {"role": "assistant", "content": " Yo"}], "</s>")]
    [('<|user|>\\nHi\\n', False), ('<|assistant|>\\n', False), ('Yo', True), ('</s>\\n', True)]
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from deita_hf.data.formats import messages_from_batch
from deita_hf.errors import ConfigError, InputError

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedTokenizerBase

__all__ = ["EncodedRow", "encode_batch", "encode_messages", "pad_right", "segments"]

_HEADERS = {"system": "<|system|>\n", "user": "<|user|>\n"}
_ASSISTANT = "<|assistant|>\n"


def segments(messages: Sequence[dict[str, str]], eos_token: str) -> list[tuple[str, bool]]:
    """The layout's text pieces: ``(text, is_response)``; a reply's text and its ``EOS + "\\n"``
    are separate pieces (only the first can hold content tokens).

    Raises:
        InputError: a message with a role other than system, user or assistant.
    """
    out: list[tuple[str, bool]] = []
    for message in messages:
        role, content = message["role"], str(message["content"]).strip()
        if role in _HEADERS:
            out.append((_HEADERS[role] + content + "\n", False))
        elif role == "assistant":
            out += [(_ASSISTANT, False), (content, True), (eos_token + "\n", True)]
        else:
            raise InputError(f"Unsupported message role {role!r}; the layout knows system, user "
                             f"and assistant.")
    return out


@dataclass
class EncodedRow:
    """One row in the layout: ``input_ids``, ``labels`` (-100 outside the replies) and whether
    the row was cut at ``max_length``."""

    input_ids: list[int]
    labels: list[int]
    truncated: bool


def encode_messages(messages: Sequence[dict[str, str]], tokenizer: PreTrainedTokenizerBase,
                    max_length: int, where: str = "a row") -> EncodedRow:
    """Tokenize one conversation in the layout of the module docstring.

    Args:
        messages: ``[{"role", "content"}, ...]``.
        tokenizer: the model's tokenizer (needs an EOS token).
        max_length: most tokens kept (cut on the right).
        where: the row, for the error (``"row 5"``).

    Returns:
        The :class:`EncodedRow`.

    Raises:
        InputError: no reply token survives (empty replies, or all cut by ``max_length``).
    """
    if tokenizer.eos_token is None:
        raise ConfigError("The tokenizer has no EOS token, which the layout puts after each reply.")
    ids: list[int] = [] if tokenizer.bos_token_id is None else [tokenizer.bos_token_id]
    labels: list[int] = [-100] * len(ids)
    content_at: list[int] = []  # positions of reply-text tokens
    for text, is_response in segments(messages, tokenizer.eos_token):
        piece = tokenizer(text, add_special_tokens=False)["input_ids"] if text else []
        if is_response and not text.startswith(tokenizer.eos_token):
            content_at += range(len(ids), len(ids) + len(piece))
        ids += piece
        labels += piece if is_response else [-100] * len(piece)
    truncated = len(ids) > max_length
    ids, labels = ids[:max_length], labels[:max_length]
    if not any(p < max_length for p in content_at):
        why = (f"its replies were cut off by max_length={max_length} tokens (raise --max-length)"
               if content_at else "every assistant reply is empty")
        raise InputError(f"{where} has no response tokens to measure: {why}. Drop the row "
                         f"(e.g. ds.filter) or fix its reply.")
    return EncodedRow(ids, labels, truncated)


def encode_batch(batch: dict[str, list], indices: Sequence[int] | None,
                 tokenizer: PreTrainedTokenizerBase, max_length: int,
                 who: str) -> list[EncodedRow]:
    """:func:`encode_messages` for a ``Dataset.map(batched=True)`` batch, in any supported
    conversation format; cut rows are counted in one warning.

    Args:
        batch: the batch.
        indices: the rows' indices (for errors; None: positions in the batch).
        tokenizer: the model's tokenizer.
        max_length: most tokens per row.
        who: the measure, for messages (``"less_grad"``).

    Returns:
        One :class:`EncodedRow` per row.
    """
    rows = messages_from_batch(batch, indices=indices)
    where = [f"row {indices[i] if indices is not None else i}" for i in range(len(rows))]
    try:
        out = [encode_messages(m, tokenizer, max_length, w) for m, w in zip(rows, where)]
    except InputError as err:
        raise InputError(f"{who}: {err}") from None
    cut = sum(r.truncated for r in out)
    if cut:
        warnings.warn(f"{who}: {cut} of {len(out)} rows were longer than max_length={max_length} "
                      f"tokens and were cut on the right.", stacklevel=3)
    return out


def pad_right(rows: Sequence[EncodedRow], pad_id: int, device: Any = None
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Right-padded ``(input_ids, attention_mask, labels)`` tensors of a batch of rows.

    Example:
        >>> ids, mask, labels = pad_right([EncodedRow([1, 2, 3], [-100, 2, 3], False),
        ...                                EncodedRow([1, 5], [-100, 5], False)], pad_id=0)
        >>> ids.tolist(), mask.tolist(), labels.tolist()
        ([[1, 2, 3], [1, 5, 0]], [[1, 1, 1], [1, 1, 0]], [[-100, 2, 3], [-100, 5, -100]])
    """
    import torch

    width = max(len(r.input_ids) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    labels = torch.full((len(rows), width), -100, dtype=torch.long)
    for i, r in enumerate(rows):
        n = len(r.input_ids)
        ids[i, :n] = torch.tensor(r.input_ids, dtype=torch.long)
        mask[i, :n] = 1
        labels[i, :n] = torch.tensor(r.labels, dtype=torch.long)
    return ids.to(device), mask.to(device), labels.to(device)
