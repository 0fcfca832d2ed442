"""Fixtures for the recipe tests: a small fake selection folder of real rows. The tiny base
model (`tiny_base_llama`, no chat template) comes from tests/conftest.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from recipe_helpers import SELECTION
from sample_data import short_dolly_rows


@pytest.fixture(scope="session")
def selection_folder(tmp_path_factory) -> Path:
    """A small fake ``deita-hf select`` output: data parquet + deita_selection.json + README."""
    out = tmp_path_factory.mktemp("deita-select")
    (out / "data").mkdir()
    short_dolly_rows(12).to_parquet(str(out / "data" / "train-00000-of-00001.parquet"))
    (out / "deita_selection.json").write_text(json.dumps(SELECTION), encoding="utf-8")
    (out / "README.md").write_text(
        "---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n"
        "    path: data/train-*\n---\n\n# DEITA selection (test)\n", encoding="utf-8")
    return out
