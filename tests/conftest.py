"""Project-wide test set-up: offline Hub, calm OpenMP, and the shared real data."""

import os

# Set before any test module imports huggingface_hub / torch.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``: real public instruction data (see its README for licences)."""
    assert SHARED_DATA.is_dir(), f"real test data expected at {SHARED_DATA}"
    return SHARED_DATA
