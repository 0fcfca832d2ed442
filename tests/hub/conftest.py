"""Fixtures for the publishing tests: a scored pool of real rows, a selection and a saved
folder. The fake Hub (`hub`, `run_client`) comes from tests/conftest.py."""

from __future__ import annotations

import pytest
from sample_data import build_pool, build_selection, score


@pytest.fixture(scope="session")
def pool():
    """200 real rows (180 Dolly, 20 MT-Bench) with a ``source`` column and length-based scores."""
    return build_pool()


@pytest.fixture(scope="session")
def scored_pool(pool):
    """The pool with its ``deita_score`` column."""
    return pool.add_column("deita_score", score(pool))


@pytest.fixture(scope="session")
def selection(pool):
    """(selected, settings): the 30 best-scored rows, as select_deita returns them."""
    return build_selection(pool, budget=30)


@pytest.fixture(scope="session")
def folder(tmp_path_factory, selection, scored_pool):
    """A folder written by save_selection, with the pool config."""
    from deita_hf.hub import save_selection

    selected, settings = selection
    return save_selection(selected, tmp_path_factory.mktemp("pub") / "deita-30",
                          settings=settings, pool=scored_pool, include_pool=True,
                          license="cc-by-sa-3.0", tags=["test"])
