"""Issue 24: a study's relative paths (pool, sft.recipe, evaluation.reference) resolve against
the study file, wherever the command runs; a local pool that is not there is named by
--dry-run and stops a real run before anything is written."""

from __future__ import annotations

import json

import pytest
import yaml

from deita_hf.cli.main import main
from deita_hf.errors import InputNotFoundError
from deita_hf.study import load_study, run_study


def _study(folder, pool="pool.jsonl", **evaluation):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sft.yaml").write_text(yaml.safe_dump({"model_name_or_path": "unused"}))
    study = {"name": "paths", "pool": pool, "budget": 2,
             "arms": [{"name": "random", "strategy": "random:seed=0"}],
             "sft": {"recipe": "sft.yaml"},
             "evaluation": {"judge": "openai:http://127.0.0.1:9/v1#judge", **evaluation}}
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(study), encoding="utf-8")
    return path


def test_relative_paths_resolve_against_the_study_file(tmp_path, monkeypatch):
    path = _study(tmp_path / "studies", benchmark="win_rate", reference="ref.jsonl")
    (tmp_path / "studies" / "pool.jsonl").write_text(json.dumps({"instruction": "a", "output": "b"}) + "\n")
    (tmp_path / "studies" / "ref.jsonl").write_text(json.dumps({"instruction": "a", "output": "b"}) + "\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cfg = load_study(path)
    assert cfg.pool == str(tmp_path / "studies" / "pool.jsonl")
    assert cfg.sft.recipe == str(tmp_path / "studies" / "sft.yaml")
    assert cfg.evaluation.reference == str(tmp_path / "studies" / "ref.jsonl")
    # a Hub dataset id is kept as it is
    hub = _study(tmp_path / "hub", pool="allenai/tulu-3-sft-mixture")
    assert load_study(hub).pool == "allenai/tulu-3-sft-mixture"


def test_a_missing_local_pool_is_named_by_the_dry_run_and_stops_a_run(tmp_path, capsys):
    path = _study(tmp_path / "s", pool="data/pool.jsonl")
    out = tmp_path / "out"
    assert main(["study", str(path), "--output", str(out), "--dry-run"]) == 0
    captured = capsys.readouterr()
    assert "pool: data/pool.jsonl" in captured.out
    assert "warning: study.pool: 'data/pool.jsonl' is not a file or folder" in captured.err
    with pytest.raises(InputNotFoundError, match="study.pool: 'data/pool.jsonl' is not a file"):
        run_study(load_study(path), out, progress=False)
    assert not out.exists()
    assert main(["study", str(path), "--output", str(out), "--no-progress"]) == 2
    assert "is not a file or folder" in capsys.readouterr().err and not out.exists()
