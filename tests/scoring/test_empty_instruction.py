"""Issue 24 (e): a row with an empty or null instruction is an error naming the row, before any
scorer runs (apply_components checks the whole pool first; every scorer's batch check too)."""

from __future__ import annotations

import pytest
from datasets import Dataset
from sample_data import DOLLY, read_jsonl

from deita_hf.components import apply_components
from deita_hf.errors import FormatError
from deita_hf.pipeline import DatasetSelector
from deita_hf.scoring import ComplexityScorer, InstructionLengthScorer, ResponseLengthScorer


def _pool(n: int, bad_row: int, bad_value) -> Dataset:
    rows = [{"instruction": r["instruction"], "input": "", "output": r["output"]}
            for r in read_jsonl(DOLLY, n)]
    rows[bad_row]["instruction"] = bad_value
    return Dataset.from_list(rows)


@pytest.mark.parametrize("bad", ["", "   \n", None])
def test_a_scorer_refuses_an_empty_or_null_instruction(bad):
    ds = _pool(6, 4, bad)
    with pytest.raises(FormatError, match=r"^row 4: the instruction \(user turn 1\) is empty or null"):
        ds.map(InstructionLengthScorer(), batched=True, with_indices=True)
    # the other rows score as before
    ok = ds.select([0, 1, 2, 3, 5]).map(InstructionLengthScorer(), batched=True)
    assert len(ok[InstructionLengthScorer.column]) == 5


def test_every_user_turn_is_checked():
    ds = Dataset.from_dict({"messages": [[
        {"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "4"},
        {"role": "user", "content": "  "}, {"role": "assistant", "content": "?"}]]})
    with pytest.raises(FormatError, match=r"row 0: the instruction \(user turn 2\) is empty"):
        ds.map(InstructionLengthScorer(), batched=True, with_indices=True)


def test_the_whole_pool_is_checked_before_a_model_loads(tmp_path):
    """The bad row is in the last batch; the scorer's model does not exist: the row is named,
    so nothing was loaded or scored first."""
    ds = _pool(40, 37, None)
    scorer = ComplexityScorer(str(tmp_path / "no-such-model"))
    with pytest.raises(FormatError, match=r"^row 37: the instruction"):
        apply_components(ds, [scorer], progress=False, batch_size=8)
    with pytest.raises(FormatError, match=r"^row 137: the instruction"):
        apply_components(ds, [scorer], progress=False, batch_size=8, offset=100)
    selector = DatasetSelector(scorer, ResponseLengthScorer(), None)
    with pytest.raises(FormatError, match=r"^row 37: "):
        selector.score(ds, progress=False, warn=False, roles=("complexity", "quality"),
                       batch_size=8)
