"""`deita-hf publish DIR --repo-id ...` against the fake Hub (helpers.hub_server;
the `hub` and `run_client` fixtures come from tests/conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path

from sample_data import build_pool, build_selection


def _plain_select_output(root: Path) -> Path:
    pool = build_pool(n_dolly=30, n_mt_bench=20)
    selected, settings = build_selection(pool, budget=12)
    (root / "data").mkdir(parents=True)
    selected.to_parquet(str(root / "data" / "train-00000-of-00001.parquet"))
    (root / "deita_selection.json").write_text(json.dumps(settings))
    return root


def test_publish_plain_select_output(tmp_path, hub, run_client):
    folder = _plain_select_output(tmp_path / "plain")
    rc, out, err = run_client(["publish", str(folder), "--repo-id", "tester/cli-12"], cli=True)
    assert rc == 0, err
    assert "Published" in out and "/datasets/tester/cli-12" in out
    # the card and figures were generated first, and uploaded
    assert (folder / "README.md").is_file() and (folder / "figures" / "scores.png").is_file()
    files = hub.state.repos[("dataset", "tester/cli-12")].files
    assert {"README.md", "deita_selection.json", "data/train-00000-of-00001.parquet",
            "figures/scores.png"} <= set(files)

    rc, _, err = run_client(["publish", str(folder), "--repo-id", "tester/cli-12"], cli=True)
    assert rc == 2  # an expected error: one message, exit code 2
    assert "tester/cli-12" in err and "--overwrite" in err
    rc, _, err = run_client(["publish", str(folder), "--repo-id", "tester/cli-12",
                             "--overwrite"], cli=True)
    assert rc == 0, err


def test_publish_without_token(tmp_path, hub, run_client):
    folder = _plain_select_output(tmp_path / "plain")
    rc, _, err = run_client(["publish", str(folder), "--repo-id", "tester/cli-none"], cli=True,
                            token=None)
    assert rc == 2
    assert "No Hugging Face token found" in err and "HF_TOKEN" in err
    assert ("dataset", "tester/cli-none") not in hub.state.repos
