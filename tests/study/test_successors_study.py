"""recipes/study/successors.yaml: DEITA against MIG, kMQ, LESS, RDS+ and random, checked offline (every
arm's select arguments, strategy and component specs, every recipe key) with --dry-run."""

from __future__ import annotations

from pathlib import Path

from deita_hf.cli.main import main
from deita_hf.selection.dispatch import parse_strategy
from deita_hf.study import load_study, plan_study

REPO_ROOT = Path(__file__).resolve().parents[2]
SUCCESSORS = REPO_ROOT / "recipes" / "study" / "successors.yaml"


def test_successors_study_parses_and_plans_offline(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(REPO_ROOT)  # the recipe path is relative to the repository
    cfg = load_study(SUCCESSORS)
    assert cfg.budget == 50000 and cfg.evaluation.benchmark == "mt_bench"
    assert [a.name for a in cfg.arms] == ["random", "deita", "mig", "kmq", "less", "rds"]
    strategies = {a.name: parse_strategy(a.strategy) for a in cfg.arms}  # every spec validates
    assert strategies["mig"] == ("mig", {
        "label_embedder": "sentence-transformers:intfloat/e5-mistral-7b-instruct"})
    assert strategies["kmq"] == ("kmq", {}) and strategies["deita"][0] == "deita"
    assert strategies["less"] == ("less", {"target": "recipes/study/less_target.jsonl"})
    less_arm = next(a for a in cfg.arms if a.name == "less")
    assert less_arm.scorers == ["less:meta-llama/Llama-3.1-8B"]
    # RDS+ shares LESS's target file, embedded by the arm's RdsEmbedder like the pool
    assert strategies["rds"] == ("rds", {"target": "recipes/study/less_target.jsonl"})
    rds_arm = next(a for a in cfg.arms if a.name == "rds")
    assert rds_arm.embedder == "rds:meta-llama/Llama-3.1-8B"
    assert cfg.select_args == ["--decontaminate", "mt_bench"]
    plans = plan_study(cfg, tmp_path / "out")
    assert len({p.keys["selection"] for p in plans}) == len(plans) == 6
    assert plans[0].sft["model_name_or_path"] == "meta-llama/Llama-3.1-8B"
    assert plans[0].sft["learning_rate"] == 5.0e-06 and plans[0].sft["num_train_epochs"] == 3
    assert main(["study", str(SUCCESSORS), "--output", str(tmp_path / "out"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "--strategy mig:label_embedder=" in out and "--decontaminate mt_bench" in out
    assert "--scorer 'instag@openai:" in out and "--strategy kmq" in out
    assert "--strategy less:target=recipes/study/less_target.jsonl" in out
    assert "--scorer less:meta-llama/Llama-3.1-8B" in out
    assert "--strategy rds:target=recipes/study/less_target.jsonl" in out
    assert "--embedder rds:meta-llama/Llama-3.1-8B" in out
    assert not (tmp_path / "out").exists()  # a dry run writes nothing


def test_less_target_is_disjoint_from_mt_bench():
    """The LESS arm's target must not be the benchmark that judges the study."""
    from deita_hf.data.loading import load_pool
    from deita_hf.selection.decontamination import find_contamination

    target = load_pool(str(REPO_ROOT / "recipes" / "study" / "less_target.jsonl"))
    assert len(target) == 61
    report = find_contamination(target, "mt_bench")
    assert report.pool_rows == 61 and report.matches == {}, report.matches
