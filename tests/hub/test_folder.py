from datasets import Dataset, load_dataset

from deita_hf.data.loading import load_pool
from deita_hf.folder.writer import DATA_DIR, config_info, write_parquet, write_readme


def _write(root, rows):
    write_parquet(Dataset.from_dict(rows), root / DATA_DIR)
    write_readme(root, "# test\n", tags=["deita"])


def test_rewritten_folder_loads_its_new_rows_not_the_cached_ones(tmp_path):
    root = tmp_path / "scored"
    _write(root, {"text": ["a", "b", "c"], "score": [1.0, 2.0, 3.0]})
    assert load_dataset(str(root), split="train")["text"][:] == ["a", "b", "c"]
    # same folder name, same schema and row count, other values
    _write(root, {"text": ["xx", "yy", "zz"], "score": [7.0, 8.0, 9.0]})
    assert load_dataset(str(root), split="train")["text"][:] == ["xx", "yy", "zz"]
    assert load_pool(root)["score"][:] == [7.0, 8.0, 9.0]


def test_write_parquet_replaces_stale_shards(tmp_path):
    folder = tmp_path / DATA_DIR
    big = Dataset.from_dict({"x": list(range(1000))})
    assert write_parquet(big, folder, max_shard_bytes=2000) > 1
    assert write_parquet(Dataset.from_dict({"x": [5]}), folder) == 1
    assert [p.name for p in folder.glob("*.parquet")] == ["train-00000-of-00001.parquet"]


def test_config_info_describes_the_written_files(tmp_path):
    ds = Dataset.from_dict({"text": ["a", "bb"], "vec": [[1.0, 2.0], [3.0, 4.0]]})
    write_parquet(ds, tmp_path)
    info = config_info(tmp_path)
    assert info.features == ds.features
    assert info.splits["train"].num_examples == 2
    assert info.download_size == (tmp_path / "train-00000-of-00001.parquet").stat().st_size
