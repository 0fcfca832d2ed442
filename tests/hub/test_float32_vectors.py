"""No float64 vector column is written anywhere: the score folder, the selection folder (its
default and ``embeddings`` configs) and the pool config store embeddings as float32, and the
selection's default config holds no vectors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from datasets import load_dataset

from deita_hf.cli.main import main

#: per-turn score lists: float64 by design (not vectors)
SCORE_LISTS = {"complexity", "quality"}


def _float64_lists(folder: Path) -> list[str]:
    """``file:column`` of every list-of-float64 column (other than the per-turn scores)."""
    bad = []
    for path in sorted(folder.rglob("*.parquet")):
        for field in pq.read_schema(path):
            if (pa.types.is_list(field.type) or pa.types.is_large_list(field.type)) \
                    and pa.types.is_float64(field.type.value_type) and field.name not in SCORE_LISTS:
                bad.append(f"{path.relative_to(folder)}:{field.name}")
    return bad


def _vector_type(folder: Path, config_dir: str, column: str) -> pa.DataType:
    files = sorted((folder / config_dir).glob("*.parquet"))
    return pq.read_schema(files[0]).field(column).type.value_type


def test_score_then_select_writes_float32_vectors_only(pool_file, tmp_path):
    scores, selection = tmp_path / "scores", tmp_path / "sel"
    assert main(["score", pool_file, "--output", str(scores), "--complexity-scorer", "length",
                 "--quality-scorer", "length", "--embedder", "minilm"]) == 0
    assert _vector_type(scores, "data", "embedding") == pa.float32()
    assert main(["select", str(scores), "--budget", "5", "--threshold", "0.99",
                 "--output", str(selection), "--include-pool"]) == 0
    assert _float64_lists(scores) == [] and _float64_lists(selection) == []
    assert _vector_type(selection, "embeddings", "embedding") == pa.float32()
    assert _vector_type(selection, "pool", "embedding") == pa.float32()
    default = load_dataset(str(selection), split="train")
    assert "embedding" not in default.column_names and "messages" in default.column_names


def test_precomputed_float64_vectors_are_stored_as_float32(tmp_path, dolly_rows):
    """A pool whose embeddings (and LESS features) came from JSON (Python floats: float64)."""
    from datasets import Dataset

    from deita_hf.hub import load_folder, save_selection

    rng = np.random.default_rng(0)
    rows = dolly_rows[:8]
    emb = rng.normal(size=(len(rows), 6))
    pool = Dataset.from_dict({
        "instruction": [r["instruction"] for r in rows], "output": [r["output"] for r in rows],
        "complexity": [[1.0 + i] for i in range(len(rows))], "quality": [[2.0]] * len(rows),
        "deita_score": [2.0 + 2 * i for i in range(len(rows))],
        "embedding": emb.tolist(), "less_grad": emb[:, :3].tolist(),
    })
    assert pool.features["embedding"].feature.dtype == "float64"
    out = save_selection(pool.select([7, 3, 5]), tmp_path / "sel", pool=pool, include_pool=True,
                         settings=json.loads(json.dumps({"strategy": "deita", "budget": 3})))
    assert _float64_lists(out) == []
    vectors = load_dataset(str(out), "embeddings", split="train")
    assert vectors.column_names == ["row", "embedding", "less_grad"]
    np.testing.assert_array_equal(np.asarray(vectors["embedding"]),
                                  emb[[7, 3, 5]].astype(np.float32))
    default = load_dataset(str(out), split="train")
    assert not {"embedding", "less_grad"} & set(default.column_names)
    # keep_vectors=True: the vectors stay in the default config (still float32), no config
    kept = save_selection(pool.select([7, 3, 5]), tmp_path / "kept", settings={"budget": 3},
                          keep_vectors=True)
    assert not (kept / "embeddings").exists() and _float64_lists(kept) == []
    assert "embedding" in load_dataset(str(kept), split="train").column_names
    # the package's reader joins them back, row for row
    selected, loaded_pool, _ = load_folder(out)
    np.testing.assert_array_equal(np.asarray(selected["less_grad"]),
                                  emb[[7, 3, 5], :3].astype(np.float32))
    assert loaded_pool.features["embedding"].feature.dtype == "float32"
