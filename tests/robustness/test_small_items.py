"""Issue 13 #9 (the smaller items not in test_threshold_and_vectors.py): unbatched ``map`` of a
scorer, a CUDA device this machine lacks, a scorer path that does not exist."""

from __future__ import annotations

import pytest
from datasets import Dataset

from deita_hf.errors import ConfigError, ModelLoadError
from deita_hf.scoring import (
    ComplexityScorer,
    InstructionLengthScorer,
    QualityScorer,
    ResponseLengthScorer,
)

ROWS = {
    "alpaca": {"instruction": ["Say hi", "Why?"], "output": ["hi", "Because."]},
    "messages": {"messages": [[{"role": "user", "content": "a"},
                               {"role": "assistant", "content": "bb"}]] * 2},
    "sharegpt": {"conversations": [[{"from": "human", "value": "a"},
                                    {"from": "gpt", "value": "bb"}]] * 2},
    "prompt_completion": {"prompt": ["p", "q"], "completion": ["c", "d"]},
    "conversational prompt": {"prompt": [[{"role": "user", "content": "p"}]] * 2,
                              "completion": [[{"role": "assistant", "content": "c"}]] * 2},
}


@pytest.mark.parametrize("fmt", list(ROWS))
@pytest.mark.parametrize("scorer", [InstructionLengthScorer(), ResponseLengthScorer(),
                                    ComplexityScorer("/no/such/scorer"),
                                    QualityScorer("/no/such/scorer")],
                         ids=["instruction-length", "response-length", "complexity", "quality"])
def test_unbatched_map_says_batched_true(fmt, scorer):
    """``ds.map(scorer)`` passes one row: a clear error (no IndexError, no score per character,
    no model load), and the batched call still works."""
    ds = Dataset.from_dict(ROWS[fmt])
    for kwargs in ({}, {"with_indices": True}):
        with pytest.raises(ConfigError, match=r"batched=True"):
            ds.map(scorer, load_from_cache_file=False, **kwargs)
    if isinstance(scorer, (InstructionLengthScorer, ResponseLengthScorer)):
        out = ds.map(scorer, batched=True, load_from_cache_file=False)
        assert all(len(v) == 1 and v[0] > 0 for v in out[scorer.column])


def test_batched_struct_columns_are_not_mistaken_for_one_row():
    ds = Dataset.from_dict({"instruction": ["a", "bb"], "output": ["x", "yy"],
                            "meta": [{"k": 1}, {"k": 2}]})
    out = ds.map(ResponseLengthScorer(), batched=True, with_indices=True,
                 load_from_cache_file=False)
    assert out["quality"][:] == [[1.0], [2.0]]


def test_missing_scorer_path_is_a_missing_path():
    with pytest.raises(ModelLoadError) as err:
        ComplexityScorer("/no/such/scorer")({"instruction": ["a"], "output": ["b"]})
    assert "a local path that does not exist" in str(err.value)
    assert "(a Hub id)" not in str(err.value)


def test_cuda_device_this_machine_lacks_is_a_config_error():
    import torch

    from deita_hf.runtime import torch_device
    from deita_hf.selection import select_deita

    if torch.cuda.device_count() > 7:
        pytest.skip("this machine has a cuda:7")
    ds = Dataset.from_dict({"s": [1.0, 2.0], "embedding": [[1.0, 0.0], [0.0, 1.0]]})
    with pytest.raises(ConfigError, match="cuda:7"):
        select_deita(ds, 1, score_column="s", device="cuda:7", progress=False)
    with pytest.raises(ConfigError, match="cuda:7"):
        torch_device("cuda:7")


def test_model_scorer_with_a_missing_cuda_device_is_a_config_error():
    import torch

    if torch.cuda.device_count() > 7:
        pytest.skip("this machine has a cuda:7")
    with pytest.raises(ConfigError, match="cuda:7"):
        ComplexityScorer("/no/such/scorer", device="cuda:7")({"instruction": ["a"],
                                                              "output": ["b"]})
