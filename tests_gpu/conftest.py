"""Fixtures of the GPU suite: real Alpaca rows (``../shared/data``, next to the checkout) and a
tiny LLaMA trained on them, built offline (shapes vLLM accepts)."""

import gzip
import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="module")
def rows():
    """300 real Alpaca rows."""
    with gzip.open(DATA / "alpaca" / "alpaca_random_9k.jsonl.gz", "rt") as f:
        return [json.loads(next(f)) for _ in range(300)]


@pytest.fixture(scope="module")
def tiny_llama(rows, tmp_path_factory):
    """A tiny LLaMA (hidden 128, 4 heads) with a tokenizer trained on ``rows``."""
    from deita_hf.testing import build_tiny_llama

    texts = [r["instruction"] + " " + r["output"] for r in rows]
    return str(build_tiny_llama(tmp_path_factory.mktemp("tiny"), texts=texts, hidden_size=128,
                                num_attention_heads=4, intermediate_size=256))
