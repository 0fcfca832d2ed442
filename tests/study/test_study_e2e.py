"""`deita-hf study` end to end on CPU: three arms on 200 real Dolly rows, tiny models, one
training step each, a scripted judge for two MT-Bench questions; a study killed in its second
arm's training and run again keeps everything the first run finished."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from sample_data import DOLLY, read_jsonl

from deita_hf.cli.main import main
from deita_hf.errors import ConfigError
from deita_hf.study import load_study, stages, study_from_dict
from helpers.openai_server import ScriptedOpenAIServer

TINY_TRAINING = {
    "use_cpu": True, "bf16": False, "activation_checkpointing": False, "report_to": "none",
    "per_device_train_batch_size": 2, "learning_rate": 1.0e-3, "logging_steps": 1, "seed": 0,
    "dataset_num_proc": None, "assistant_only_loss": True, "max_length": 1024,
    "save_strategy": "no", "max_steps": 50,
}


def judge(body: dict, path: str) -> str:
    return f"Fine. Rating: [[{1 + len(body['messages'][-1]['content']) % 10}]]"


@pytest.fixture()
def study_file(tmp_path, tiny_base_llama, tiny_chat_llama) -> Path:
    pool = tmp_path / "pool.jsonl"
    pool.write_text("".join(json.dumps(r) + "\n" for r in read_jsonl(DOLLY, 200)),
                    encoding="utf-8")
    recipe = tmp_path / "sft.yaml"
    recipe.write_text(yaml.safe_dump({**TINY_TRAINING,
                                      "model_name_or_path": str(tiny_base_llama)}))
    study = {
        "name": "tiny study", "pool": str(pool), "budget": 20,
        "stats_complexity_scorer": "length", "stats_quality_scorer": "length",
        "tables": {"complexity": "Complexity"},
        "arms": [
            {"name": "random", "strategy": "random:seed=0", "tables": ["complexity"]},
            {"name": "instruction-length", "strategy": "topk:column=complexity",
             "complexity_scorer": "length", "tables": ["complexity"]},
            {"name": "deita", "strategy": "deita", "complexity_scorer": "length",
             "quality_scorer": "length", "embedder": f"causal-lm:{tiny_chat_llama}",
             "threshold": 0.9999},
        ],
        "sft": {"recipe": "sft.yaml", "overrides": {"max_steps": 1}},
        "evaluation": {"judge": "openai:URL#judge", "questions": 2, "max_new_tokens": 8,
                       "judge_max_tokens": 32},
    }
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(study), encoding="utf-8")
    return path


def test_study_runs_resumes_and_compares(study_file, tmp_path, monkeypatch):
    calls = {"select": [], "train": [], "eval": []}
    real = {"select": stages.selection_stats, "train": stages.train, "eval": stages.evaluate}
    kill = {"arm": "instruction-length"}

    def select(cfg, folder, **kw):
        calls["select"].append(Path(folder).parent.name)
        return real["select"](cfg, folder, **kw)

    def train(cfg, config_path):
        arm = Path(config_path).parent.name
        calls["train"].append(arm)
        if arm == kill["arm"]:
            raise RuntimeError("killed")
        return real["train"](cfg, config_path)

    def evaluate(cfg, model_dir, eval_dir, **kw):
        calls["eval"].append(Path(model_dir).parent.name)
        return real["eval"](cfg, model_dir, eval_dir, **kw)

    monkeypatch.setattr(stages, "selection_stats", select)
    monkeypatch.setattr(stages, "train", train)
    monkeypatch.setattr(stages, "evaluate", evaluate)
    out = tmp_path / "out"
    with ScriptedOpenAIServer(judge) as server:
        text = study_file.read_text().replace("openai:URL", f"openai:{server.url}")
        study_file.write_text(text)
        argv = ["study", str(study_file), "--output", str(out), "--no-progress"]
        with pytest.raises(RuntimeError, match="killed"):
            main(argv)
        assert calls == {"select": ["random", "instruction-length"],
                         "train": ["random", "instruction-length"], "eval": ["random"]}
        first = out / "arms" / "random"
        stamps = {p: p.stat().st_mtime_ns for p in (first / "model" / "model.safetensors",
                                                    first / "eval" / "results.json",
                                                    first / "selection" / "deita_selection.json")}
        kill["arm"] = None
        for v in calls.values():
            v.clear()
        assert main(argv) == 0
        judged = len([r for r in server.requests if r["path"].endswith("/completions")])
    # the first arm and the second arm's selection were not redone
    assert calls == {"select": ["deita"], "train": ["instruction-length", "deita"],
                     "eval": ["instruction-length", "deita"]}
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items())
    assert judged == 3 * 2 * 2  # 3 arms x 2 questions x 2 turns

    results = json.loads((out / "results.json").read_text())
    arms = {a["name"]: a for a in results["arms"]}
    assert list(arms) == ["random", "instruction-length", "deita"]
    for arm in arms.values():
        assert 1 <= arm["score"] <= 10 and arm["metric"] == "MT-Bench score"
        assert arm["selection"]["rows"] == 20 and arm["selection"]["pool_size"] == 200
        assert arm["selection"]["mean_deita_score"] > 0 and arm["selection"]["mean_chars"] > 0
    # the longest instructions have the largest (length x length) DEITA scores of the three
    assert arms["instruction-length"]["selection"]["mean_chars"] > \
        arms["random"]["selection"]["mean_chars"]
    settings = json.loads((out / "arms/random/selection/deita_selection.json").read_text())
    assert settings["strategy"] == "random" and settings["params"] == {"seed": 0}
    card = (out / "README.md").read_text()
    assert "# tiny study" in card and "### Complexity" in card and "results.png" in card
    assert "| random | `random:seed=0` | 20 |" in card and "deita-hf study" in card
    assert (out / "results.png").stat().st_size > 0 and (out / "results.md").is_file()
    model_card = (out / "arms/instruction-length/model/README.md").read_text()
    assert "--strategy topk:column=complexity" in model_card
    trained = yaml.safe_load((out / "arms/deita/sft.yaml").read_text())
    assert trained["max_steps"] == 1 and trained["dataset_name"].endswith("deita/selection")
    record = json.loads((out / "arms/deita/arm.json").read_text())
    assert all(record["stages"][s]["done"] for s in ("selection", "model", "eval"))


def test_bad_study_files_name_the_key(study_file, tmp_path, capsys):
    base = yaml.safe_load(study_file.read_text())
    with pytest.raises(ConfigError, match=r"study.arms\[0\]: unknown key 'strategi'"):
        study_from_dict({**base, "arms": [{"name": "a", "strategi": "random"}]})
    with pytest.raises(ConfigError, match="study.budget: 'many'"):
        study_from_dict({**base, "budget": "many"})
    with pytest.raises(ConfigError, match="used twice"):
        study_from_dict({**base, "arms": [base["arms"][0], base["arms"][0]]})
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**base, "arms": [{"name": "x", "strategy": "nope"}],
                                   "sft": {**base["sft"], "recipe": str(tmp_path / "sft.yaml")}}))
    assert main(["study", str(bad), "--output", str(tmp_path / "o"), "--dry-run"]) == 2
    assert "arm 'x': Unknown selection strategy 'nope'" in capsys.readouterr().err
    bad.write_text(yaml.safe_dump({**base, "sft": {**base["sft"], "overrides": {"max_stepz": 1}},
                                   "arms": base["arms"][:1]}))
    cfg = load_study(bad)
    assert cfg.sft.recipe == str(tmp_path / "sft.yaml")  # found next to the study file
    assert main(["study", str(bad), "--output", str(tmp_path / "o"), "--dry-run"]) == 2
    assert "unknown recipe key(s) ['max_stepz']" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # nothing written by a dry run


def test_accelerate_launcher_and_changed_stages_are_redone(study_file, tmp_path, monkeypatch):
    """One arm trained under `accelerate launch` (CPU); a changed evaluation redoes only the
    evaluation, a changed budget redoes everything."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")
    data = yaml.safe_load(study_file.read_text())
    data["arms"] = data["arms"][:1]
    data["sft"].update(launcher="accelerate", accelerate_args=[
        "--num_processes", "1", "--num_machines", "1", "--mixed_precision", "no",
        "--dynamo_backend", "no"])
    calls: list[str] = []
    for name in ("selection_stats", "train", "evaluate"):
        real = getattr(stages, name)
        monkeypatch.setattr(stages, name, lambda *a, _r=real, _n=name, **k: (
            calls.append(_n), _r(*a, **k))[1])
    out = tmp_path / "out"
    with ScriptedOpenAIServer(judge) as server:
        data["evaluation"]["judge"] = f"openai:{server.url}#judge"
        data["evaluation"]["questions"] = 1
        study_file.write_text(yaml.safe_dump(data))
        argv = ["study", str(study_file), "--output", str(out), "--no-progress"]
        assert main(argv) == 0
        model = out / "arms" / "random" / "model"
        assert (model / "model.safetensors").is_file() and (model / "README.md").is_file()
        assert calls == ["selection_stats", "train", "evaluate"]
        calls.clear()
        data["evaluation"]["questions"] = 2
        study_file.write_text(yaml.safe_dump(data))
        assert main(argv) == 0
        assert calls == ["evaluate"]
        calls.clear()
        data["budget"] = 10
        data["sft"]["launcher"] = "python"
        study_file.write_text(yaml.safe_dump(data))
        assert main(argv) == 0
        assert calls == ["selection_stats", "train", "evaluate"]
    results = json.loads((out / "results.json").read_text())
    assert results["arms"][0]["selection"]["rows"] == 10
    assert json.loads((out / "arms/random/eval/results.json").read_text())[
        "settings"]["num_questions"] == 2
