"""Helpers shared by the scorer-training tests (importable as ``scorer_helpers``)."""

from __future__ import annotations

import json
from pathlib import Path


def released_row(prompt: str, score) -> dict:
    """One row in exactly the form of hkust-nlp/deita-*-scorer-data."""
    return {"conversations": [{"from": "human", "value": prompt}, {"from": "gpt", "value": score}]}


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(row) + "\n" for row in rows)
    return path
