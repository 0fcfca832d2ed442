"""`deita-hf select --decontaminate` and `deita-hf decontaminate` on real Dolly rows with
planted, paraphrased MT-Bench questions (case, punctuation and one word changed): every planted
row is dropped before selection, the budget is still filled, no real row is dropped (checked
against a brute-force n-gram reference) and the card and settings record the counts."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import numpy as np
import pytest
from contamination_helpers import brute_force_matches, instruction_of, planted_pool
from datasets import Dataset, load_dataset

import deita_hf
from deita_hf.cli.main import main
from deita_hf.data.benchmark_prompts import load_prompt_sets


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    rows, planted_rows = planted_pool(n_dolly=300, n_long=12)
    rng = np.random.default_rng(0)
    for row in rows:
        row["embedding"] = rng.normal(size=8).tolist()
    path = tmp_path_factory.mktemp("planted") / "pool.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path, rows, planted_rows


def settings_of(folder: Path) -> dict:
    return json.loads((folder / "deita_selection.json").read_text(encoding="utf-8"))


def test_select_decontaminate_drops_every_planted_row(planted, tmp_path, capsys):
    path, rows, planted_rows = planted
    reference = brute_force_matches([[instruction_of(r)] for r in rows],
                                    load_prompt_sets("mt_bench")[0].prompts)
    assert reference == planted_rows  # the plants, and no real Dolly row
    out = tmp_path / "random"
    assert main(["select", str(path), "--budget", "300", "--strategy", "random:seed=0",
                 "--decontaminate", "mt_bench", "--output", str(out), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "decontamination: 12 of 312 rows match" in captured.err
    assert "decontam.  12 of 312 rows dropped before selection (ngram: mt_bench 12)" in captured.out
    selected = load_dataset(str(out), split="train")
    assert len(selected) == 300 and set(selected["source"]) == {"dolly"}  # the budget is filled
    s = settings_of(out)
    dec = s["decontamination"]
    assert dec["dropped_rows"] == reference and dec["pool_rows"] == 312 and dec["kept"] == 300
    assert dec["benchmarks"]["mt_bench"]["rows"] == 12 and dec["method"] == "ngram"
    assert s["pool_size"] == 300 and "--decontaminate mt_bench" in s["command"]
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "### Decontamination" in card
    assert "| `mt_bench` | 160 (8 too short for n-grams) | 12 |" in card
    assert f"pool row {planted_rows[0]}, turn 1 (13-gram: '" in card
    assert "`deita_hf/evaluation/data/question.jsonl`" in card
    for fmt in ("md", "html"):
        report = tmp_path / f"report.{fmt}"
        assert main(["report", str(out), "--format", fmt, "--output", str(report)]) == 0
        assert "Decontamination (before selection)" in report.read_text(encoding="utf-8")
    again = tmp_path / "again"
    argv = shlex.split(s["command"])[1:]
    argv[argv.index("--output") + 1] = str(again)
    assert main(argv + ["--no-progress"]) == 0
    assert load_dataset(str(again), split="train")["instruction"] == selected["instruction"]


def test_deita_path_decontaminates_before_scoring(planted, tmp_path):
    path, rows, planted_rows = planted
    out = tmp_path / "deita"
    assert main(["select", str(path), "--budget", "100", "--complexity-scorer", "length",
                 "--quality-scorer", "length", "--threshold", "0.95", "--decontaminate",
                 "mt_bench", "--include-pool", "--output", str(out), "--no-progress"]) == 0
    selected = load_dataset(str(out), split="train")
    pool = load_dataset(str(out), "pool", split="train")
    assert len(selected) == 100 and "dolly" == selected["source"][0]
    assert len(pool) == 300 and set(pool["source"]) == {"dolly"}  # the pool the strategy saw
    clean = Dataset.from_list([r for i, r in enumerate(rows) if i not in set(planted_rows)])
    scorer = deita_hf.DatasetSelector.from_specs("length", "length", "none", threshold=0.95)
    ref = scorer.select(scorer.score(clean, progress=False, warn=False), 100, progress=False)
    assert selected["instruction"] == ref["instruction"][:]
    plain = deita_hf.select_deita(scorer.score(Dataset.from_list(rows), progress=False,
                                               warn=False), 100, threshold=0.95, progress=False)
    assert "planted-long" in plain["source"][:]  # they would have been selected
    s = settings_of(out)
    assert s["decontamination"]["benchmarks"]["mt_bench"]["rows"] == 12
    assert "### Decontamination" in (out / "README.md").read_text(encoding="utf-8")


def test_decontaminate_command_reports(planted, tmp_path, capsys):
    path, _, planted_rows = planted
    folder = tmp_path / "report"
    assert main(["decontaminate", str(path), "--against", "mt_bench", "--output", str(folder),
                 "--examples", "2", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "12 of 312 rows match benchmark prompts (ngram)" in out and "mt_bench" in out
    assert str(folder / "contamination.json") in out and str(folder / "contamination.md") in out
    assert sorted(p.name for p in folder.iterdir()) == ["contamination.json", "contamination.md"]
    data = json.loads((folder / "contamination.json").read_text(encoding="utf-8"))
    assert data["dropped_rows"] == planted_rows and data["input"] == str(path)
    assert len(data["benchmarks"]["mt_bench"]["examples"]) == 2
    text = (folder / "contamination.md").read_text(encoding="utf-8")
    assert text.startswith("# Decontamination report") and "| `mt_bench` | 160" in text
    assert "nothing was changed" in text
    assert len(Path(path).read_text(encoding="utf-8").splitlines()) == 312  # untouched
    # a second run refuses the folder up front, and replaces the report with --overwrite
    again = ["decontaminate", str(path), "--against", "mt_bench", "--output", str(folder),
             "--examples", "1", "--no-progress"]
    assert main(again) == 2
    assert "holds a decontamination report" in capsys.readouterr().err
    assert main([*again, "--overwrite"]) == 0
    data = json.loads((folder / "contamination.json").read_text(encoding="utf-8"))
    assert len(data["benchmarks"]["mt_bench"]["examples"]) == 1
    sel = tmp_path / "sel"
    assert main(["select", str(path), "--budget", "20", "--strategy", "random:seed=1",
                 "--decontaminate", "mt_bench", "--output", str(sel), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["decontaminate", str(sel), "--against", "mt_bench", "--no-progress"]) == 0
    assert "0 of 20 rows match" in capsys.readouterr().out


def test_errors_come_before_the_pool_loads(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    missing = str(tmp_path / "no-such-pool.jsonl")
    base = ["select", missing, "--budget", "5", "--strategy", "random", "--output",
            str(tmp_path / "o"), "--no-progress"]
    assert main([*base, "--decontaminate", "alpaca_eval"]) == 2
    err = capsys.readouterr().err
    assert "alpaca_eval" in err and "offline" in err and "alpaca_eval=PATH" in err
    assert main([*base, "--decontaminate", "mt-bench"]) == 2
    assert "neither a known benchmark" in capsys.readouterr().err
    assert main([*base, "--decontaminate", "mt_bench", "--decontaminate-ngram", "0"]) == 2
    assert "ngram must be an int >= 1" in capsys.readouterr().err
    assert main([*base, "--decontaminate", "mt_bench", "--decontaminate-method", "embedding",
                 "--embedder", "none"]) == 2
    assert "compares embeddings" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    a_file = tmp_path / "report.md"
    a_file.write_text("mine\n", encoding="utf-8")
    assert main(["decontaminate", missing, "--against", "mt_bench", "--output",
                 str(a_file)]) == 2
    assert "is a file; pass a folder path" in capsys.readouterr().err
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine\n", encoding="utf-8")
    for extra in ([], ["--overwrite"]):
        assert main(["decontaminate", missing, "--against", "mt_bench", "--output", str(other),
                     *extra]) == 2
        assert "files other than a decontamination report (notes.txt)" in capsys.readouterr().err
    assert sorted(p.name for p in other.iterdir()) == ["notes.txt"]
    assert a_file.read_text(encoding="utf-8") == "mine\n"
    assert main(["decontaminate", missing, "--against", "mt_bench", "--method", "both"]) == 2
    assert "--embedder SPEC" in capsys.readouterr().err
