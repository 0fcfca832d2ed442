"""Helpers shared by the recipe tests (fixtures live in conftest.py)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def short_alpaca_rows(shared_data: Path, n: int, max_chars: int = 200):
    """The first ``n`` real Alpaca rows short enough to fit a 192-token window."""
    from deita_hf.io import load_pool

    ds = load_pool(shared_data / "alpaca" / "alpaca_random_9k.jsonl.gz")
    ds = ds.filter(lambda r: len(r["instruction"]) + len(r["input"]) + len(r["output"]) < max_chars)
    return ds.select(range(n))


SELECTION = {
    "budget": 12, "threshold": 0.9, "pool_size": 9000, "examined": 15, "kept": 12,
    "scorers": {"complexity": {"name": "instruction-length", "revision": None,
                               "kind": "length-baseline"},
                "quality": {"name": "response-length", "revision": None,
                            "kind": "length-baseline"},
                "embedder": {"name": "all-MiniLM-L6-v2", "revision": "c9745ed1",
                             "kind": "sentence-transformers"}},
    "deita_hf_version": "0.1.0", "input": "alpaca_random_9k.jsonl.gz",
}
