"""`deita-hf select --strategy less:target=PATH --scorer less:MODEL` end to end on a tiny
LLaMA and real Dolly rows: the warm-up beside the output (reused on a re-run), the target's
SGD features computed with the pool's warm-up, the pick equal to a reference over the written
features, the settings and card; and the errors, before anything loads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from datasets import load_dataset
from less_helpers import LESS_OPTIONS, less_spec
from sample_data import short_dolly_rows

from deita_hf.cli.main import main
from deita_hf.scoring import LessGradientScorer


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> tuple[Path, Path]:
    rows = short_dolly_rows(30)
    folder = tmp_path_factory.mktemp("less-cli")
    pool, target = folder / "pool.jsonl", folder / "target.jsonl"
    rows.select(range(24)).to_json(str(pool))
    t = rows.select(range(24, 30))
    t.add_column("task", ["open_qa", "brainstorm"] * 3).to_json(str(target))
    return pool, target


def run(pool, target, model, out, *extra, spec=None):
    return main(["select", str(pool), "--budget", "5", "--strategy", f"less:target={target}",
                 "--scorer", spec or less_spec(model), "--max-length", "512", "--batch-size", "4",
                 "--output", str(out), "--no-progress", "--include-pool", *extra])


def test_select_less_end_to_end(files, tiny_base_llama, tmp_path, capsys, monkeypatch):
    pool, target = files
    out = tmp_path / "less-5"
    assert run(pool, target, str(tiny_base_llama), out) == 0
    err = capsys.readouterr().err
    assert "computing LESS target features of 6 rows" in err
    warmups = list((tmp_path / ".less-5.less").glob("warmup-*/warmup.json"))
    assert len(warmups) == 1  # kept beside the output
    settings = json.loads((out / "deita_selection.json").read_text(encoding="utf-8"))
    less = settings["scorers"]["less_grad"]
    assert less["warmup"]["dir"] == str(warmups[0].parent) and less["gradient"] == "adam"
    assert settings["params"]["target"] == str(target) and settings["params"]["tasks"] == 2
    assert settings["params"]["features_id"] == less["features_id"]
    assert f"--scorer {less_spec(str(tiny_base_llama))}" in settings["command"]
    # the pick is the reference pick over the pool's written features and the target's
    chosen = load_dataset(str(out), split="train")
    scored = load_dataset(str(out), "pool", split="train")
    feats = np.array(scored["less_grad"][:], dtype=np.float64)
    scorer = LessGradientScorer(str(tiny_base_llama), warmup_dir=less["warmup"]["dir"],
                                **LESS_OPTIONS).prepare()
    tgt = scorer.target_features(load_dataset("json", data_files=str(target), split="train"),
                                 progress=False)
    tfeats = np.array(tgt["less_grad"][:], dtype=np.float64)
    tasks = tgt["task"][:]
    means = [tfeats[[t == k for t in tasks]].mean(0) for k in ("open_qa", "brainstorm")]
    score = np.max(np.stack([feats @ m for m in means]), axis=0)
    want = sorted(range(len(score)), key=lambda i: (-score[i], i))[:5]
    assert chosen["instruction"][:] == [scored["instruction"][i] for i in want]
    assert "less" in (out / "README.md").read_text(encoding="utf-8")
    # a re-run reuses the finished warm-up
    import trl

    monkeypatch.setattr(trl, "SFTTrainer", lambda *a, **k: pytest.fail("warm-up redone"))
    assert run(pool, target, str(tiny_base_llama), out, "--overwrite") == 0
    again = load_dataset(str(out), split="train")
    assert again["instruction"][:] == chosen["instruction"][:]
    # a pool that already has the features keeps them; the scorer computes the target's only
    ready = tmp_path / "scored.parquet"
    scored.to_parquet(str(ready))
    spec = less_spec(str(tiny_base_llama), cache_dir=tmp_path / ".less-5.less")
    assert run(ready, target, str(tiny_base_llama), tmp_path / "from-ready", spec=spec) == 0
    assert "using the pool's 'less_grad' column" in capsys.readouterr().err
    assert load_dataset(str(tmp_path / "from-ready"), split="train")["instruction"][:] == \
        chosen["instruction"][:]


def test_errors_come_before_anything_loads(files, tmp_path, capsys):
    pool, target = files
    out = str(tmp_path / "o")
    assert main(["select", str(pool), "--budget", "3", "--strategy", "less",
                 "--scorer", "less:/nowhere", "--output", out]) == 2
    assert "needs the target rows: --strategy less:target=PATH" in capsys.readouterr().err
    assert main(["select", str(pool), "--budget", "3", "--strategy",
                 f"less:target={tmp_path / 'missing.jsonl'}", "--scorer", "less:/nowhere",
                 "--output", out]) == 2
    assert "less:target=" in capsys.readouterr().err
    assert main(["select", str(pool), "--budget", "3", "--strategy", f"less:target={target}",
                 "--output", out]) == 2
    assert "--scorer less:MODEL" in capsys.readouterr().err
    assert main(["select", str(pool), "--budget", "3", "--strategy", f"less:target={target}",
                 "--scorer", "less:/m,colour=red", "--output", out]) == 2
    assert "colour=red" in capsys.readouterr().err
    assert not Path(out).exists()
