"""Fixtures for the scoring tests: a tiny LLaMA built offline, real Alpaca rows."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")


import gzip
import json
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def read_jsonl(rel: str, n: int) -> list[dict]:
    path = DATA / rel
    opener = gzip.open if path.suffix == ".gz" else open
    rows = []
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            rows.append(json.loads(line))
            if len(rows) == n:
                break
    return rows


@pytest.fixture(scope="session")
def alpaca_rows() -> list[dict]:
    return read_jsonl("alpaca/alpaca_random_9k.jsonl.gz", 24)


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory, alpaca_rows) -> str:
    """A tiny random LLaMA whose LM head is scaled up so scores spread over 1..6."""
    import torch
    from transformers import AutoModelForCausalLM

    from deita_hf.testing import VICUNA_STYLE_TEMPLATE, build_tiny_llama

    texts = [r["instruction"] + " " + r["output"] for r in alpaca_rows]
    path = build_tiny_llama(tmp_path_factory.mktemp("tiny") / "llama", texts=texts,
                            chat_template=VICUNA_STYLE_TEMPLATE)
    model = AutoModelForCausalLM.from_pretrained(path)
    with torch.no_grad():
        model.lm_head.weight.mul_(40.0)
    model.save_pretrained(path)
    return str(path)


@pytest.fixture(scope="session")
def multi_turn_rows() -> list[dict]:
    """Real ShareGPT-format conversations (two turns in the first)."""
    return read_jsonl("sharegpt/fastchat_dummy_conversation.jsonl", 4)


@pytest.fixture(scope="session")
def pool_file(tmp_path_factory, alpaca_rows) -> str:
    """20 real Alpaca rows as a JSON Lines file."""
    path = tmp_path_factory.mktemp("pool") / "pool.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        for row in alpaca_rows[:20]:
            fh.write(json.dumps(row) + "\n")
    return str(path)
