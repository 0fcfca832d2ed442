"""`deita-hf select --strategy NAME[:ARGS]`: one dispatch on the command line, on real Dolly rows.

Checks: the spec is parsed before anything loads; other strategies compute only the columns
they read; the settings file, the card and the reproduce command name the strategy and its
parameters; ``deita`` keeps its path (spec arguments fold into the flags).
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import numpy as np
import pytest
from datasets import load_dataset

import deita_hf
from deita_hf.cli.main import main
from deita_hf.errors import ConfigError
from deita_hf.hub.card import reproduce_command

DIM = 16


@pytest.fixture(scope="module")
def plain_pool(test_data, tmp_path_factory) -> Path:
    """60 real Dolly rows, no score or embedding columns."""
    ds = load_dataset("json", data_files=str(test_data / "dolly_alpagasus_300.jsonl"),
                      split="train").select(range(60))
    path = tmp_path_factory.mktemp("plain") / "dolly60.jsonl"
    ds.to_json(str(path))
    return path


@pytest.fixture(scope="module")
def embedded_pool(test_data, tmp_path_factory) -> Path:
    """The same rows with a deterministic embedding column (no model needed)."""
    ds = load_dataset("json", data_files=str(test_data / "dolly_alpagasus_300.jsonl"),
                      split="train").select(range(60))
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(len(ds), DIM)).tolist()
    ds = ds.add_column("embedding", vectors)
    path = tmp_path_factory.mktemp("emb") / "dolly60-emb.jsonl"
    ds.to_json(str(path))
    return path


def settings_of(folder: Path) -> dict:
    return json.loads((folder / "deita_selection.json").read_text(encoding="utf-8"))


def rows_of(folder: Path):
    return load_dataset(str(folder), split="train")


def test_bad_strategy_fails_before_the_pool_loads(tmp_path, capsys):
    missing = str(tmp_path / "no-such-pool.jsonl")
    assert main(["select", missing, "--budget", "5", "--strategy", "nope",
                 "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "Unknown selection strategy 'nope'" in err and "kcenter" in err
    assert main(["select", missing, "--budget", "5", "--strategy", "random:sed=1",
                 "--output", str(tmp_path / "o")]) == 2
    assert "takes no argument(s) 'sed'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_random_records_strategy_and_reproduces(plain_pool, tmp_path, capsys, monkeypatch):
    out = tmp_path / "random"
    assert main(["select", str(plain_pool), "--budget", "12", "--strategy", "random:seed=3",
                 "--output", str(out), "--no-progress"]) == 0
    assert "strategy   random:seed=3" in capsys.readouterr().out
    s = settings_of(out)
    assert s["strategy"] == "random" and s["params"] == {"seed": 3}
    assert s["strategy_spec"] == "random:seed=3" and s["specs"] == {} and s["scorers"] == {}
    assert "--strategy random:seed=3" in s["command"] and "--threshold" not in s["command"]
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "| strategy | `random:seed=3`: seeded uniform sample |" in card
    assert "| strategy parameters | seed=3 |" in card
    assert "similarity threshold" not in card and "--strategy random:seed=3" in card
    selected = rows_of(out)
    assert len(selected) == 12 and selected["selection_rank"][:] == list(range(12))
    # the recorded command gives the same rows
    again = tmp_path / "again"
    argv = shlex.split(s["command"])[1:]
    argv[argv.index("--output") + 1] = str(again)
    assert main(argv + ["--no-progress"]) == 0
    assert rows_of(again)["instruction"][:] == selected["instruction"][:]


def test_topk_computes_only_the_column_it_reads(plain_pool, tmp_path):
    out = tmp_path / "longest"
    assert main(["select", str(plain_pool), "--budget", "8", "--strategy",
                 "topk:column=complexity", "--complexity-scorer", "length", "--include-pool",
                 "--output", str(out), "--no-progress"]) == 0
    s = settings_of(out)
    assert s["specs"] == {"complexity": "length"} and list(s["scorers"]) == ["complexity"]
    assert s["columns"] == {"score_column": "complexity"} and s["paper_setup"] is False
    pool = load_dataset(str(out), "pool", split="train")
    assert "complexity" in pool.column_names
    assert "quality" not in pool.column_names and "embedding" not in pool.column_names
    lengths = sorted((len(r["instruction"]) + (len(r["input"]) + 2 if r["input"] else 0)
                      for r in pool), reverse=True)
    assert rows_of(out)["selection_score"][:] == pytest.approx(lengths[:8])
    assert "--complexity-scorer length" in s["command"]


def test_kcenter_reads_the_precomputed_embeddings(embedded_pool, tmp_path):
    out = tmp_path / "kcenter"
    assert main(["select", str(embedded_pool), "--budget", "6", "--strategy",
                 "kcenter:metric=l2", "--output", str(out), "--no-progress"]) == 0
    s = settings_of(out)
    assert s["strategy"] == "kcenter" and s["specs"] == {}
    assert s["params"]["metric"] == "l2"
    assert s["scorers"]["embedder"]["kind"] == "precomputed"
    ref = deita_hf.select(load_dataset("json", data_files=str(embedded_pool), split="train"),
                          6, strategy="kcenter:metric=l2", progress=False)
    assert rows_of(out)["instruction"][:] == ref["instruction"][:]


def test_missing_columns_and_misused_flags_are_errors(plain_pool, embedded_pool, tmp_path,
                                                      capsys):
    base = ["select", str(plain_pool), "--budget", "5", "--no-progress"]
    assert main([*base, "--strategy", "topk:column=nope", "--output", str(tmp_path / "a")]) == 2
    assert "reads the column(s) 'nope'" in capsys.readouterr().err
    assert main([*base, "--strategy", "kcenter", "--embedder", "none",
                 "--output", str(tmp_path / "b")]) == 2
    assert "'embedding'" in capsys.readouterr().err
    assert main([*base, "--strategy", "topk", "--output", str(tmp_path / "c")]) == 2
    assert "topk:column=NAME" in capsys.readouterr().err
    assert main([*base, "--strategy", "random", "--threshold", "0.8",
                 "--output", str(tmp_path / "d")]) == 2
    assert "takes no threshold" in capsys.readouterr().err
    assert main(["select", str(embedded_pool), "--budget", "5", "--strategy", "facility",
                 "--embedder", "minilm", "--output", str(tmp_path / "e")]) == 2
    assert "would replace it" in capsys.readouterr().err


def test_deita_spec_arguments_fold_into_the_flags(embedded_pool, tmp_path, capsys):
    pool = load_dataset("json", data_files=str(embedded_pool), split="train")
    scored = pool.add_column("s", [float(len(r["output"])) for r in pool])
    path = tmp_path / "scored.jsonl"
    scored.to_json(str(path))
    out = tmp_path / "deita"
    assert main(["select", str(path), "--budget", "7", "--strategy",
                 "deita:threshold=0.5,score_column=s", "--output", str(out),
                 "--no-progress"]) == 0
    s = settings_of(out)
    assert s["strategy"] == "deita" and s["threshold"] == 0.5 and s["score_column"] == "s"
    assert "--strategy" not in s["command"] and "--threshold 0.5" in s["command"]
    ref = deita_hf.select_deita(scored, 7, threshold=0.5, score_column="s", progress=False)
    assert rows_of(out)["instruction"][:] == ref["instruction"][:]
    assert main(["select", str(path), "--budget", "7", "--strategy", "deita:threshold=0.5",
                 "--threshold", "0.7", "--output", str(tmp_path / "x")]) == 2
    assert "disagree" in capsys.readouterr().err


def test_scorer_flag(plain_pool, tmp_path, capsys):
    out = tmp_path / "measure"
    argv = ["select", str(plain_pool), "--budget", "5", "--scorer", "random:7",
            "--output", str(out), "--no-progress"]
    from deita_hf.components import build_component

    column = build_component("scorer", "random:7").column
    assert main([*argv, "--strategy", f"topk:column={column}"]) == 0
    s = settings_of(out)
    assert s["scorer_specs"] == ["random:7"] and column in s["scorers"]
    assert "--scorer random:7" in s["command"]


def test_top_level_select_and_reproduce_command():
    from datasets import Dataset

    ds = Dataset.from_dict({"x": [1, 2, 3, 4], "s": [0.5, 3.0, 2.0, 1.0]})
    assert deita_hf.select(ds, 2, strategy="topk:column=s")["x"][:] == [2, 3]
    assert "select" in deita_hf.__all__ and "STRATEGIES" in dir(deita_hf)
    with pytest.raises(ConfigError, match="Unknown selection strategy"):
        deita_hf.select(ds, 2, strategy="nope")
    cmd = reproduce_command({"input": "p.jsonl", "budget": 3, "strategy": "kcenter",
                             "strategy_spec": "kcenter:metric=l2",
                             "scorer_specs": ["ifd:m"]}, "out")
    assert cmd == ("deita-hf select p.jsonl --strategy kcenter:metric=l2 --budget 3 "
                   "--scorer ifd:m --output out")
    assert "--strategy" not in reproduce_command({"input": "p", "budget": 3,
                                                  "strategy": "deita"}, "out")
