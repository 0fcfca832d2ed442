"""Fixtures for the recipe tests: a tiny offline LLaMA (no chat template) and real rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from recipe_helpers import SELECTION, short_alpaca_rows


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory, shared_data) -> Path:
    """A random tiny LLaMA + BPE tokenizer trained on real rows, saved WITHOUT a chat template."""
    from deita_hf.testing import build_tiny_llama

    texts = [r["instruction"] + " " + r["output"] for r in short_alpaca_rows(shared_data, 200)]
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"), texts=texts)


@pytest.fixture(scope="session")
def selection_folder(tmp_path_factory, shared_data) -> Path:
    """A small fake ``deita-hf select`` output: data parquet + deita_selection.json + README."""
    out = tmp_path_factory.mktemp("deita-select")
    (out / "data").mkdir()
    short_alpaca_rows(shared_data, 12).to_parquet(str(out / "data" / "train-00000-of-00001.parquet"))
    (out / "deita_selection.json").write_text(json.dumps(SELECTION), encoding="utf-8")
    (out / "README.md").write_text(
        "---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n"
        "    path: data/train-*\n---\n\n# DEITA selection (test)\n", encoding="utf-8")
    return out
