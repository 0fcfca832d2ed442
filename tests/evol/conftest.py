"""Fixtures of the EVOL / rank tests: 50 real Dolly seed rows, a tiny offline LLaMA, and
scripted OpenAI-compatible servers that act as a rewriter and as a judge.

The scripted rewriter appends `` EVOLVED`` to the text it is asked to evolve (the last
``<<< ... >>>`` block of the prompt), so a variant of round r carries r markers; the scripted
judge scores each shown variant ``1 + its marker count``, so a correct mapping back from the
shuffled positions gives ``score == round + 1``. Those responders and the chain rebuilder are in ``evol_helpers.py``
(imported by name: a module called ``conftest`` is not unique across test folders).
"""

import json

import pytest
from evol_helpers import N_SEEDS
from sample_data import DOLLY, read_jsonl


@pytest.fixture(scope="session")
def seed_rows_50():
    """The first 50 real Dolly rows (Alpaca-style instruction/input/output)."""
    return read_jsonl(DOLLY, N_SEEDS)


@pytest.fixture(scope="session")
def seeds_file(seed_rows_50, tmp_path_factory):
    path = tmp_path_factory.mktemp("seeds") / "seeds.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in seed_rows_50), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="session")
def evol_llama(seed_rows_50, tmp_path_factory):
    from deita_hf.testing import VICUNA_STYLE_TEMPLATE, build_tiny_llama

    texts = [r["instruction"] + " " + r["output"] for r in seed_rows_50]
    return str(build_tiny_llama(tmp_path_factory.mktemp("tiny") / "llama", texts=texts,
                                chat_template=VICUNA_STYLE_TEMPLATE))
