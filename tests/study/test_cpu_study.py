"""Issue 24: the shipped CPU study (recipes/study/cpu-tiny.yaml) runs end to end as its header
says: the tiny model built offline, the bundled pool, run from another folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from deita_hf.cli.main import main

REPO_ROOT = Path(__file__).resolve().parents[2]
STUDY = REPO_ROOT / "recipes" / "study" / "cpu-tiny.yaml"


def test_the_cpu_study_runs_end_to_end(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # paths in the study resolve against the study file
    proc = subprocess.run([sys.executable, "-m", "deita_hf.testing.tiny_models", "out/tiny-llama"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert main(["study", str(STUDY), "--output", "out/cpu-tiny", "--dry-run"]) == 0
    assert f"pool: {REPO_ROOT / 'examples' / 'pool.jsonl'} (found)" in capsys.readouterr().out
    assert main(["study", str(STUDY), "--output", "out/cpu-tiny", "--no-progress"]) == 0
    results = json.loads((tmp_path / "out" / "cpu-tiny" / "results.json").read_text())
    assert [a["name"] for a in results["arms"]] == ["random", "longest-instruction"]
    for arm in ("random", "longest-instruction"):
        folder = tmp_path / "out" / "cpu-tiny" / "arms" / arm
        assert (folder / "model" / "model.safetensors").is_file()
        assert (folder / "eval" / "results.json").is_file()
