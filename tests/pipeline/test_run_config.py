"""Typed configs and the one pipeline: `--config` YAML for select and score (flags override it,
unknown keys fail), run_selection from Python equals the CLI, the study calls the API, unknown
component options raise, score provenance reaches deita_selection.json, and a resume or array
task recognises the same input however its path is spelled."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from sample_data import DOLLY, read_jsonl

from deita_hf.cli.main import main
from deita_hf.components import build_component
from deita_hf.errors import ConfigError
from deita_hf.pipeline.config import ScoreConfig, SelectionConfig, load_config
from deita_hf.pipeline.run_select import run_selection


@pytest.fixture()
def pool(tmp_path) -> Path:
    path = tmp_path / "pool.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in read_jsonl(DOLLY, 20)),
                    encoding="utf-8")
    return path


def _settings(folder: Path, name: str = "deita_selection.json") -> dict:
    return json.loads((folder / name).read_text(encoding="utf-8"))


def _rows(folder: Path) -> list[str]:
    from deita_hf.data.loading import load_pool

    return load_pool(folder)["instruction"][:]


def test_select_reads_yaml_and_flags_override_it(pool, tmp_path):
    cfg = tmp_path / "select.yaml"
    cfg.write_text(yaml.safe_dump({"budget": 5, "output": str(tmp_path / "yaml"),
                                   "strategy": "topk:column=complexity",
                                   "complexity_scorer": "length"}), encoding="utf-8")
    assert main(["select", str(pool), "--config", str(cfg), "--no-progress"]) == 0
    s = _settings(tmp_path / "yaml")
    assert s["kept"] == 5 and s["strategy"] == "topk" and s["specs"] == {"complexity": "length"}
    # the rows with the longest first user turns, as the length baseline ranks them
    from deita_hf.data.formats import to_turns

    lengths = {r["instruction"]: len(to_turns(r)[0][0]) for r in read_jsonl(DOLLY, 20)}
    assert sorted(lengths.values(), reverse=True)[:5] == [lengths[t] for t in
                                                          _rows(tmp_path / "yaml")]
    out = tmp_path / "flags"
    assert main(["select", str(pool), "--config", str(cfg), "--budget", "3", "--output",
                 str(out), "--no-progress"]) == 0
    assert _settings(out)["kept"] == 3 and _settings(out)["budget"] == 3


def test_unknown_yaml_key_is_an_error_naming_it(pool, tmp_path, capsys):
    cfg = tmp_path / "select.yaml"
    cfg.write_text("budgt: 5\ncomplexity-scorer: length\n", encoding="utf-8")
    assert main(["select", str(pool), "--config", str(cfg), "--output",
                 str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "'budgt'" in err and "did you mean 'complexity_scorer'" in err and "budget" in err
    assert not (tmp_path / "o").exists()
    with pytest.raises(ConfigError, match="'shard_sise'"):
        load_config(ScoreConfig, None, shard_sise=3)


def test_score_reads_yaml_and_flags_override_it(pool, tmp_path, capsys):
    cfg = tmp_path / "score.yaml"
    cfg.write_text(yaml.safe_dump({"output": str(tmp_path / "scored"),
                                   "complexity_scorer": "length", "quality_scorer": "length",
                                   "embedder": "none", "shard_size": 4}), encoding="utf-8")
    assert main(["score", str(pool), "--config", str(cfg), "--shard-size", "7",
                 "--no-progress"]) == 0
    s = _settings(tmp_path / "scored", "deita_score.json")
    assert s["shard_size"] == 7 and s["num_shards"] == 3 and s["num_rows"] == 20
    assert [c["kind"] for c in s["components"]] == ["length-baseline", "length-baseline"]
    cfg.write_text("output: x\nshard_sise: 3\n", encoding="utf-8")
    assert main(["score", str(pool), "--config", str(cfg)]) == 2
    assert "'shard_sise'" in capsys.readouterr().err


def test_run_selection_from_python_gives_the_cli_folder(pool, tmp_path):
    argv = ["select", str(pool), "--budget", "6", "--strategy", "random:seed=3",
            "--complexity-scorer", "length", "--scorer", "random:7", "--output",
            str(tmp_path / "cli"), "--no-progress"]
    assert main(argv) == 0
    result = run_selection(SelectionConfig(
        input=str(pool), budget=6, strategy="random:seed=3", complexity_scorer="length",
        scorers=["random:7"], output=str(tmp_path / "py")), progress=False)
    selected, stats = result  # unpacks like (selected, stats)
    assert stats.kept == 6 and result.output == tmp_path / "py"
    assert _rows(tmp_path / "cli") == _rows(tmp_path / "py") == selected["instruction"][:]
    drop = ("created", "created_at", "seconds", "command", "config", "publishing")
    cli, py = _settings(tmp_path / "cli"), _settings(tmp_path / "py")
    assert {k: v for k, v in cli.items() if k not in drop} == \
        {k: v for k, v in py.items() if k not in drop}
    cli["config"].pop("output"), py["config"].pop("output")
    assert cli["config"] == py["config"]
    import difflib

    changed = [line for line in difflib.ndiff(json.dumps(cli["publishing"], indent=0).splitlines(),
                                              json.dumps(py["publishing"], indent=0).splitlines())
               if line[:1] in "+-"]
    assert all("cli" in line or "py" in line for line in changed), changed  # only the folder
    assert cli["scorers"]["complexity"]["kind"] == "length-baseline"
    assert "random" in cli["scorers"] and cli["scorer_specs"] == ["random:7"]


def test_study_stages_call_the_python_api(pool, tmp_path, monkeypatch):
    import deita_hf.cli.main as cli_main
    from deita_hf.study import stages
    from deita_hf.study.config import ArmConfig, StudyConfig

    def no_cli(*args, **kwargs):
        raise AssertionError("the study used the CLI parser")

    monkeypatch.setattr(cli_main, "build_parser", no_cli)
    cfg = StudyConfig(name="s", pool=str(pool), budget=4, complexity_scorer="length",
                      select_args=["--batch-size", "2"])
    arm = ArmConfig(name="top", strategy="topk:column=complexity", select_args=["--overwrite"])
    config = stages.select_config(cfg, arm, tmp_path / "sel")
    assert isinstance(config, SelectionConfig)
    assert (config.batch_size, config.overwrite, config.complexity_scorer) == (2, True, "length")
    result = stages.select(config, progress=False)
    assert result.stats.kept == 4 and _settings(tmp_path / "sel")["strategy"] == "topk"
    bad = ArmConfig(name="bad", strategy="random", select_args=["--budgett", "3"])
    with pytest.raises(ConfigError, match="arm 'bad'.*'--budgett'"):
        stages.select_config(cfg, bad, tmp_path / "bad")


def test_unknown_component_option_raises_naming_the_accepted_ones():
    with pytest.raises(ConfigError, match=r"QualityScorer takes no option 'max_lenght'.*"
                                          r"max_length"):
        build_component("quality", "/models/q", max_lenght=512)
    # the shared options a component does not take are left out for it, not errors
    assert build_component("embedding", "minilm", max_length=512, on_error="nan") is not None
    with pytest.raises(ConfigError, match="on_error must be one of"):
        build_component("quality", "/models/q", on_error="none")
    with pytest.raises(ConfigError, match="^on_error must be one of"):  # Python: the parameter
        SelectionConfig(on_error="skip").component_options()


def test_score_provenance_reaches_the_selection_settings(pool, tmp_path, capsys):
    scored = tmp_path / "scored"
    assert main(["score", str(pool), "--output", str(scored), "--complexity-scorer", "length",
                 "--quality-scorer", "length", "--embedder", "minilm", "--preset", "fast",
                 "--shard-size", "8", "--no-progress"]) == 0
    recorded = {c["column"]: c for c in _settings(scored, "deita_score.json")["components"]}
    out = tmp_path / "sel"
    assert main(["select", str(scored), "--budget", "5", "--threshold", "0.95", "--output",
                 str(out), "--no-progress"]) == 0
    summary = capsys.readouterr().out
    s = _settings(out)
    assert s["scorers"]["complexity"] == recorded["complexity"]
    assert s["scorers"]["quality"] == recorded["quality"]
    assert s["scorers"]["embedder"] == recorded["embedding"]
    assert s["scorers"]["embedder"]["name"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert s["specs"] == {}  # nothing computed here: every column came from the score run
    assert s["score_run"]["folder"] == str(scored) and s["score_run"]["preset"] == "fast"
    assert s["score_run"]["engine"]["name"] == "local"
    assert s["preset"] == "fast" and s["paper_setup"] is False
    assert "scored by  deita-hf score" in summary and "precomputed" not in json.dumps(s)


def test_resume_recognises_the_input_however_its_path_is_spelled(pool, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    copy = tmp_path / "elsewhere" / "pool-copy.jsonl"
    copy.parent.mkdir()
    shutil.copy(pool, copy)
    base = ["score", "--output", "scored", "--complexity-scorer", "length",
            "--quality-scorer", "length", "--embedder", "none", "--shard-size", "5",
            "--num-shards", "4", "--no-progress"]
    for index, spelling in enumerate(["pool.jsonl", "./pool.jsonl", str(pool.resolve())]):
        assert main([base[0], spelling, *base[1:], "--shard-index", str(index)]) == 0
    assert not (tmp_path / "scored").exists()  # one array shard left
    assert main([base[0], str(copy), *base[1:], "--shard-index", "3"]) == 0
    s = _settings(tmp_path / "scored", "deita_score.json")
    assert s["complete"] and s["num_rows"] == 20
