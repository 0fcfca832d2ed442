"""Turn any supported instruction dataset into TRL's conversational ``messages`` format.

``SFTTrainer`` with ``assistant_only_loss=True`` needs a ``messages`` column of
``{"role", "content"}`` dicts. :func:`to_sft_dataset` builds it from every format that
:mod:`deita_hf.data.formats` reads (messages, ShareGPT, prompt/completion, Alpaca, Dolly), so the
output of ``deita-hf select`` and any Hub dataset in those formats train as they are.

Example:
    >>> from datasets import Dataset
    >>> from deita_hf.training.sft_data import to_sft_dataset
    >>> ds = Dataset.from_dict({"instruction": ["Add 2 and 3."], "input": [""], "output": ["5"]})
    >>> to_sft_dataset(ds)[0]["messages"]
    [{'role': 'user', 'content': 'Add 2 and 3.'}, {'role': 'assistant', 'content': '5'}]
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from datasets import Dataset

from deita_hf.data.formats import FormatError, detect_format, messages_from_batch
from deita_hf.errors import ConfigError

__all__ = ["sft_messages", "to_sft_dataset"]

logger = logging.getLogger(__name__)


def sft_messages(messages: list[dict[str, str]], index: int | None = None) -> list[dict[str, str]]:
    """Make one converted conversation trainable: drop a final unanswered user message.

    Args:
        messages: the output of :func:`deita_hf.data.formats.to_messages`.
        index: the row index, for the error message.

    Returns:
        The messages, ending with an assistant reply.

    Raises:
        FormatError: the conversation has no assistant reply at all (nothing to train on).

    Example:
        >>> sft_messages([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"},
        ...               {"role": "user", "content": "Bye"}])
        [{'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'Yo'}]
    """
    end = len(messages)
    while end and messages[end - 1]["role"] != "assistant":
        end -= 1
    if end == 0:
        where = f"row {index}" if index is not None else "a row"
        raise FormatError(
            f"{where} has no assistant reply, so SFT has nothing to learn from it. Drop such rows "
            f"first, e.g. ds.filter(lambda r: <has a response>)."
        )
    return messages[:end]


def _convert_batch(batch: Mapping[str, list], indices: Sequence[int], fmt: str) -> dict[str, list]:
    converted = messages_from_batch(batch, format=fmt, indices=indices)
    return {"messages": [sft_messages(m, i) for m, i in zip(converted, indices)]}


def to_sft_dataset(ds: Dataset, *, num_proc: int | None = None) -> Dataset:
    """Convert ``ds`` to a dataset with a single conversational ``messages`` column.

    The format is detected from the column names first, so a dataset that cannot be converted
    fails at once with the columns it has; a malformed row fails with its index.

    Args:
        ds: a dataset in any :mod:`deita_hf.data.formats` format (other columns are dropped: the
            trainer only reads ``messages``).
        num_proc: processes for ``Dataset.map``.

    Returns:
        A ``Dataset`` with one column, ``messages``.

    Raises:
        FormatError: no known format matches the columns, or a row is malformed / has no
            assistant reply.
    """
    if not isinstance(ds, Dataset):
        raise ConfigError(f"to_sft_dataset expects a datasets.Dataset, got {type(ds).__name__}.")
    if {"chosen", "rejected"} <= set(ds.column_names):
        raise FormatError(
            f"Cannot build SFT conversations: found columns {sorted(ds.column_names)}, which is "
            f"preference data (chosen/rejected). Train it with recipes/dpo.py, or pass an SFT "
            f"dataset (messages, conversations, prompt/completion, instruction/output or "
            f"instruction/response)."
        )
    try:
        fmt = detect_format(ds.column_names)
    except FormatError as err:
        raise FormatError(f"Cannot build SFT conversations: {err}") from None
    logger.info("SFT data: %d rows in %r format -> TRL 'messages'.", len(ds), fmt)
    return ds.map(
        _convert_batch,
        batched=True,
        with_indices=True,
        fn_kwargs={"fmt": fmt},
        remove_columns=ds.column_names,
        num_proc=num_proc,
        desc=f"Converting {fmt} rows to messages",
    )
