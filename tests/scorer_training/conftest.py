"""Fixtures of the scorer-training tests: scorer rows built by hand in the released forms.

The tiny base model (`tiny_base_llama`, a random LLaMA whose BPE tokenizer has "1".."6" as
single tokens) comes from tests/conftest.py; real instructions from tests/data (Dolly).
"""

from __future__ import annotations

import pytest
from sample_data import DOLLY, read_jsonl
from scorer_helpers import released_row

from deita_hf.scoring.prompts import COMPLEXITY_TEMPLATE, QUALITY_TEMPLATE


@pytest.fixture(scope="session")
def short_dolly() -> list[dict]:
    """Real Dolly rows short enough for a 256-token window."""
    rows = [r for r in read_jsonl(DOLLY) if len(r["instruction"]) + len(r["output"]) < 300]
    assert len(rows) >= 24
    return rows[:24]


@pytest.fixture(scope="session")
def released_complexity_rows(short_dolly) -> list[dict]:
    """Five complexity-scorer rows in the released ShareGPT form (scores as text, as released)."""
    return [released_row(COMPLEXITY_TEMPLATE.format(instruction=r["instruction"]), str(s))
            for r, s in zip(short_dolly[:5], (1, 3, 6, 2, 5))]


@pytest.fixture(scope="session")
def released_quality_rows(short_dolly) -> list[dict]:
    """Quality-scorer rows in the released ShareGPT form."""
    return [released_row(QUALITY_TEMPLATE.format(instruction=r["instruction"], output=r["output"]),
                         str(1 + i % 6)) for i, r in enumerate(short_dolly[:6])]
