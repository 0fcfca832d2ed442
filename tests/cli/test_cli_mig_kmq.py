"""`deita-hf select --strategy mig` and `--strategy kmq` on real Dolly rows: the CLI computes
what the strategy reads, embeds MIG's tag labels with the named embedder, and picks the rows
the Python strategy picks on the same columns."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import numpy as np
import pytest
from datasets import load_dataset
from sample_data import DOLLY, read_jsonl

from deita_hf.cli.main import main
from deita_hf.components import build_component
from deita_hf.pipeline import DatasetSelector
from deita_hf.selection.kmq import select_kmq
from deita_hf.selection.mig import select_mig


def tags_of(row: dict) -> list[str]:
    """Hand-made tags: the Dolly category and the instruction's two first long words."""
    words = [w.strip("?,.:;\"'()").lower() for w in row["instruction"].split()]
    return sorted({row["category"].replace("_", " "), *[w for w in words if len(w) > 6][:2]})


@pytest.fixture(scope="module")
def tagged_pool(tmp_path_factory) -> Path:
    rows = read_jsonl(DOLLY, 60)
    rng = np.random.default_rng(0)
    for row in rows:
        row["tags"] = tags_of(row)
        row["embedding"] = rng.normal(size=6).tolist()
    path = tmp_path_factory.mktemp("tagged") / "tagged.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def scored(path: Path):
    pool = load_dataset("json", data_files=str(path), split="train")
    selector = DatasetSelector.from_specs("length", "length", "none")
    return selector.score(pool, progress=False, warn=False, roles=("complexity", "quality"))


def settings_of(folder: Path) -> dict:
    return json.loads((folder / "deita_selection.json").read_text(encoding="utf-8"))


def test_mig_embeds_the_tags_and_matches_python(tagged_pool, tmp_path):
    out = tmp_path / "mig"
    assert main(["select", str(tagged_pool), "--budget", "12", "--strategy",
                 "mig:label_embedder=minilm,similarity_threshold=0.6", "--complexity-scorer",
                 "length", "--quality-scorer", "length", "--output", str(out),
                 "--no-progress"]) == 0
    s = settings_of(out)
    assert s["strategy"] == "mig" and s["params"]["similarity_threshold"] == 0.6
    assert s["params"]["label_embedder"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert s["params"]["edges"] > 0 and s["columns"]["tags_column"] == "tags"
    assert s["scorers"]["labels"]["kind"] == "sentence-transformers"
    assert s["specs"] == {"complexity": "length", "quality": "length"}  # no pool embeddings
    ref = select_mig(scored(tagged_pool), 12, complexity_column="complexity",
                     quality_column="quality", similarity_threshold=0.6,
                     label_embedder=build_component("embedding", "minilm"), progress=False)
    selected = load_dataset(str(out), split="train")
    assert selected["instruction"] == ref["instruction"][:]
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "MIG: greedy information gain" in card and "mig:label_embedder=minilm" in card
    argv = shlex.split(s["command"])[1:]
    argv[argv.index("--output") + 1] = str(tmp_path / "again")
    assert main(argv + ["--no-progress"]) == 0
    assert load_dataset(str(tmp_path / "again"), split="train")["instruction"] == \
        selected["instruction"]


def test_mig_needs_tags(test_data, tmp_path, capsys):
    assert main(["select", str(test_data / DOLLY), "--budget", "5", "--strategy",
                 "mig:label_embedder=minilm", "--output", str(tmp_path / "x"),
                 "--no-progress"]) == 2
    assert "reads the column(s) 'tags'" in capsys.readouterr().err


def test_kmq_on_the_pool_embeddings_matches_python(tagged_pool, tmp_path, capsys):
    out = tmp_path / "kmq"
    assert main(["select", str(tagged_pool), "--budget", "14", "--strategy",
                 "kmq:n_clusters=4", "--complexity-scorer", "length", "--quality-scorer",
                 "length", "--output", str(out), "--no-progress"]) == 0
    s = settings_of(out)
    assert s["strategy"] == "kmq" and s["params"]["budget_split"] == "equal"
    assert s["params"]["seed"] == 42 and sum(s["params"]["cluster_quotas"]) == 14
    assert s["scorers"]["embedder"]["kind"] == "precomputed"
    ref = select_kmq(scored(tagged_pool), 14, n_clusters=4, complexity_column="complexity",
                     quality_column="quality", progress=False)
    assert load_dataset(str(out), split="train")["instruction"] == ref["instruction"][:]
    assert main(["select", str(tagged_pool), "--budget", "5", "--strategy", "kmq",
                 "--output", str(tmp_path / "k"), "--no-progress"]) == 2
    assert "n_clusters=512 is more than the 60 rows" in capsys.readouterr().err
