"""`deita-hf study` with lm-evaluation-harness benchmarks next to MT-Bench: two arms on real
Dolly rows, one training step each, MT-Bench (scripted judge, one question) and open_llm (local
task copies, two documents per task); the report shows every benchmark's numbers side by side."""

from __future__ import annotations

import json

import pytest
import yaml
from lm_eval_data import write_tasks_dir
from sample_data import DOLLY, read_jsonl

from deita_hf.cli.main import main
from deita_hf.errors import ConfigError
from deita_hf.study import study_from_dict
from helpers.openai_server import ScriptedOpenAIServer


TRAINING = {"use_cpu": True, "bf16": False, "activation_checkpointing": False, "report_to": "none",
            "per_device_train_batch_size": 2, "learning_rate": 1.0e-3, "logging_steps": 1, "seed": 0,
            "dataset_num_proc": None, "max_length": 512, "save_strategy": "no", "max_steps": 1}


def _judge(body: dict, path: str) -> str:
    return "Fine. Rating: [[7]]"


def test_study_compares_arms_on_mt_bench_and_open_llm(tmp_path, tiny_base_llama, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # NLTK's punkt_tab goes here
    pool = tmp_path / "pool.jsonl"
    pool.write_text("".join(json.dumps(r) + "\n" for r in read_jsonl(DOLLY, 60)), encoding="utf-8")
    (tmp_path / "sft.yaml").write_text(yaml.safe_dump({**TRAINING, "model_name_or_path": str(tiny_base_llama)}))
    tasks = write_tasks_dir(tmp_path / "tasks")
    with ScriptedOpenAIServer(_judge) as server:
        study = {"name": "lm-eval study", "pool": str(pool), "budget": 8,
                 "arms": [{"name": "random", "strategy": "random:seed=0"},
                          {"name": "longest", "strategy": "topk:column=complexity", "complexity_scorer": "length"}],
                 "sft": {"recipe": "sft.yaml"},
                 "evaluation": {"benchmark": ["mt_bench", "open_llm"], "judge": f"openai:{server.url}#judge",
                                "questions": 1, "max_new_tokens": 4, "judge_max_tokens": 16,
                                "tasks_dir": str(tasks), "limit": 2, "batch_size": 2}}
        path = tmp_path / "study.yaml"
        path.write_text(yaml.safe_dump(study), encoding="utf-8")
        assert main(["study", str(path), "--output", str(tmp_path / "out"), "--no-progress"]) == 0
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    table = (tmp_path / "out" / "results.md").read_text()
    columns = ["MT-Bench score", "Open LLM Leaderboard (v1 settings) average %", "ARC-Challenge acc_norm %",
               "HellaSwag acc_norm %", "MMLU acc %", "TruthfulQA (mc2) acc %"]
    assert f"| {' | '.join(columns)} |" in table
    for arm in results["arms"]:
        folder = tmp_path / "out" / "arms" / arm["name"] / "eval"
        mt = json.loads((folder / "mt_bench" / "results.json").read_text())
        lm = json.loads((folder / "open_llm" / "results.json").read_text())
        assert list(arm["scores"]) == columns and arm["score"] == mt["metrics"]["score"] == 7.0
        m = lm["metrics"]
        assert arm["scores"][columns[1]] == pytest.approx(100 * m["average"])
        assert arm["scores"]["MMLU acc %"] == pytest.approx(100 * m["scores"]["mmlu"]["value"])
        assert m["tasks"]["arc_challenge"]["num_fewshot"] == 25 and lm["settings"]["limit"] == 2
        row = next(line for line in table.splitlines() if line.startswith(f"| {arm['name']} |"))
        assert row.endswith(" | ".join(f"{arm['scores'][c]:,.2f}" for c in columns) + " |")


BASE = {"name": "s", "pool": "p.jsonl", "budget": 2, "arms": [{"name": "a", "strategy": "random"}],
        "sft": {"recipe": "sft.yaml"}}


def test_lm_eval_benchmarks_need_no_judge():
    cfg = study_from_dict({**BASE, "evaluation": {"benchmark": ["open_llm", "ifeval", "lm_eval:piqa"]}})
    assert cfg.evaluation.benchmarks == ["open_llm", "ifeval", "lm_eval:piqa"] and cfg.evaluation.judge is None


@pytest.mark.parametrize("evaluation, message", [
    ({"benchmark": ["open_llm", "mt_bench"]}, "mt_bench needs a judge"),
    ({"benchmark": "mt_bench", "judge": "hf:j", "tasks_dir": "t"}, "tasks_dir are for the lm-eval benchmarks"),
    ({"benchmark": ["open_llm", "open_llm"]}, "without repeats"),
    ({"benchmark": "alpaca"}, "'alpaca' is not one of"),
    ({"benchmark": "open_llm", "win_rate": 1}, "unknown key 'win_rate'"),
    ({"benchmark": "lm_eval:"}, "give task names"),
])
def test_bad_study_evaluations_are_one_clear_error(evaluation, message):
    with pytest.raises(ConfigError, match=message):
        study_from_dict({**BASE, "evaluation": evaluation})
