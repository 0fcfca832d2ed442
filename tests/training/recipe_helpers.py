"""Constants shared by the recipe tests (fixtures live in conftest.py; real rows come from
sample_data.short_dolly_rows)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

SELECTION = {
    "budget": 12, "threshold": 0.9, "pool_size": 300, "examined": 15, "kept": 12,
    "scorers": {"complexity": {"name": "instruction-length", "revision": None,
                               "kind": "length-baseline"},
                "quality": {"name": "response-length", "revision": None,
                            "kind": "length-baseline"},
                "embedder": {"name": "all-MiniLM-L6-v2", "revision": "c9745ed1",
                             "kind": "sentence-transformers"}},
    "deita_hf_version": "0.1.0", "input": "dolly_alpagasus_300.jsonl",
}
