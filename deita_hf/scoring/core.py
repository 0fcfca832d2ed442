"""The scoring core: fit prompts to a token budget, batch them by length, one forward pass each.

Score = sum_k k * softmax(l)_k over the next-token logits ``l`` of the vocabulary entries
"1".."6" at the last prompt position.

Example:
    >>> import torch
    >>> from deita_hf.scoring.core import expected_score
    >>> round(float(expected_score(torch.zeros(1, 6))[0]), 4)  # uniform over 1..6
    3.5
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from deita_hf.errors import ConfigError
from deita_hf.scoring.prompts import SCORE_TOKENS

if TYPE_CHECKING:
    import torch
    from transformers import Cache, PreTrainedModel, PreTrainedTokenizerBase


def expected_score(score_logits: torch.Tensor) -> torch.Tensor:
    """``(n, 6)`` logits of the tokens "1".."6" -> ``(n,)`` expected scores in float32."""
    import torch

    probs = torch.softmax(score_logits.float(), dim=-1)
    weights = torch.arange(1, probs.shape[-1] + 1, dtype=probs.dtype, device=probs.device)
    return probs @ weights


def resolve_score_ids(tokenizer: PreTrainedTokenizerBase, name: str = "the scorer") -> list[int]:
    """The vocabulary ids of "1".."6"; raises ``ValueError`` if the tokenizer lacks any of them."""
    ids, missing = [], []
    vocab = tokenizer.get_vocab()
    for token in SCORE_TOKENS:
        idx = vocab.get(token)
        if idx is None:
            missing.append(token)
        ids.append(idx)
    if missing:
        raise ConfigError(
            f"The tokenizer of {name} has no single vocabulary entries for {missing} (it needs "
            f"'1'..'6' as tokens, like LLaMA's ids 29896..29953). Use a scorer trained with such a "
            f"tokenizer."
        )
    return ids


def _cut(tokenizer: PreTrainedTokenizerBase, text: str, n_tokens: int) -> str:
    """``text`` shortened to its first ``n_tokens`` tokens (by character offsets when available)."""
    if n_tokens <= 0:
        return ""
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=tokenizer.is_fast)
    ids = enc["input_ids"]
    if len(ids) <= n_tokens:
        return text
    if tokenizer.is_fast:
        return text[: enc["offset_mapping"][n_tokens - 1][1]]
    return tokenizer.decode(ids[:n_tokens], skip_special_tokens=True)


def _water_fill(lengths: Sequence[int], total: int) -> list[int]:
    """Caps per field so that ``sum(min(n, cap)) <= total``, cutting the longest fields first."""
    caps = list(lengths)
    while sum(caps) > total and max(caps) > 0:
        top = max(caps)
        second = max([c for c in caps if c < top], default=0)
        n_top = sum(1 for c in caps if c == top)
        excess = sum(caps) - total
        new_top = max(second, top - -(-excess // n_top))
        caps = [new_top if c == top else c for c in caps]
    return caps


def fit_prompt(tokenizer: PreTrainedTokenizerBase, template: str, fields: dict[str, str],
               max_length: int) -> tuple[list[int], bool]:
    """Token ids of ``template.format(**fields)``, at most ``max_length`` long.

    Over-long prompts are fitted by truncating the field texts (the longest first), never the
    template, so the prompt always ends with the template's tail ("##Complexity: ").

    Returns:
        ``(input_ids, truncated)``.
    """
    ids = tokenizer(template.format(**fields))["input_ids"]
    if len(ids) <= max_length:
        return ids, False
    empty = tokenizer(template.format(**{k: "" for k in fields}))["input_ids"]
    if len(empty) >= max_length:
        raise ConfigError(
            f"max_length={max_length} tokens is too small: the prompt template alone takes "
            f"{len(empty)} tokens. Raise max_length."
        )
    names = list(fields)
    lengths = [len(tokenizer(fields[k], add_special_tokens=False)["input_ids"]) for k in names]
    margin = 0
    for _ in range(8):  # token boundaries can shift when texts are joined: shrink until it fits
        budget = max_length - len(empty) - margin
        caps = _water_fill(lengths, max(budget, 0))
        cut = {k: _cut(tokenizer, fields[k], c) for k, c in zip(names, caps)}
        ids = tokenizer(template.format(**cut))["input_ids"]
        if len(ids) <= max_length:
            return ids, True
        margin += len(ids) - max_length + 2
    raise RuntimeError(f"Could not fit a prompt into max_length={max_length} tokens.")


def position_limit(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> int | None:
    """The most positions ``model`` was built for: its config's ``max_position_embeddings``,
    else the tokenizer's ``model_max_length`` when it is a real limit (None: unknown)."""
    limit = getattr(getattr(model, "config", None), "max_position_embeddings", None)
    if not isinstance(limit, int):
        limit = getattr(tokenizer, "model_max_length", None)
    return int(limit) if isinstance(limit, int) and 0 < limit < 1_000_000 else None


def supports_logits_to_keep(model: PreTrainedModel) -> bool:
    """Whether ``model.forward`` takes ``logits_to_keep`` (only the last position's logits)."""
    return "logits_to_keep" in inspect.signature(model.forward).parameters


def cache_argument(model: PreTrainedModel) -> str:
    """The name under which ``model.forward`` takes a KV cache: ``cache`` (transformers >= 5.2x)
    or ``past_key_values`` (older releases, where ``cache`` does not exist)."""
    return "cache" if "cache" in inspect.signature(type(model).forward).parameters else "past_key_values"


def template_prefix_ids(tokenizer: PreTrainedTokenizerBase, template: str) -> list[int]:
    """Token ids every prompt of ``template`` starts with: the text before the first field,
    minus its last token (which may merge with the field's first characters)."""
    head = template.split("{", 1)[0]
    return list(tokenizer(head)["input_ids"][:-1])


def prefix_cache(model: PreTrainedModel, prefix: list[int], device: str) -> Cache:
    """The KV cache of the shared template prefix (computed once, reused for every batch)."""
    import torch

    with torch.inference_mode():
        out = model(input_ids=torch.tensor([prefix], device=device), use_cache=True)
    return out["cache"] if "cache" in out else out["past_key_values"]


def forward_scores(model: PreTrainedModel, input_ids: list[list[int]], score_ids: list[int], pad_id: int,
                   device: str, keep_arg: bool, prefix: tuple[int, Any] | None = None) -> list[float]:
    """One forward pass over a left-padded batch; the expected score of each sequence.

    Args:
        prefix: ``(length, cache)`` of a shared prompt prefix that ``input_ids`` continue (the
            ids then exclude it): the cache is copied, repeated over the batch and attended to.
    """
    import copy

    import torch

    width = max(len(x) for x in input_ids)
    ids = torch.full((len(input_ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(input_ids), width), dtype=torch.long)
    for i, row in enumerate(input_ids):
        ids[i, width - len(row):] = torch.tensor(row, dtype=torch.long)
        mask[i, width - len(row):] = 1
    position_ids = (mask.cumsum(-1) - 1).clamp(min=0)
    kwargs: dict[str, Any] = {"use_cache": False}
    if keep_arg:
        kwargs["logits_to_keep"] = 1
    with torch.inference_mode():
        if prefix is not None:
            length, cache = prefix
            cache = copy.deepcopy(cache)
            cache.batch_repeat_interleave(len(input_ids))
            mask = torch.cat([torch.ones((len(input_ids), length), dtype=torch.long), mask], dim=1)
            position_ids = position_ids + length
            kwargs.update(use_cache=True, **{cache_argument(model): cache})
        out = model(input_ids=ids.to(device), attention_mask=mask.to(device),
                    position_ids=position_ids.to(device), **kwargs)
        logits = out.logits[:, -1, :]
        index = torch.tensor(score_ids, device=logits.device)
        return expected_score(logits.index_select(-1, index)).cpu().tolist()
