"""Unit vectors of plain strings from any embedder (label graphs, decontamination by cosine).

The selection layer does not build models: it takes an embedder object and calls what it has.
In order: ``embed_texts(texts)`` (:class:`~deita_hf.embedding.SentenceEmbedder`), else
``embed_conversations([[{"role": "user", "content": text}], ...])`` (every deita_hf embedder:
each string as a one-message conversation, rendered as the embedder renders a user turn), else
the object itself called on the list of strings (e.g. a ``SentenceTransformer.encode``).

Example:
    >>> embed_strings(lambda texts: [[len(t), 1.0] for t in texts], ["abc", ""]).round(3).tolist()
    [[0.949, 0.316], [0.0, 1.0]]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from tqdm.auto import trange

from deita_hf.errors import ConfigError, SelectionError

__all__ = ["describe_embedder", "embed_strings"]


def describe_embedder(embedder: Any) -> dict[str, Any] | str:
    """The embedder's ``describe()`` (for settings and cards), else its type name."""
    try:
        return dict(embedder.describe())
    except (AttributeError, TypeError):
        return getattr(embedder, "__name__", type(embedder).__name__)


def _call(embedder: Any, texts: list[str]) -> Any:
    if hasattr(embedder, "embed_texts"):
        return embedder.embed_texts(texts)
    if hasattr(embedder, "embed_conversations"):
        return embedder.embed_conversations([[{"role": "user", "content": t}] for t in texts])
    if callable(embedder):
        return embedder(texts)
    raise ConfigError(f"{type(embedder).__name__} cannot embed text: pass an embedder "
                      f"(deita_hf.build_component('embedding', 'minilm'), a SentenceEmbedder, "
                      f"...) or a function from a list of strings to vectors.")


def embed_strings(embedder: Any, texts: Sequence[str], *, what: str = "text",
                  batch_size: int = 256, progress: bool = False) -> np.ndarray:
    """L2-normalised float64 vectors of ``texts``, one row each.

    Args:
        embedder: see the module docstring.
        texts: the strings.
        what: what the strings are, for messages (``"tag"``, ``"benchmark prompt"``).
        batch_size: strings per call.
        progress: show a progress bar over the batches.

    Returns:
        An array of shape ``(len(texts), dim)`` (``(0, 0)`` for no texts).

    Raises:
        ConfigError: the embedder cannot embed text.
        SelectionError: a vector that is not finite, zero, or of another dimension (names the
            string).
    """
    if isinstance(embedder, str):
        raise ConfigError(f"An embedder object is needed, got the string {embedder!r}: build "
                          f"one with deita_hf.build_component('embedding', {embedder!r}).")
    texts = list(texts)
    if not texts:
        return np.zeros((0, 0))
    parts = []
    for lo in trange(0, len(texts), batch_size, desc=f"embedding {what}s", unit="batch",
                     disable=not progress):
        chunk = texts[lo: lo + batch_size]
        try:
            vectors = np.asarray(_call(embedder, chunk), dtype=np.float64)
        except ValueError as err:  # ragged output
            raise SelectionError(f"The embedder returned vectors of different lengths for "
                                 f"{what}s {lo}..{lo + len(chunk) - 1}: {err}") from err
        if vectors.ndim != 2 or len(vectors) != len(chunk):
            raise SelectionError(f"The embedder returned an array of shape {vectors.shape} for "
                                 f"{len(chunk)} {what}s; expected one vector per {what}.")
        parts.append(vectors)
    dims = {p.shape[1] for p in parts}
    if len(dims) > 1:
        raise SelectionError(f"The embedder returned vectors of dimensions {sorted(dims)}.")
    x = np.concatenate(parts)
    norms = np.linalg.norm(x, axis=1)
    bad = np.flatnonzero(~np.isfinite(norms) | (norms == 0))
    if len(bad):
        raise SelectionError(f"The {what} {texts[int(bad[0])]!r} got a zero or non-finite "
                             f"vector from the embedder; cosine similarity needs a non-zero "
                             f"vector.")
    return x / norms[:, None]
