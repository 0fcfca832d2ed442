"""Builders shared by the selection-strategy tests: seeded clustered embeddings and pools."""

from __future__ import annotations

import numpy as np
import pytest
from datasets import Dataset


def clustered_data(n: int, dim: int, n_clusters: int, seed: int, noise: float = 0.3,
                   n_scores: int = 5, duplicates: int = 0):
    """Gaussian clusters (float32) and integer-valued scores with many ties; the last
    ``duplicates`` rows copy earlier rows exactly (exact distance and score ties)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_clusters, dim))
    emb = centres[rng.integers(0, n_clusters, n)] + noise * rng.standard_normal((n, dim))
    emb = emb.astype(np.float32)
    scores = rng.integers(0, n_scores, n).astype(float)
    if duplicates:
        src = rng.choice(n - duplicates, duplicates, replace=False)
        emb[n - duplicates:] = emb[src]
        scores[n - duplicates:] = scores[src]
    return emb, scores


def make_pool(emb, scores=None, **extra) -> Dataset:
    """A Dataset with ``embedding``, ``idx`` (the row index), optional ``score`` and extras."""
    cols = {"embedding": np.asarray(emb).tolist(), "idx": list(range(len(emb)))}
    if scores is not None:
        cols["score"] = list(map(float, scores))
    return Dataset.from_dict({**cols, **extra})


@pytest.fixture
def clustered():
    return clustered_data


@pytest.fixture
def pool():
    return make_pool
