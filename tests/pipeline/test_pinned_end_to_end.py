"""Issue 8's pin: the restructured package selects, scores and writes cards as 0.1.0 did.

`tests/data/golden_select_v0_1.json` was written by deita_hf 0.1.0 (commit 65cf900, before the
restructure) running the command it records on the bundled Dolly rows. The same command today
must keep the same rows in the same order with the same scores, and a card with the same
sections; timestamps and the embedding storage dtype (float64 then, float32 now) aside.
"""

import json
import shlex
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from deita_hf.cli.main import main

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden_select_v0_1.json"
REPO_ROOT = Path(__file__).resolve().parents[2]


def _table(folder: Path) -> list[dict]:
    return pq.read_table(sorted(str(p) for p in folder.glob("*.parquet"))).to_pylist()


def test_same_rows_scores_and_card_as_v0_1(tmp_path):
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    argv = shlex.split(golden["command"])[1:]  # drop "deita-hf"
    argv[1] = str(REPO_ROOT / argv[1])  # the input, relative to the repository
    out = tmp_path / "pinned"
    assert main([*argv, "--output", str(out), "--no-progress"]) == 0

    kept, pool = _table(out / "data"), _table(out / "pool")
    assert [r["instruction"] for r in kept] == golden["kept_instructions"]
    assert [r["deita_score"] for r in kept] == golden["deita_score"]
    assert [r["deita_rank"] for r in kept] == golden["deita_rank"]
    assert [r["complexity"] for r in kept] == golden["complexity"]
    assert [r["quality"] for r in kept] == golden["quality"]
    assert [r["deita_score"] for r in pool] == golden["pool_deita_score"]
    vectors = _table(out / "embeddings")  # the vectors are a config of their own
    np.testing.assert_allclose(vectors[0]["embedding"], golden["embedding_first_row"], atol=1e-6)

    settings = json.loads((out / "deita_selection.json").read_text(encoding="utf-8"))
    for key, value in golden["settings"].items():
        if key == "max_similarity":  # the first kept row has none (null)
            assert [v is None for v in settings[key]] == [v is None for v in value]
            np.testing.assert_allclose([v for v in settings[key] if v is not None],
                                       [v for v in value if v is not None], atol=1e-6)
        else:
            assert settings[key] == value, key

    body = (out / "README.md").read_text(encoding="utf-8").split("---", 2)[2]
    sections = [line for line in body.splitlines() if line.startswith("#")]
    assert sections == golden["card_sections"]
