"""`deita-hf select --strategy rds:target=PATH --embedder rds:MODEL` end to end on a tiny LLaMA
and real Dolly rows: the pool and the target embedded by the same RdsEmbedder, the pick equal to
select_rds over those vectors, the settings; and the errors, before anything loads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from datasets import load_dataset
from sample_data import short_dolly_rows

from deita_hf.cli.main import main
from deita_hf.embedding.rds import RdsEmbedder
from deita_hf.selection.rds import select_rds


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> tuple[Path, Path]:
    rows = short_dolly_rows(30)
    folder = tmp_path_factory.mktemp("rds-cli")
    pool, target = folder / "pool.jsonl", folder / "target.jsonl"
    rows.select(range(24)).to_json(str(pool))
    rows.select(range(24, 30)).add_column("task", ["open_qa", "brainstorm"] * 3).to_json(
        str(target))
    return pool, target


def run(pool, target, out, embedder, *extra):
    return main(["select", str(pool), "--budget", "5", "--strategy", f"rds:target={target}",
                 "--embedder", embedder, "--batch-size", "4", "--output", str(out),
                 "--no-progress", "--include-pool", *extra])


def test_select_rds_end_to_end(files, tiny_base_llama, tmp_path, capsys):
    pool, target = files
    out = tmp_path / "rds-5"
    assert run(pool, target, out, f"rds:{tiny_base_llama}") == 0
    assert "embedding the 6 RDS target rows" in capsys.readouterr().err
    settings = json.loads((out / "deita_selection.json").read_text(encoding="utf-8"))
    assert settings["params"]["target"] == str(target) and settings["params"]["tasks"] == 2
    assert settings["scorers"]["embedder"]["pooling"] == "weighted_mean"
    chosen = load_dataset(str(out), split="train")
    scored = load_dataset(str(out), "pool", split="train")
    # the pool's written vectors are RdsEmbedder's, and the target is embedded the same way
    emb = RdsEmbedder(str(tiny_base_llama), batch_size=4, device="cpu")
    tgt = load_dataset("json", data_files=str(target), split="train")
    tgt = tgt.map(emb, batched=True, with_indices=True)
    pool_rows = load_dataset("json", data_files=str(pool), split="train")
    direct = np.array(emb(pool_rows[:], list(range(len(pool_rows))))["embedding"])
    assert np.abs(np.array(scored["embedding"][:]) - direct).max() < 1e-5
    want = select_rds(scored, 5, target=tgt, progress=False)
    assert chosen["instruction"][:] == want["instruction"][:]
    assert chosen["rds_task"][:] == want["rds_task"][:]


def test_errors_before_anything_loads(files, tmp_path, capsys):
    pool, target = files
    assert run(pool, tmp_path / "missing.jsonl", tmp_path / "a", "rds:someone/nowhere") == 2
    err = capsys.readouterr().err
    assert "rds:target=" in err and "no such file or folder" in err
    assert main(["select", str(pool), "--budget", "3", "--strategy", "rds",
                 "--embedder", "rds:someone/nowhere", "--output", str(tmp_path / "a")]) == 2
    assert "needs the target rows: --strategy rds:target=PATH" in capsys.readouterr().err
    assert run(pool, target, tmp_path / "b", "minilm") == 2
    assert "Pass --embedder rds:MODEL" in capsys.readouterr().err
    ready = tmp_path / "ready.jsonl"
    rows = load_dataset("json", data_files=str(pool), split="train")
    rows.add_column("embedding", [[1.0, float(i)] for i in range(len(rows))]).to_json(str(ready))
    assert main(["select", str(ready), "--budget", "5", "--strategy", f"rds:target={target}",
                 "--output", str(tmp_path / "c"), "--no-progress"]) == 2
    assert "target rows have no 'embedding' column" in capsys.readouterr().err
    assert not any((tmp_path / d).exists() for d in "abc")
