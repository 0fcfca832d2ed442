"""Fixtures for the publishing tests: a scored pool of real rows, a selection, a saved
folder, the fake Hub server and a way to run Hub clients against it in a subprocess."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from pub_fixtures import hub, run_client  # noqa: E402,F401  (fixtures)
from pub_inputs import build_pool, build_selection, score  # noqa: E402


@pytest.fixture(scope="session")
def pool(shared_data):
    """200 real Alpaca/Dolly rows with a ``source`` column and length-based scores."""
    return build_pool(shared_data)


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
    from deita_hf.publishing import save_selection

    selected, settings = selection
    return save_selection(selected, tmp_path_factory.mktemp("pub") / "deita-30",
                          settings=settings, pool=scored_pool, include_pool=True,
                          license="cc-by-nc-4.0", tags=["test"])
