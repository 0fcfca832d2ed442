"""`deita-hf preference`: writes a Hub-layout folder that load_pool and the DPO recipe read."""

from __future__ import annotations

import json

from deita_hf.cli.main import main
from deita_hf.data.loading import load_pool
from deita_hf.training import read_data_provenance, to_preference_dataset

POOL = "llamafactory_dpo_en_demo_70.jsonl"  # 70 real pairs (tests/data)


def test_random_output_folder(test_data, tmp_path):
    out = tmp_path / "pairs"
    assert main(["preference", str(test_data / POOL), "--size", "25", "--seed", "3",
                 "--output", str(out)]) == 0
    ds = load_pool(str(out))
    assert len(ds) == 25
    assert sorted(ds.column_names) == ["chosen", "conversations", "prompt", "rejected"]
    # TRL's conversational preference format, the ShareGPT prompt kept beside it
    raw = [json.loads(line) for line in (test_data / POOL).read_text().splitlines()]
    by_prompt = {r["conversations"][-1]["value"]: r for r in raw}
    for row in ds:
        pair = by_prompt[row["prompt"][-1]["content"]]
        assert row["prompt"][-1]["role"] == "user"
        assert row["chosen"] == [{"role": "assistant", "content": pair["chosen"]["value"]}]
        assert row["rejected"] == [{"role": "assistant", "content": pair["rejected"]["value"]}]
        assert row["conversations"] == pair["conversations"]
    settings = json.loads((out / "deita_preference.json").read_text())
    assert settings["strategy"] == "random" and settings["seed"] == 3
    assert settings["pool_size"] == 70 and settings["size"] == 25
    assert settings["complexity_scorer"] is None
    assert len(to_preference_dataset(ds)) == 25
    assert read_data_provenance(str(out))["preference"]["seed"] == 3
    # same seed, same pairs
    again = tmp_path / "again"
    main(["preference", str(test_data / POOL), "--size", "25", "--seed", "3",
          "--output", str(again)])
    assert load_pool(str(again)).to_list() == ds.to_list()


def test_deita_strategy_with_length_scorers(test_data, tmp_path):
    out = tmp_path / "top"
    assert main(["preference", str(test_data / POOL), "--size", "5", "--strategy", "deita",
                 "--complexity-scorer", "length", "--quality-scorer", "length",
                 "--output", str(out)]) == 0
    ds = load_pool(str(out))
    assert list(ds["deita_score"]) == sorted(ds["deita_score"], reverse=True)
    settings = json.loads((out / "deita_preference.json").read_text())
    assert settings["complexity_scorer"]["kind"] == "length-baseline"
    assert "highest DEITA score" in (out / "README.md").read_text()


def test_errors_exit_2(test_data, tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["preference", str(test_data / POOL), "--size", "71",
                 "--output", str(out)]) == 2
    assert "only 70 usable pairs" in capsys.readouterr().err
    out.mkdir(exist_ok=True)
    (out / "x").write_text("x")
    assert main(["preference", str(test_data / POOL), "--size", "3",
                 "--output", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["preference", str(test_data / POOL), "--size", "3", "--complexity-scorer",
                 "length", "--output", str(tmp_path / "p")]) == 2
    assert "--strategy deita only" in capsys.readouterr().err
