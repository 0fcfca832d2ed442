"""RandomScorer: a uniform number per row that depends only on (seed, row index)."""

import pickle
import statistics

import pytest
from datasets import Dataset

from deita_hf.components import apply_components
from deita_hf.errors import ConfigError
from deita_hf.scoring import RandomScorer


def test_stable_across_batches_shards_and_pickling():
    ds = Dataset.from_dict({"instruction": [f"q{i}" for i in range(200)], "output": ["a"] * 200})
    whole = apply_components(ds, [RandomScorer(3)], progress=False, batch_size=7)["random"][:]
    other = ds.map(pickle.loads(pickle.dumps(RandomScorer(3))), batched=True, with_indices=True,
                   batch_size=64)["random"][:]
    shard = apply_components(ds.select(range(150, 200)), [RandomScorer(3)], progress=False, offset=150)
    assert whole == other and shard["random"][:] == whole[150:]
    assert whole != ds.map(RandomScorer(4), batched=True, with_indices=True)["random"][:]
    assert all(0.0 <= v < 1.0 for v in whole) and abs(statistics.mean(whole) - 0.5) < 0.08


def test_needs_indices_and_an_integer_seed():
    with pytest.raises(ConfigError, match="with_indices=True"):
        RandomScorer(0)({"instruction": ["a"], "output": ["b"]})
    with pytest.raises(ConfigError, match="integer"):
        RandomScorer("1")


def test_one_row_at_a_time_is_refused():
    ds = Dataset.from_dict({"instruction": ["a"], "output": ["b"]})
    with pytest.raises(ConfigError, match="batched=True"):
        ds.map(RandomScorer(0), with_indices=True)
