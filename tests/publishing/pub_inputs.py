"""Selection inputs for the publishing tests, built from real Alpaca and Dolly rows.

Scores are length-based (longer instruction: more complex; longer answer: better), embeddings
random unit vectors; the "selection" takes the best-scored rows in order, as select_deita would
with no similarity threshold, and records each kept row's highest similarity to earlier ones.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
from datasets import Dataset

DIM = 8


def _read(path: Path, n: int) -> list[dict]:
    rows = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            rows.append(json.loads(line))
            if len(rows) == n:
                break
    return rows


def build_pool(shared_data: Path, n_alpaca: int = 120, n_dolly: int = 80, seed: int = 0) -> Dataset:
    """A scored pool: alpaca-format rows with a ``source`` column and DEITA score columns."""
    rows = [dict(r, source="alpaca") for r in
            _read(shared_data / "alpaca" / "alpaca_random_9k.jsonl.gz", n_alpaca)]
    rows += [dict(r, source="dolly") for r in
             _read(shared_data / "dolly" / "dolly_alpagasus_3k.jsonl.gz", n_dolly)]
    rng = np.random.default_rng(seed)
    emb = rng.normal(size=(len(rows), DIM))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    data = {
        "instruction": [r["instruction"] for r in rows],
        "input": [r.get("input", "") for r in rows],
        "output": [r["output"] for r in rows],
        "source": [r["source"] for r in rows],
        "complexity": [[min(6.0, 1.0 + len(r["instruction"]) / 40)] for r in rows],
        "quality": [[min(6.0, 1.0 + len(r["output"]) / 150)] for r in rows],
        "embedding": emb.astype(np.float32).tolist(),
    }
    return Dataset.from_dict(data)


def score(pool: Dataset) -> list[float]:
    """Σ over turns of complexity × quality (the DEITA score) for every pool row."""
    return [float(sum(c * q for c, q in zip(cs, qs)))
            for cs, qs in zip(pool["complexity"], pool["quality"])]


def build_selection(pool: Dataset, budget: int = 30) -> tuple[Dataset, dict]:
    """The ``budget`` best rows with deita_score/deita_rank, and the settings dict."""
    scores = score(pool)
    order = sorted(range(len(pool)), key=lambda i: -scores[i])[:budget]
    selected = pool.select(order)
    selected = selected.add_column("deita_score", [scores[i] for i in order])
    selected = selected.add_column("deita_rank", list(range(len(order))))
    emb = np.asarray(selected["embedding"], dtype=np.float64)
    sims = [None] + [float((emb[:k] @ emb[k]).max()) for k in range(1, len(order))]
    settings = {
        "deita_hf_version": "0.1.0",
        "created_at": "2026-11-21T07:00:00Z",
        "input": "tests/alpaca+dolly",
        "budget": budget,
        "threshold": 0.9,
        "pool_size": len(pool),
        "examined": len(order),
        "kept": len(order),
        "seconds": 0.5,
        "device": "cpu",
        "embedding_column": "embedding",
        "complexity_column": "complexity",
        "quality_column": "quality",
        "score_column": "deita_score",
        "max_similarity": sims,
        "scorers": {
            "complexity": {"name": "hkust-nlp/deita-complexity-scorer", "revision": "abc123",
                           "kind": "causal-lm"},
            "quality": {"name": "hkust-nlp/deita-quality-scorer", "revision": "def456",
                        "kind": "causal-lm"},
            "embedder": {"name": "all-MiniLM-L6-v2", "revision": "v1",
                         "kind": "sentence-transformers"},
        },
    }
    return selected, settings
