"""What the embedders share: lazy loading on a resolved device and dtype, the ``Dataset.map``
entry point, and the batched forward pass of the causal-LM embedders.

Example:
    >>> import torch
    >>> # a stand-in "model": the vector of a row is (its length, its first token id)
    >>> forward = lambda x, mask: torch.stack([mask.sum(-1), x[:, 0]], dim=-1).float()
    >>> vectors = embed_batches([[3, 4], [5]], batch_size=1, pad=0, forward=forward)
    >>> [[round(v, 4) for v in vec] for vec in vectors]
    [[0.5547, 0.8321], [0.1961, 0.9806]]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from deita_hf.data.formats import messages_from_batch
from deita_hf.runtime import (
    LazyRuntime,
    limit_threads_in_worker,
    resolve_device,
    resolve_dtype_name,
)

if TYPE_CHECKING:
    import torch

__all__ = ["ConversationEmbedder", "embed_batches"]


class ConversationEmbedder(LazyRuntime):
    """Base of the embedders: one vector per conversation, in the column ``embedding``.

    Subclasses set ``device`` and ``dtype`` (settings, pickled) and implement
    :meth:`embed_conversations` and :meth:`_load`; the loaded objects live in ``self._rt``.
    """

    column = "embedding"
    device: str | None
    dtype: str | None

    def _dtype_option(self) -> str | None:
        """The dtype setting :meth:`load` resolves (``None``: the device's default)."""
        return self.dtype

    def _load(self, device: str, dtype: torch.dtype) -> None:
        """Load the model onto ``device`` in ``dtype`` and fill ``self._rt`` (with ``model``)."""
        raise NotImplementedError

    def load(self) -> None:
        """Load the model (once: a no-op when it is loaded)."""
        if "model" in self._rt:
            return
        limit_threads_in_worker()
        import torch

        device = resolve_device(self.device)
        self._load(device, getattr(torch, resolve_dtype_name(self._dtype_option(), device)))

    def embed_conversations(
        self, conversations: Sequence[Sequence[Mapping[str, Any]]]
    ) -> list[list[float]]:
        """L2-normalised embeddings, one per conversation (a list of role/content messages)."""
        raise NotImplementedError

    def __call__(self, batch: dict[str, list], indices: list[int] | None = None) -> dict[str, list]:
        """``{"embedding": [vector per row]}`` for ``Dataset.map(batched=True)``: float32 arrays,
        so the column is stored as float32 (Python floats would make it float64)."""
        import numpy as np

        vectors = self.embed_conversations(messages_from_batch(batch, indices=indices))
        return {"embedding": [np.asarray(v, dtype=np.float32) for v in vectors]}


def embed_batches(
    ids: Sequence[Sequence[int]],
    batch_size: int,
    pad: int,
    forward: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    *,
    padding_side: str = "right",
) -> list[list[float]]:
    """Embed token-id sequences in batches, longest first, and return them in input order.

    Each batch is padded with ``pad`` (on ``padding_side``) into CPU tensors ``input_ids`` and
    ``attention_mask``; ``forward(input_ids, attention_mask)`` returns one vector per row
    (under ``torch.inference_mode``), which is L2-normalised in float32.
    """
    import torch

    order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
    out: list[list[float]] = [[] for _ in ids]
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        width = max(len(ids[i]) for i in chunk)
        x = torch.full((len(chunk), width), pad, dtype=torch.long)
        mask = torch.zeros_like(x)
        for r, i in enumerate(chunk):
            n = len(ids[i])
            cols = slice(width - n, width) if padding_side == "left" else slice(0, n)
            x[r, cols] = torch.tensor(ids[i], dtype=torch.long)
            mask[r, cols] = 1
        with torch.inference_mode():
            vec = torch.nn.functional.normalize(forward(x, mask).float(), dim=-1).cpu()
        for r, i in enumerate(chunk):
            out[i] = vec[r].tolist()
    return out
