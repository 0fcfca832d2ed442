"""select_deita on real `datasets` objects: columns, method, storage layouts, stats."""

import json

import numpy as np
import pytest
from datasets import (
    ClassLabel,
    Dataset,
    List,
    Value,
    concatenate_datasets,
    load_from_disk,
)

import deita_hf  # noqa: F401  (attaches Dataset.select_deita)
from deita_hf.selection import SelectionStats, select_deita


def make_pool(n=120, dim=12, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((15, dim))
    emb = centers[rng.integers(0, 15, n)] + 0.2 * rng.standard_normal((n, dim))
    return Dataset.from_dict({
        "id": list(range(n)),
        "text": [f"row {i}" for i in range(n)],
        "label": [i % 3 for i in range(n)],
        "meta": [{"source": "s", "n": i} for i in range(n)],
        "complexity": rng.uniform(1, 6, n).tolist(),
        "quality": rng.uniform(1, 6, n).tolist(),
        "embedding": emb.astype(np.float32).tolist(),
    }).cast_column("label", ClassLabel(names=["a", "b", "c"]))


@pytest.fixture(scope="module")
def ds():
    return make_pool()


def ids(out):
    return out["id"][:]


def test_original_columns_and_features_preserved(ds):
    out = ds.select_deita(10, progress=False)
    assert out.column_names == ds.column_names + ["deita_score", "deita_rank"]
    assert out.features["label"] == ds.features["label"]
    for r in out:
        src = ds[r["id"]]
        assert {k: r[k] for k in ds.column_names} == src
        assert r["deita_score"] == pytest.approx(src["complexity"] * src["quality"])
    assert out.features["deita_score"] == Value("float64")
    assert out.features["deita_rank"] == Value("int64")
    assert out["deita_score"][:] == sorted(out["deita_score"][:], reverse=True)


def test_method_survives_map_filter_select_shuffle(ds):
    expected = select_deita(ds, 8, progress=False)
    derived = (
        ds.map(lambda r: {"extra": r["id"] * 2})
        .filter(lambda r: True)
        .shuffle(seed=1)
        .select(range(len(ds)))
    )
    out = derived.select_deita(8, progress=False)
    assert ids(out) == ids(expected)  # scores are distinct: order does not depend on row order
    assert out["extra"][:] == [i * 2 for i in ids(out)]


def test_filtered_subset_uses_only_its_rows(ds):
    subset = ds.filter(lambda r: r["id"] % 2 == 0)
    plain = Dataset.from_dict(subset.to_dict(), features=subset.features)
    assert ids(subset.select_deita(6, progress=False)) == ids(plain.select_deita(6, progress=False))


def test_storage_layouts_give_the_same_rows(ds, tmp_path):
    expected = ids(select_deita(ds, 9, progress=False))
    # several Arrow chunks, memory-mapped from disk
    multi = concatenate_datasets([ds.select(range(0, 50)), ds.select(range(50, 120))])
    multi.save_to_disk(str(tmp_path / "d"), num_shards=3)
    disk = load_from_disk(str(tmp_path / "d"))
    assert disk.data.column("embedding").num_chunks > 1
    assert ids(disk.select_deita(9, progress=False)) == expected
    # fixed-size lists and float64 values
    fixed = ds.cast_column("embedding", List(Value("float32"), length=12))
    assert ids(fixed.select_deita(9, progress=False)) == expected
    f64 = ds.cast_column("embedding", List(Value("float64")))
    assert ids(f64.select_deita(9, progress=False)) == expected
    # a sliced fixed-size list (non-zero Arrow offset)
    tail = fixed.select(range(40, 120)).flatten_indices()
    assert ids(tail.select_deita(5, progress=False)) == ids(
        ds.select(range(40, 120)).select_deita(5, progress=False)
    )


def test_stats_are_json_serialisable_and_consistent(ds):
    out, stats = select_deita(ds, 7, progress=False, return_stats=True, device="cpu")
    assert isinstance(stats, SelectionStats)
    d = json.loads(json.dumps(stats.to_dict()))
    assert d["budget"] == 7 and d["kept"] == 7 and d["pool_size"] == 120
    assert d["device"] == "cpu" and d["embedding_column"] == "embedding"
    assert d["complexity_column"] == "complexity" and d["score_column"] is None
    assert 7 <= d["examined"] <= 120 and d["seconds"] > 0
    assert d["max_similarity"][0] is None and len(d["max_similarity"]) == 7
    assert all(s <= 0.9 for s in d["max_similarity"][1:])


def test_progress_bar_can_be_turned_off(ds, capsys):
    select_deita(ds, 3, progress=False)
    assert "select_deita" not in capsys.readouterr().err
    select_deita(ds, 3, progress=True)
    assert "select_deita" in capsys.readouterr().err
