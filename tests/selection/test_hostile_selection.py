"""Issue 24: selection inputs that gave a raw TypeError, ranked vectors or failed on a missing
column now get one clear line: a strategy's required key, a vector column for topk, a pool
that decontamination empties, and the offline alpaca_eval message naming the command's flag."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest
from contamination_helpers import mt_bench_first_turns
from datasets import Dataset

import deita_hf
from deita_hf.cli.main import main
from deita_hf.errors import ConfigError, SelectionError
from deita_hf.selection.dispatch import select
from deita_hf.selection.kmeans import select_kmeans_quality
from deita_hf.selection.topk import VECTOR_LENGTH, row_sums, select_topk


@pytest.fixture(scope="module")
def pool():
    rng = np.random.default_rng(0)
    return Dataset.from_dict({"instruction": [f"q{i}" for i in range(12)],
                              "quality": rng.uniform(1, 6, 12).tolist(),
                              "embedding": rng.normal(size=(12, 48)).tolist()})


@pytest.mark.parametrize(("strategy", "key"), [("topk", "column"), ("kmeans", "n_clusters")])
def test_a_missing_required_key_names_it(pool, strategy, key):
    with pytest.raises(ConfigError, match=rf"^{strategy} needs {key}="):
        select(pool, 3, strategy)
    fn = select_topk if strategy == "topk" else select_kmeans_quality
    with pytest.raises(ConfigError, match=rf"needs {key}="):
        fn(pool, 3, progress=False)


def test_topk_refuses_a_vector_column(pool):
    with pytest.raises(SelectionError, match=r"Column 'embedding' holds vectors \(every row a list "
                                             r"of 48 numbers"):
        select(pool, 3, "topk:column=embedding")
    fixed = Dataset(pa.table({"v": pa.FixedSizeListArray.from_arrays(
        pa.array(np.ones(6, dtype=np.float32)), 2)}))
    with pytest.raises(SelectionError, match="holds vectors"):
        row_sums(fixed, "v")
    # per-turn scores are still summed (lists of varying or short lengths)
    turns = Dataset.from_dict({"c": [[1.0, 2.0], [3.0], [0.5, 0.5]]})
    assert row_sums(turns, "c").tolist() == [3.0, 3.0, 1.0]
    same = Dataset.from_dict({"c": [[1.0] * (VECTOR_LENGTH - 1), [2.0] * (VECTOR_LENGTH - 1)]})
    assert row_sums(same, "c").tolist() == [VECTOR_LENGTH - 1.0, 2.0 * (VECTOR_LENGTH - 1)]


def _benchmark_pool(n: int = 3) -> Dataset:
    rng = np.random.default_rng(1)
    turns = mt_bench_first_turns()[:n]
    return Dataset.from_dict({"instruction": turns, "output": ["a"] * n,
                              "complexity": [1.0] * n, "quality": [2.0] * n,
                              "embedding": rng.normal(size=(n, 4)).tolist()})


def test_a_pool_decontamination_empties_is_one_line():
    ds = _benchmark_pool()
    for strategy in ("deita", "random"):
        kwargs = {"progress": False} if strategy == "deita" else {}
        with pytest.raises(SelectionError, match=r"Decontamination against mt_bench left no row of the "
                                                 r"pool \(3 rows, 3 dropped; mt_bench: 3\)"):
            select(ds, 2, strategy, decontaminate="mt_bench", **kwargs)
    with pytest.raises(SelectionError, match="left no row"):
        deita_hf.select_deita(ds, 2, decontaminate="mt_bench", progress=False)


def test_cli_select_on_a_pool_decontamination_empties(tmp_path, capsys):
    path = tmp_path / "pool.jsonl"
    rows = _benchmark_pool().to_list()
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert main(["select", str(path), "--budget", "2", "--decontaminate", "mt_bench",
                 "--embedder", "none", "--output", str(tmp_path / "out"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "left no row of the pool" in err and "Column(s) not found" not in err
    assert not (tmp_path / "out").exists()


def test_offline_alpaca_eval_names_the_command_s_own_flag(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    path = tmp_path / "pool.jsonl"
    path.write_text(json.dumps({"instruction": "Hi", "output": "Hello"}) + "\n", encoding="utf-8")
    assert main(["decontaminate", str(path), "--against", "alpaca_eval"]) == 2
    err = capsys.readouterr().err
    assert "--against alpaca_eval=PATH" in err and "--decontaminate alpaca_eval" not in err
    assert main(["select", str(path), "--budget", "1", "--decontaminate", "alpaca_eval",
                 "--output", str(tmp_path / "o"), "--no-progress"]) == 2
    assert "--decontaminate alpaca_eval=PATH" in capsys.readouterr().err
