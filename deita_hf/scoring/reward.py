"""Reward-model scores: any ``AutoModelForSequenceClassification`` reward model, one float per row.

The whole conversation (system message included) is rendered with the reward model's own chat
template, ``tokenizer.apply_chat_template(messages, tokenize=False)``, and tokenized without
adding special tokens (what ``apply_chat_template(..., tokenize=True)`` does; the template
brings its own BOS). The reward is the model's pooled logit, i.e. the score head at the last
token that is not the model's ``pad_token_id`` (its own convention). Batches are sorted by length
and LEFT-padded with that pad id, so a batched score equals the unbatched one (a model whose
config has no ``pad_token_id`` scores one conversation per forward pass).

Conversations longer than ``max_length`` tokens are cut on the right (as a pipeline with
``truncation=True`` does), counted in a warning.

Example:
    >>> from deita_hf.scoring import RewardModelScorer
    >>> RewardModelScorer("path/to/reward-model").describe()["column"]  # lazy
    'reward'
    >>> ds = ds.map(RewardModelScorer("Skywork/Skywork-Reward-Llama-3.1-8B"),
    ...             batched=True, with_indices=True)  # doctest: +SKIP
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any

from deita_hf.data.formats import messages_from_batch
from deita_hf.errors import ConfigError
from deita_hf.runtime import (
    LazyRuntime,
    load_pretrained,
    local_stamp,
)
from deita_hf.scoring.baselines import require_batch

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

__all__ = ["RewardModelScorer"]


class RewardModelScorer(LazyRuntime):
    """Score each conversation with a reward model; adds column ``reward`` (one float per row).

    Args:
        model_name_or_path: a sequence-classification reward model (folder or Hub id).
        label_index: which logit is the reward when the model has several labels (required
            then; a model with ``num_labels == 1`` has one).
        revision: Hub revision.
        batch_size: conversations per forward pass.
        max_length: most tokens per conversation (longer ones are cut on the right, counted).
        device: ``"cpu"``, ``"cuda"``, ... (None: CUDA if available).
        dtype: ``"float32"``, ``"bfloat16"``, ``"float16"`` or ``"auto"``.
        on_error: ``"raise"`` or ``"nan"`` (a failed forward pass gives NaN, counted).
        trust_remote_code: passed to ``from_pretrained``.

    Example:
        >>> RewardModelScorer("m", batch_size=2).describe()["kind"]
        'reward-model'
    """

    column = "reward"

    def __init__(self, model_name_or_path: str, *, label_index: int | None = None,
                 revision: str | None = None, batch_size: int = 8, max_length: int = 4096,
                 device: str | None = None, dtype: Any = None, on_error: str = "raise",
                 trust_remote_code: bool = False) -> None:
        if on_error not in ("raise", "nan"):
            raise ConfigError(f"on_error must be 'raise' or 'nan', got {on_error!r}.")
        if not model_name_or_path:
            raise ConfigError("RewardModelScorer needs a reward model (a folder or Hub id).")
        if batch_size < 1 or max_length < 2:
            raise ConfigError("batch_size must be >= 1 and max_length >= 2.")
        self.model_name_or_path = str(model_name_or_path)
        self.label_index = label_index
        self.revision, self.batch_size, self.max_length = revision, int(batch_size), int(max_length)
        self.device = None if device is None else str(device)
        self.dtype = None if dtype is None else str(dtype).replace("torch.", "")
        self.on_error, self.trust_remote_code = on_error, trust_remote_code
        self.weights_stamp = local_stamp(self.model_name_or_path)
        self._reset_runtime()

    def __repr__(self) -> str:
        return f"RewardModelScorer({self.model_name_or_path!r})"

    def describe(self) -> dict[str, Any]:
        """What a dataset card records about this scorer."""
        return {"name": self.model_name_or_path, "revision": self.revision, "kind": "reward-model",
                "column": self.column, "label_index": self.label_index, "max_length": self.max_length,
                "batch_size": self.batch_size, "dtype": self.dtype or "auto"}

    @property
    def loaded(self) -> bool:
        return "model" in self._rt

    def load(self) -> None:
        """Load tokenizer and model now (otherwise done on the first call)."""
        if self.loaded:
            return
        model, tok = load_pretrained(
            "AutoModelForSequenceClassification", self.model_name_or_path,
            revision=self.revision, device=self.device, dtype=self.dtype,
            trust_remote_code=self.trust_remote_code, what="reward model",
            hint=" (`--scorer reward:DIR`)")
        self.use_model(model, tok)

    def use_model(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> None:
        """Score with an already loaded model and tokenizer (never pickled).

        Raises:
            ConfigError: the tokenizer has no chat template, or the model has several labels
                and no ``label_index`` was given.
        """
        if not getattr(tokenizer, "chat_template", None):
            raise ConfigError(
                f"The tokenizer of the reward model {self.model_name_or_path!r} has no chat template, "
                f"so conversations cannot be rendered the way it was trained. Set one "
                f"(tokenizer.chat_template = ...; tokenizer.save_pretrained(DIR)) or use the reward "
                f"model's published tokenizer.")
        n_labels = int(getattr(model.config, "num_labels", 1))
        if n_labels != 1 and self.label_index is None:
            raise ConfigError(f"The reward model {self.model_name_or_path!r} has {n_labels} labels; "
                              f"pass label_index= to say which logit is the reward.")
        index = 0 if self.label_index is None else int(self.label_index)
        if not -n_labels <= index < n_labels:
            raise ConfigError(f"label_index={index} is out of range for {n_labels} labels.")
        pad = model.config.get_text_config().pad_token_id  # None: the model scores one at a time
        self._rt.update(model=model.eval(), tokenizer=tokenizer, index=index, pad=pad,
                        device=str(next(model.parameters()).device))

    def encode(self, messages: list[dict[str, str]]) -> tuple[list[int], bool]:
        """Token ids of one conversation and whether it was cut to ``max_length``."""
        self.load()
        tok = self._rt["tokenizer"]
        text = tok.apply_chat_template(messages, tokenize=False)
        ids = tok(text, add_special_tokens=False)["input_ids"]
        return ids[:self.max_length], len(ids) > self.max_length

    def score_conversations(self, conversations: list[list[dict[str, str]]], *,
                            where: list[str] | None = None) -> list[float]:
        """Rewards of conversations (lists of ``{"role", "content"}``), one float each.

        Args:
            conversations: the conversations.
            where: labels such as ``"row 5"`` for messages.

        Returns:
            One float per conversation (NaN only with ``on_error="nan"``, counted in a warning).
        """
        self.load()
        where = where or [f"item {i}" for i in range(len(conversations))]
        encoded = [self.encode(m) for m in conversations]
        n_cut = sum(cut for _, cut in encoded)
        if n_cut:
            warnings.warn(f"reward scorer: {n_cut} of {len(encoded)} conversations were longer than "
                          f"max_length={self.max_length} tokens and were cut on the right.", stacklevel=2)
        ids = [x for x, _ in encoded]
        out = [math.nan] * len(ids)
        failures: list[str] = []
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
        size = self.batch_size if self._rt["pad"] is not None else 1
        for s in range(0, len(order), size):
            chunk = order[s:s + size]
            for i, v in zip(chunk, self._chunk([ids[i] for i in chunk], [where[i] for i in chunk], failures)):
                out[i] = v
        if failures:
            warnings.warn(f"reward scorer: {len(failures)} of {len(ids)} conversations got NaN "
                          f"({'; '.join(failures[:3])}).", stacklevel=2)
        return out

    def _chunk(self, ids: list[list[int]], where: list[str], failures: list[str]) -> list[float]:
        try:
            return self._forward(ids)
        except Exception as err:  # noqa: BLE001 - raised or reported, never a made-up reward
            if self.on_error == "raise":
                raise RuntimeError(f"reward scorer failed on {', '.join(where)}: {type(err).__name__}: "
                                   f"{err}. Pass on_error='nan' to keep going with NaN.") from err
            if len(ids) > 1:
                return [v for one, w in zip(ids, where) for v in self._chunk([one], [w], failures)]
            failures.append(f"{where[0]}: {type(err).__name__}: {err}")
            return [math.nan]

    def _forward(self, ids: list[list[int]]) -> list[float]:
        import torch

        rt = self._rt
        width = max(len(x) for x in ids)
        batch = torch.full((len(ids), width), rt["pad"] or 0, dtype=torch.long)
        mask = torch.zeros((len(ids), width), dtype=torch.long)
        for i, row in enumerate(ids):
            batch[i, width - len(row):] = torch.tensor(row, dtype=torch.long)
            mask[i, width - len(row):] = 1
        with torch.inference_mode():
            logits = rt["model"](input_ids=batch.to(rt["device"]), attention_mask=mask.to(rt["device"]),
                                 position_ids=(mask.cumsum(-1) - 1).clamp(min=0).to(rt["device"]),
                                 use_cache=False).logits
        return logits[:, rt["index"]].float().cpu().tolist()

    def __call__(self, batch: dict[str, list], indices: list[int] | None = None) -> dict[str, list]:
        """Score a batch from ``Dataset.map(batched=True[, with_indices=True])``.

        Returns:
            ``{"reward": [float per row]}``.
        """
        require_batch(batch, indices, "RewardModelScorer")
        conversations = messages_from_batch(batch, indices=indices)
        where = [f"row {indices[r] if indices is not None else r}" for r in range(len(conversations))]
        return {self.column: self.score_conversations(conversations, where=where)}
