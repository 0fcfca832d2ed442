"""The seeded Rademacher projection: one matrix whatever is cached, regenerated block by
block, sliced or whole; entries ±1/√k; another seed, another matrix."""

import numpy as np
import pytest
import torch

from deita_hf.errors import ConfigError
from deita_hf.scoring.projection import BLOCK_ROWS, RademacherProjector


def test_blocks_regenerated_equal_the_cached_matrix():
    n, k = BLOCK_ROWS * 2 + 37, 16
    cached = RademacherProjector(n, k, seed=3)
    streamed = RademacherProjector(n, k, seed=3, max_cache_bytes=0)
    assert cached._full is not None and streamed._full is None
    full = cached.matrix()
    assert torch.equal(full, streamed.matrix())
    assert set(np.unique(full.numpy() * np.sqrt(k)).tolist()) == {-1.0, 1.0}
    x = torch.randn(3, n, dtype=torch.float64).float()
    whole = streamed.project(x)
    assert torch.allclose(whole, x @ full, atol=1e-4)
    cut = BLOCK_ROWS - 5  # slices across a block boundary add up to the whole
    parts = streamed.project(x[:, :cut]) + streamed.project(x[:, cut:], start=cut)
    assert torch.allclose(parts, whole, atol=1e-4)
    assert not torch.equal(full, RademacherProjector(n, k, seed=4).matrix())
    # a matrix of other length shares its leading blocks: rows are defined by (seed, block)
    assert torch.equal(RademacherProjector(BLOCK_ROWS + 1, k, seed=3).matrix(), full[:BLOCK_ROWS + 1])


def test_inner_products_are_kept_on_average():
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.standard_normal((2, 500)).astype(np.float32))
    proj = RademacherProjector(500, 4096, seed=0).project(x)
    assert float(proj[0] @ proj[1]) == pytest.approx(float(x[0] @ x[1]), abs=3 * 500 / 64)
    assert float(proj[0].norm()) == pytest.approx(float(x[0].norm()), rel=0.1)


def test_bad_arguments():
    with pytest.raises(ConfigError):
        RademacherProjector(0, 8)
    with pytest.raises(ConfigError, match="outside"):
        RademacherProjector(10, 4).project(torch.zeros(1, 5), start=8)
