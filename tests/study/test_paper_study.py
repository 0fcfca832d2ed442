"""recipes/study/deita-paper.yaml: the DEITA paper's three controlled tables, checked offline
(every arm's select arguments, strategy and component specs, every recipe key) with --dry-run."""

from __future__ import annotations

from pathlib import Path

from deita_hf.cli.main import main
from deita_hf.study import load_study, plan_study

REPO_ROOT = Path(__file__).resolve().parents[2]
PAPER = REPO_ROOT / "recipes" / "study" / "deita-paper.yaml"


def test_paper_study_plans_offline(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(REPO_ROOT)  # the recipe path is relative to the repository
    cfg = load_study(PAPER)
    assert cfg.budget == 6000 and cfg.evaluation.benchmarks == ["mt_bench", "win_rate", "open_llm"]
    tables = {key: [a.description for a in cfg.arms if key in a.tables] for key in cfg.tables}
    assert tables["complexity"] == [
        "Random Selection", "Instruction Length", "Perplexity", "Direct Scoring",
        "Instruction Node", "Evol-Complexity (DEITA complexity scorer)"]
    assert tables["quality"] == ["Random Selection", "Response Length", "Direct Scoring",
                                 "Evol-Quality (DEITA quality scorer)"]
    assert tables["diversity"] == ["Random Selection", "Instag Diversity",
                                   "Repr Filter (DEITA-score order)"]
    plans = plan_study(cfg, tmp_path / "out")
    assert len({p.keys["selection"] for p in plans}) == len(plans) == 11
    assert plans[0].sft["model_name_or_path"] == "huggyllama/llama-13b"
    assert main(["study", str(PAPER), "--output", str(tmp_path / "out"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "--strategy topk:column=instag_nodes" in out and "--scorer 'instag@openai:" in out
    assert not (tmp_path / "out").exists()  # a dry run writes nothing
