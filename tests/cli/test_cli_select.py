"""`deita-hf select` end to end on real Dolly rows bundled in tests/data."""

import json
import os
import re
import shlex
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from datasets import load_dataset

from deita_hf.cli.main import main
from deita_hf.selection import select_deita

DIM = 64


def bag_of_words(text: str) -> list[float]:
    """A deterministic hashed bag-of-words vector: cheap, and similar texts get similar vectors."""
    vec = np.zeros(DIM)
    for word in re.findall(r"\w+", text.lower()):
        vec[zlib.crc32(word.encode()) % DIM] += 1.0
    vec[DIM - 1] += 0.5  # never all zeros (empty outputs exist)
    return vec.tolist()


@pytest.fixture(scope="module")
def pool_file(test_data, tmp_path_factory):
    ds = load_dataset(
        "json", data_files=str(test_data / "dolly_alpagasus_300.jsonl"), split="train"
    ).select(range(300))

    def add(r):
        text = f"{r['instruction']} {r['input']} {r['output']}"
        return {
            "embedding": bag_of_words(text),
            "complexity": 1.0 + len(r["instruction"].split()) / 10,
            "quality": 1.0 + len(r["output"].split()) / 50,
        }

    ds = ds.map(add)
    # a few exact duplicates: they must never be selected twice
    ds = ds.add_item(ds[0]).add_item(ds[1])
    path = tmp_path_factory.mktemp("pool") / "dolly300.jsonl"
    ds.to_json(str(path))
    return path


def test_select_writes_loadable_hub_folder(pool_file, tmp_path, capsys):
    out_dir = tmp_path / "sel"
    rc = main(["select", str(pool_file), "--budget", "40", "--threshold", "0.8",
               "--output", str(out_dir), "--no-progress"])
    assert rc == 0
    summary = capsys.readouterr().out
    for field in ("pool size  302 rows", "kept       40 of budget 40", "examined", "time", str(out_dir)):
        assert field in summary
    assert (out_dir / "data" / "train-00000-of-00001.parquet").is_file()

    loaded = load_dataset(str(out_dir), split="train")
    assert len(loaded) == 40
    assert set(loaded.column_names) == {"instruction", "category", "input", "output", "messages",
                                        "complexity", "quality", "deita_score", "deita_rank"}
    vectors = load_dataset(str(out_dir), "embeddings", split="train")  # not training data
    assert vectors.column_names == ["row", "deita_rank", "embedding"]
    assert loaded["deita_rank"][:] == list(range(40))
    assert len(set(loaded["instruction"][:])) == 40  # the duplicated rows appear once at most

    pool = load_dataset("json", data_files=str(pool_file), split="train")
    api = select_deita(pool, 40, threshold=0.8, progress=False)
    assert loaded["instruction"][:] == api["instruction"][:]
    assert loaded["deita_score"][:] == api["deita_score"][:]

    stats = json.loads((out_dir / "deita_selection.json").read_text())
    assert stats["kept"] == 40 and stats["budget"] == 40 and stats["pool_size"] == 302
    assert stats["threshold"] == 0.8 and stats["input"] == str(pool_file)
    assert stats["deita_hf_version"] and stats["created_at"].endswith("+00:00")
    assert len(stats["max_similarity"]) == 40 and stats["max_similarity"][0] is None
    assert stats["examined"] > 40  # near-duplicates in real Dolly data (bag-of-words) dropped


def test_refuses_non_empty_output_unless_overwrite(pool_file, tmp_path, capsys):
    out_dir = tmp_path / "sel"
    out_dir.mkdir()
    (out_dir / "keep.txt").write_text("x")
    args = ["select", str(pool_file), "--budget", "5", "--output", str(out_dir), "--no-progress"]
    assert main(args) == 2
    assert "is not empty" in capsys.readouterr().err and not (out_dir / "data").exists()
    assert main(args + ["--overwrite"]) == 0
    assert main(args[:3] + ["7"] + args[4:] + ["--overwrite"]) == 0
    assert len(load_dataset(str(out_dir), split="train")) == 7


def test_bad_input_is_a_clean_error(pool_file, tmp_path, capsys):
    base = ["select", str(pool_file), "--output", str(tmp_path / "o"), "--no-progress"]
    assert main(base + ["--budget", "0"]) == 2  # checked before the pool loads
    assert "--budget must be a positive number of rows, got 0" in capsys.readouterr().err
    assert main(base + ["--budget", "5", "--embedding-column", "vec"]) == 2
    assert "The pool has no 'vec' column (--embedding-column)" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_console_entry_point_with_score_column(pool_file, tmp_path):
    out_dir = tmp_path / "top"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_WAIT_POLICY": "PASSIVE"}
    proc = subprocess.run(
        [sys.executable, "-m", "deita_hf.cli.main", "select", str(pool_file), "--budget", "10",
         "--score-column", "complexity", "--output", str(out_dir), "--device", "cpu"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "kept       10 of budget 10" in proc.stdout
    assert "select_deita" in proc.stderr  # the progress bar
    loaded = load_dataset(str(out_dir), split="train")
    assert loaded["deita_score"][:] == loaded["complexity"][:]
    assert loaded["deita_score"][:] == sorted(loaded["deita_score"][:], reverse=True)
    stats = json.loads(Path(out_dir / "deita_selection.json").read_text())
    assert stats["score_column"] == "complexity" and stats["device"] == "cpu"


REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def unscored_file(test_data, tmp_path_factory):
    """Real Dolly rows with embeddings but no scores: `select` must compute the scores."""
    ds = load_dataset("json", data_files=str(test_data / "dolly_alpagasus_300.jsonl"),
                      split="train").select(range(120))
    ds = ds.map(lambda r: {"embedding": bag_of_words(f"{r['instruction']} {r['output']}")})
    path = tmp_path_factory.mktemp("unscored") / "dolly120.parquet"
    ds.to_parquet(str(path))
    return path


def test_select_scores_missing_columns_and_reports_stand_ins(unscored_file, tmp_path, capsys):
    out_dir = tmp_path / "sel"
    rc = main(["select", str(unscored_file), "--budget", "20", "--output", str(out_dir),
               "--complexity-scorer", "length", "--quality-scorer", "length", "--no-progress"])
    assert rc == 0, capsys.readouterr().err
    summary = capsys.readouterr().out
    assert "instruction-length [length-baseline]  <- a stand-in" in summary
    loaded = load_dataset(str(out_dir), split="train")
    # the length baseline: complexity = instruction characters, quality = response characters
    for row in loaded:
        instruction = row["instruction"] + (f"\n\n{row['input']}" if row["input"].strip() else "")
        assert row["complexity"] == [float(len(instruction))]
        assert row["quality"] == [float(len(row["output"]))]
        assert row["deita_score"] == pytest.approx(len(instruction) * len(row["output"]))
    settings = json.loads((out_dir / "deita_selection.json").read_text())
    assert settings["scorers"]["complexity"]["kind"] == "length-baseline"
    assert settings["scorers"]["embedder"] == {"name": "column 'embedding' of the input",
                                               "revision": None, "kind": "precomputed"}
    assert "--complexity-scorer length --quality-scorer length" in settings["command"]
    card = (out_dir / "README.md").read_text()
    assert "**Stand-ins:** the complexity and quality scores come from the paper's length" in card
    # the recorded command repeats the selection exactly
    again = tmp_path / "again"
    argv = shlex.split(settings["command"])[1:]
    argv[argv.index("--output") + 1] = str(again)
    assert main(argv + ["--no-progress"]) == 0
    assert load_dataset(str(again), split="train")["instruction"][:] == loaded["instruction"][:]


@pytest.mark.parametrize("extra, needle", [
    (["--embedder", "minilm"], "already has a 'embedding' column, and --embedder minilm would"),
    (["--score-column", "x", "--complexity-scorer", "length"], "--score-column x is a ready score"),
    (["--complexity-column", "cplx"], "The pool has no 'cplx' column (--complexity-column)"),
    (["--quality-scorer", "none", "--complexity-scorer", "length"], "--quality-scorer none, but"),
])
def test_scorer_flags_that_conflict_with_the_pool(unscored_file, tmp_path, capsys, extra, needle):
    rc = main(["select", str(unscored_file), "--budget", "5", "--output", str(tmp_path / "o"),
               "--no-progress", *extra])
    assert rc == 2
    assert needle in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_default_scorers_offline_name_the_length_baseline(unscored_file, tmp_path, capsys):
    rc = main(["select", str(unscored_file), "--budget", "5", "--output", str(tmp_path / "o"),
               "--no-progress"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "hkust-nlp/deita-complexity-scorer" in err and "--complexity-scorer length" in err


def test_readme_main_job_command_end_to_end(tmp_path):
    """The `make example` command (the README's main job), run as written on the bundled pool."""
    makefile = (REPO_ROOT / "Makefile").read_text()
    recipe = makefile.split("\nexample:", 1)[1].split("\n\n", 1)[0]
    command = " ".join(line.strip().rstrip("\\") for line in recipe.splitlines()[1:])
    argv = shlex.split(command.replace("$(BIN)/", ""))
    assert argv[:3] == ["deita-hf", "select", "examples/pool.jsonl"]
    out_dir = tmp_path / "example"
    argv[argv.index("--output") + 1] = str(out_dir)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_WAIT_POLICY": "PASSIVE"}
    proc = subprocess.run([sys.executable, "-m", "deita_hf.cli.main", *argv[1:]], cwd=REPO_ROOT,
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "kept       100 of budget 100" in proc.stdout
    selected = load_dataset(str(out_dir), split="train")
    pool = load_dataset(str(out_dir), "pool", split="train")
    assert len(selected) == 100 and len(pool) == 471
    assert set(pool.column_names) >= {"messages", "source", "complexity", "quality", "embedding"}
    assert "embedding" not in selected.column_names  # the vectors are a config of their own
    emb = np.asarray(load_dataset(str(out_dir), "embeddings", split="train")["embedding"][:])
    assert emb.shape == (100, 384)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    sims = emb @ emb.T
    np.fill_diagonal(sims, -1)
    assert sims.max() <= 0.9 + 1e-6  # the diversity filter held
    for name in ("scores.png", "max_similarity.png", "lengths.png"):
        assert (out_dir / "figures" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    card = (out_dir / "README.md").read_text()
    assert "license: cc-by-sa-3.0" in card and "**Stand-ins:**" in card


def test_keep_vectors_flag_keeps_the_vectors_in_the_training_config(pool_file, tmp_path):
    out_dir = tmp_path / "sel"
    assert main(["select", str(pool_file), "--budget", "10", "--output", str(out_dir),
                 "--keep-vectors", "--no-progress"]) == 0
    loaded = load_dataset(str(out_dir), split="train")
    assert "embedding" in loaded.column_names and "messages" in loaded.column_names
    assert not (out_dir / "embeddings").exists()
    settings = json.loads((out_dir / "deita_selection.json").read_text())
    assert settings["config"]["keep_vectors"] is True


def test_no_progress_hides_every_bar(pool_file, tmp_path, capsys):
    """--no-progress: not one progress bar, the card's statistics pass included."""
    from datasets.utils.tqdm import enable_progress_bars

    try:
        assert main(["select", str(pool_file), "--budget", "10", "--output",
                     str(tmp_path / "sel"), "--no-progress"]) == 0
    finally:
        enable_progress_bars()  # the switch is process-wide: leave it as the other tests expect
    captured = capsys.readouterr()
    assert "Statistics" not in captured.err and "it/s" not in captured.err
    assert "row/s" not in captured.err
