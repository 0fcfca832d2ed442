"""``CausalLMEmbedder``: conversations embedded with a causal LM's last hidden layer.

The conversation is rendered with the model's own chat template; the vector is the last
layer's hidden state at the last non-padding token (or the mean over tokens), L2-normalised.
For the paper's Repr filter (a base model, FastChat's vicuna_v1.1 string) use
:class:`~deita_hf.embedding.DeitaEmbedder`.

Example:
    >>> from deita_hf.embedding import CausalLMEmbedder
    >>> CausalLMEmbedder("path/to/chat-model").describe()["pooling"]
    'last'
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from deita_hf.embedding.base import ConversationEmbedder, embed_batches
from deita_hf.errors import ConfigError
from deita_hf.runtime import load_error, local_stamp

if TYPE_CHECKING:
    import torch

__all__ = ["CausalLMEmbedder"]


class CausalLMEmbedder(ConversationEmbedder):
    """Embed conversations with a chat model's last hidden layer, in the model's own template.

    For the paper's Repr filter (Mistral-7B-v0.1, vicuna_v1.1) use :class:`DeitaEmbedder`.

    Args:
        model_name_or_path: a local folder or Hub id of a causal LM with a chat template.
        pooling: "last" (hidden state at the last non-padding token, default) or "mean".
        max_length: tokens per conversation; longer ones are cut at the end and counted in a warning.
        batch_size: conversations per forward pass (sorted by length).
        chat_template: a Jinja chat template to use when the tokenizer has none (otherwise a
            tokenizer without one is an error).
        device, dtype: as for the scorers (default fp32 on CPU, bf16/fp16 on CUDA).
    """

    def __init__(self, model_name_or_path: str, *, pooling: str = "last", max_length: int = 2048,
                 batch_size: int = 8, chat_template: str | None = None, device: str | None = None,
                 dtype: Any = None, revision: str | None = None) -> None:
        if pooling not in ("last", "mean"):
            raise ConfigError(f"pooling must be 'last' or 'mean', got {pooling!r}.")
        self.model_name_or_path = str(model_name_or_path)
        self.revision = revision
        self.pooling = pooling
        self.max_length = int(max_length)
        self.batch_size = int(batch_size)
        self.chat_template = chat_template
        self.device = device
        self.dtype = None if dtype is None else str(dtype).replace("torch.", "")
        self.weights_stamp = local_stamp(self.model_name_or_path)
        self._reset_runtime()

    def describe(self) -> dict[str, Any]:
        """The settings that identify the vectors (written to dataset cards)."""
        return {"name": self.model_name_or_path, "revision": self.revision, "kind": "causal-lm",
                "column": "embedding", "pooling": self.pooling, "max_length": self.max_length,
                "text": "conversation rendered with the chat template", "normalized": True}

    def _load(self, device: str, dtype: torch.dtype) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        try:
            tok = AutoTokenizer.from_pretrained(self.model_name_or_path, revision=self.revision)
            model = AutoModelForCausalLM.from_pretrained(self.model_name_or_path, revision=self.revision,
                                                         dtype=dtype).base_model
        except (OSError, ValueError, ImportError) as err:
            raise load_error("causal-LM embedder", self.model_name_or_path, err,
                             ", or use the packaged MiniLM (`--embedder minilm`)") from err
        if self.chat_template is not None:
            tok.chat_template = self.chat_template
        if not getattr(tok, "chat_template", None):
            raise ConfigError(f"The tokenizer of {self.model_name_or_path!r} has no chat template, so "
                             f"CausalLMEmbedder cannot render conversations with it. For a base "
                             f"model use DeitaEmbedder (`--embedder deita:PATH`), which renders "
                             f"FastChat's vicuna_v1.1 template as the paper's Repr filter did; or "
                             f"pass chat_template=..., or use a chat model.")
        self._rt.update(model=model.to(device).eval(), tokenizer=tok, device=device)

    def embed_conversations(
        self, conversations: Sequence[Sequence[Mapping[str, Any]]]
    ) -> list[list[float]]:
        """L2-normalised embeddings, one per conversation (a list of role/content messages)."""
        import torch

        self.load()
        tok, model, device = self._rt["tokenizer"], self._rt["model"], self._rt["device"]
        texts = [tok.apply_chat_template(m, tokenize=False) for m in conversations]
        ids = [tok(t, add_special_tokens=False)["input_ids"] for t in texts]
        n_cut = sum(len(x) > self.max_length for x in ids)
        if n_cut:
            warnings.warn(f"CausalLMEmbedder: {n_cut} of {len(ids)} conversations were longer than "
                          f"max_length={self.max_length} tokens and were cut at the end.", stacklevel=3)
        ids = [x[: self.max_length] for x in ids]
        pad = tok.pad_token_id if tok.pad_token_id is not None else (tok.eos_token_id or 0)

        def forward(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            # right padding: positions start at 0 for every row
            hidden = model(input_ids=x.to(device), attention_mask=mask.to(device)).last_hidden_state
            hidden = hidden.float()
            m = mask.to(hidden.device)
            if self.pooling == "last":
                return hidden[torch.arange(len(x), device=hidden.device), m.sum(-1) - 1]
            return (hidden * m.unsqueeze(-1)).sum(1) / m.sum(-1, keepdim=True)

        return embed_batches(ids, self.batch_size, pad, forward)
