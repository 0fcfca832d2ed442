"""Scorer rows as token ids for TRL: the prompt (masked) followed by one score token.

The scorers read the next-token probabilities of the vocabulary entries "1".."6" right after the
prompt (:mod:`deita_hf.scoring.core`). Training therefore appends exactly that entry's id to
the prompt's ids, tokenized as the scorers tokenize it (with BOS; over-long prompts fitted by
cutting field text, never the template tail), and marks only it as the completion. This is the
target of DEITA's ``train_scorers.py`` (``conv_template "scorer"``: prompt and score joined
with no separator and no EOS, ``mask_user``: the prompt's tokens masked), with the score token
taken from the vocabulary instead of from joint tokenization.

The rows go to ``SFTTrainer`` as TRL's pre-tokenized prompt-completion form (``input_ids`` +
``completion_mask``) with ``completion_only_loss=True``: TRL builds ``labels`` from the mask.

Example:
    >>> from deita_hf.testing import build_tokenizer
    >>> tok = build_tokenizer(vocab_size=300)
    >>> len(check_score_tokens(tok, "tiny"))
    6
"""

from __future__ import annotations

import logging
from typing import Any

from datasets import Dataset

from deita_hf.errors import ConfigError
from deita_hf.scorer_training.data import TEMPLATES, check_kind
from deita_hf.scoring import core

__all__ = ["check_score_tokens", "tokenize_scorer_rows"]

logger = logging.getLogger(__name__)


def check_score_tokens(tokenizer: Any, model_name: str) -> list[int]:
    """The vocabulary ids of "1".."6", checked before training starts.

    Raises:
        ConfigError: a digit is not a single vocabulary entry; the message says what to do.
    """
    try:
        return core.resolve_score_ids(tokenizer, repr(model_name))
    except ConfigError as err:
        raise ConfigError(
            f"Cannot train a DEITA scorer from {model_name!r}: {err} The scorer predicts the score "
            f"as one next token, so the base model's tokenizer must have '1'..'6' as single "
            f"vocabulary entries. Use a base model whose tokenizer splits digits one per token "
            f"(LLaMA, Mistral, Qwen2, ...), or add the six tokens first "
            f"(tokenizer.add_tokens([...]); model.resize_token_embeddings(len(tokenizer)); save "
            f"both) and train from that folder.") from None


def _encode(batch: dict[str, list], tokenizer: Any, kind: str, score_ids: list[int],
            max_length: int) -> dict[str, list]:
    template, fields = TEMPLATES[kind]
    out: dict[str, list] = {"input_ids": [], "completion_mask": [], "truncated": []}
    for i, prompt in enumerate(batch["prompt"]):
        if batch["instruction"][i] is not None:
            values = {f: batch[f][i] for f in fields}
            ids, truncated = core.fit_prompt(tokenizer, template, values, max_length - 1)
        else:  # a prompt in no known form: kept whole, or dropped when too long
            ids, truncated = tokenizer(prompt)["input_ids"], False
            if len(ids) > max_length - 1:
                ids, truncated = [], True
        score = int(batch["score"][i])
        out["input_ids"].append(list(ids) + [score_ids[score - 1]] if ids else [])
        out["completion_mask"].append([0] * len(ids) + [1] if ids else [])
        out["truncated"].append(truncated)
    return out


def tokenize_scorer_rows(rows: Dataset, tokenizer: Any, kind: str, *, max_length: int | None,
                         score_ids: list[int] | None = None, num_proc: int | None = None) -> Dataset:
    """Token ids and completion masks of :func:`~deita_hf.scorer_training.data.to_scorer_rows`
    rows.

    Args:
        rows: normalised scorer rows (integer scores).
        tokenizer: the base model's tokenizer.
        kind: ``"complexity"`` or ``"quality"``.
        max_length: tokens per example, score token included (None: the tokenizer's limit).
        score_ids: ids of "1".."6" (default: looked up with :func:`check_score_tokens`).
        num_proc: processes for ``Dataset.map``.

    Returns:
        A Dataset with ``input_ids`` and ``completion_mask`` (1 on the score token only).

    Example:
        >>> from deita_hf.scorer_training.data import to_scorer_rows
        >>> from deita_hf.testing import build_tokenizer
        >>> tok = build_tokenizer(vocab_size=300)
        >>> rows = to_scorer_rows(Dataset.from_dict({"instruction": ["Add 2 and 3."], "score": [4]}),
        ...                       "complexity")
        >>> ex = tokenize_scorer_rows(rows, tok, "complexity", max_length=256)[0]
        >>> sum(ex["completion_mask"]), tok.decode(ex["input_ids"][-1:])
        (1, '4')
    """
    check_kind(kind)
    score_ids = score_ids or check_score_tokens(tokenizer, getattr(tokenizer, "name_or_path", ""))
    limit = max_length or getattr(tokenizer, "model_max_length", None) or 2048
    limit = min(int(limit), 10**7)
    if limit < 2:
        raise ConfigError(f"max_length={max_length} leaves no room for a prompt and a score.")
    encoded = rows.map(
        _encode, batched=True, remove_columns=rows.column_names, num_proc=num_proc,
        fn_kwargs={"tokenizer": tokenizer, "kind": kind, "score_ids": score_ids,
                   "max_length": limit},
        desc="Tokenizing scorer rows")
    cut = sum(encoded["truncated"])
    kept = encoded.filter(lambda ids: len(ids) > 0, input_columns="input_ids")
    dropped = len(encoded) - len(kept)
    if cut:
        logger.warning("%d of %d scorer prompts were longer than max_length=%d tokens: %d had their "
                       "text cut (template tail kept), %d (prompts in no known form) were dropped.",
                       cut, len(encoded), limit, cut - dropped, dropped)
    if len(kept) == 0:
        raise ConfigError(f"No scorer row fits max_length={limit} tokens; raise max_length.")
    return kept.remove_columns("truncated")
