import gzip
import json

import pytest
from datasets import Dataset, DatasetDict

from deita_hf.data.loading import load_pool
from deita_hf.errors import InputError

ROWS = {"instruction": ["a", "b", "c"], "output": ["x", "y", "z"]}


def test_json_jsonl_gz_parquet(tmp_path, test_data):
    ds = Dataset.from_dict(ROWS)
    ds.to_json(tmp_path / "p.jsonl")
    ds.to_parquet(tmp_path / "p.parquet")
    (tmp_path / "p.json").write_text(json.dumps([dict(zip(ROWS, v)) for v in zip(*ROWS.values())]))
    for name in ("p.jsonl", "p.parquet", "p.json"):
        assert load_pool(tmp_path / name)["instruction"][:] == ROWS["instruction"]
    gz_path = tmp_path / "dolly.jsonl.gz"  # real rows, gzipped as the big public files are
    gz_path.write_bytes(gzip.compress((test_data / "dolly_alpagasus_300.jsonl").read_bytes()))
    gz = load_pool(gz_path)
    assert len(gz) == 300


def test_save_to_disk_folders(tmp_path):
    Dataset.from_dict(ROWS).save_to_disk(tmp_path / "ds")
    assert len(load_pool(tmp_path / "ds")) == 3
    DatasetDict({"train": Dataset.from_dict(ROWS)}).save_to_disk(tmp_path / "dd")
    assert len(load_pool(tmp_path / "dd")) == 3
    with pytest.raises(ValueError, match="splits \\['train'\\], not 'test'"):
        load_pool(tmp_path / "dd", split="test")


def test_hub_layout_folder(tmp_path):
    (tmp_path / "data").mkdir()
    Dataset.from_dict(ROWS).to_parquet(tmp_path / "data" / "train-00000-of-00001.parquet")
    assert load_pool(tmp_path)["output"][:] == ROWS["output"]


def test_bad_sources(tmp_path):
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(ValueError, match="unknown file type"):
        load_pool(tmp_path / "x.txt")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_pool(tmp_path / "missing.jsonl")
    with pytest.raises(FileNotFoundError):
        load_pool("./nowhere/at/all")


def test_hub_id_offline_error_is_clear():
    with pytest.raises(InputError, match="as a Hub dataset id"):
        load_pool("someone/does-not-exist-deita")
