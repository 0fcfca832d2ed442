"""Fixtures of the evaluation tests: scripted model and judge servers on 127.0.0.1, the
reference-output file (real Dolly rows from ``tests/data``); the helpers are in ``eval_helpers.py``.

The tiny LLaMA with a chat template (``tiny_chat_llama``) and the one without
(``tiny_base_llama``) come from ``tests/conftest.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sample_data import DOLLY, read_jsonl


@pytest.fixture(autouse=True)
def _offline():
    assert os.environ.get("HF_HUB_OFFLINE") == "1", "the evaluation tests run with HF_HUB_OFFLINE=1"


@pytest.fixture(scope="session")
def reference_file(tmp_path_factory) -> Path:
    """8 real Dolly rows (instruction/input/output) as a reference model's outputs."""
    path = tmp_path_factory.mktemp("reference") / "reference.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps({**row, "generator": "dolly-human"}) + "\n" for row in read_jsonl(DOLLY, 8))
    return path
