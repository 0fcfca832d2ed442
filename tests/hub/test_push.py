"""push_selection against a local fake Hub, and load_dataset(repo_id) back through it."""

from __future__ import annotations

import pytest
from datasets import load_dataset
from huggingface_hub import DatasetCard

from deita_hf.hub import MissingTokenError, push_selection


def _parquet_rows(path):
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pylist()


@pytest.fixture(scope="module")
def pushed(folder, run_client):
    """The saved folder pushed once to tester/deita-30: (returncode, result, stderr)."""
    return run_client(["push", str(folder), "tester/deita-30"])


def test_push_then_load_gives_back_rows_columns_and_configs(folder, hub, run_client, tmp_path,
                                                            pushed):
    rc, result, err = pushed
    assert rc == 0, err
    assert result["url"] == f"{hub.url}/datasets/tester/deita-30"  # HF_ENDPOINT's, not huggingface.co
    assert not list(folder.parent.glob(".deita-push-*"))  # the upload_folder staging is gone
    repo = hub.state.repos[("dataset", "tester/deita-30")]
    assert sorted(repo.files) == sorted(
        p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    # parquet and PNG files went through LFS, the card through the regular commit path
    assert repo.files["data/train-00000-of-00001.parquet"]["lfs"] is True
    assert repo.files["README.md"]["lfs"] is False
    card = DatasetCard(repo.files["README.md"]["content"].decode())
    assert 'load_dataset("tester/deita-30", split="train")' in card.text
    assert {c["config_name"] for c in card.data.configs} == {"default", "pool"}

    rc, result, err = run_client(["load", "tester/deita-30", str(tmp_path / "loaded")])
    assert rc == 0, err
    assert result["configs"] == ["default", "pool"]
    for config in ("default", "pool"):
        local = load_dataset(str(folder), config, split="train")
        assert result["features"][config] == local.features.to_dict()
        from_hub = _parquet_rows(tmp_path / "loaded" / f"{config}.parquet")
        assert [list(r) for r in from_hub] == [local.column_names] * len(local)
        assert from_hub == local.to_list()
    assert not hub.state.unhandled


def test_existing_repo_is_not_overwritten_without_the_flag(folder, hub, run_client, tmp_path,
                                                           selection):
    from deita_hf.hub import save_selection

    rc, _, err = run_client(["push", str(folder), "tester/keep-me"])
    assert rc == 0, err
    before = dict(hub.state.repos[("dataset", "tester/keep-me")].files)
    rc, result, _ = run_client(["push", str(folder), "tester/keep-me"])
    assert rc == 1
    assert result["type"] == "RepoNotEmptyError"
    assert "'tester/keep-me'" in result["message"] and "overwrite=True" in result["message"]
    assert hub.state.repos[("dataset", "tester/keep-me")].files == before

    # with overwrite: a smaller selection without the pool replaces data/ and drops pool/
    selected, settings = selection
    small = save_selection(selected.select(range(7)), tmp_path / "small", settings=settings)
    rc, _, err = run_client(["push", str(small), "tester/keep-me", "--overwrite"])
    assert rc == 0, err
    files = hub.state.repos[("dataset", "tester/keep-me")].files
    assert not any(p.startswith("pool/") for p in files)
    rc, result, err = run_client(["load", "tester/keep-me", str(tmp_path / "loaded")])
    assert rc == 0, err
    assert result["configs"] == ["default"]
    rows = _parquet_rows(tmp_path / "loaded" / "default.parquet")
    assert rows == selected.select(range(7)).to_list()


def test_missing_token_gives_a_clear_error(folder, hub, monkeypatch, tmp_path):
    # no HF_TOKEN and no token file (the CLI test checks the same through a subprocess)
    import huggingface_hub.constants as hub_constants

    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(hub_constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    monkeypatch.setattr(hub_constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "no-tokens"))
    with pytest.raises(MissingTokenError, match="No Hugging Face token found"):
        push_selection(folder, "tester/no-token")
    assert ("dataset", "tester/no-token") not in hub.state.repos


def test_offline_mode_names_the_variable_that_is_set(folder, monkeypatch):
    import huggingface_hub.constants as hub_constants

    from deita_hf.errors import PublishError

    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    with pytest.raises(PublishError, match=r"^HF_HUB_OFFLINE=1 is set \(huggingface_hub then"):
        push_selection(folder, "tester/offline", token="x")
    # TRANSFORMERS_OFFLINE alone makes huggingface_hub offline too: the message names it
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    with pytest.raises(PublishError) as err:
        push_selection(folder, "tester/offline", token="x")
    assert str(err.value).startswith("TRANSFORMERS_OFFLINE=1 is set")
    assert "HF_HUB_OFFLINE=1" not in str(err.value) and "HF_HUB_OFFLINE=0 deita-hf" in str(err.value)
    # both set: both named (unsetting one would leave it offline)
    monkeypatch.setenv("HF_HUB_OFFLINE", "true")
    with pytest.raises(PublishError, match="HF_HUB_OFFLINE=true and TRANSFORMERS_OFFLINE=1 are set"):
        push_selection(folder, "tester/offline", token="x")
    # imported offline, variables gone since: still a clear message
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE")
    with pytest.raises(PublishError, match="imported in offline mode"):
        push_selection(folder, "tester/offline", token="x")


def test_private_repo_needs_the_token(folder, hub, run_client, tmp_path):
    rc, _, err = run_client(["push", str(folder), "tester/secret", "--private"])
    assert rc == 0, err
    assert hub.state.repos[("dataset", "tester/secret")].private is True
    rc, _, _ = run_client(["load", "tester/secret", str(tmp_path / "a")], token="hf_wrong")
    assert rc == 1
    rc, _, err = run_client(["load", "tester/secret", str(tmp_path / "b")])
    assert rc == 0, err


def test_fake_hub_resolve_serves_byte_ranges(folder, hub, pushed):
    """The server's resolve endpoint answers Range requests as the Hub does (206 + slice)."""
    import urllib.request

    assert pushed[0] == 0, pushed[2]
    local = (folder / "data" / "train-00000-of-00001.parquet").read_bytes()
    url = f"{hub.url}/datasets/tester/deita-30/resolve/main/data/train-00000-of-00001.parquet"
    for header, expected in (("bytes=0-7", local[:8]), ("bytes=-8", local[-8:]),
                             ("bytes=100-", local[100:])):
        req = urllib.request.Request(url, headers={"Range": header})
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 206
            assert resp.read() == expected
