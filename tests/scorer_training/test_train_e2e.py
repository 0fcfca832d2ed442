"""End to end, in-process on CPU: `deita-hf scorer-train` on five released-form rows (one step),
labels on the score token only, the folder loads in ComplexityScorer, `deita-hf scorer-eval`
agrees with scipy and updates the card; a quality scorer with held-out rows gets its agreement
in the card at training time."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml
from scorer_helpers import released_row, write_jsonl

from deita_hf.cli.main import main
from deita_hf.scoring.prompts import COMPLEXITY_TEMPLATE

REPO_ROOT = Path(__file__).resolve().parents[2]
TINY = {"use_cpu": True, "bf16": False, "activation_checkpointing": False, "report_to": "none",
        "learning_rate": 1.0e-3, "logging_steps": 1, "seed": 0, "save_strategy": "no",
        "max_length": 256, "per_device_train_batch_size": 5, "dataset_num_proc": None}


def train(tmp: Path, name: str, config: dict) -> Path:
    cfg = tmp / f"{name}.yaml"
    cfg.write_text(yaml.safe_dump({**TINY, **config, "output_dir": str(tmp / name)}))
    assert main(["scorer-train", "--config", str(cfg)]) == 0
    return tmp / name


@pytest.fixture(scope="module")
def complexity_run(tiny_base_llama, released_complexity_rows, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scorer")
    data = write_jsonl(tmp / "released.jsonl", released_complexity_rows)
    out = train(tmp, "complexity", {"model_name_or_path": str(tiny_base_llama),
                                    "dataset_name": str(data), "kind": "complexity", "max_steps": 1})
    return out, tmp


def test_one_step_on_released_rows_and_card(complexity_run, tiny_base_llama):
    out, _ = complexity_run
    state = json.loads((out / "trainer_state.json").read_text())
    assert state["global_step"] == 1 and state["log_history"][0]["loss"] > 0
    card = (out / "README.md").read_text()
    assert str(tiny_base_llama) in card and "released.jsonl" in card
    assert "| learning_rate | 0.001 |" in card and "| completion_only_loss | True |" in card
    assert "Rows trained on: 5" in card and "Not measured yet" in card
    assert "- deita-scorer" in card and "complexity-scorer" in card


def test_labels_cover_the_score_token_only(tiny_base_llama, released_complexity_rows, tmp_path):
    """The rows as TRL prepares them (SFTTrainer's own dataset preparation)."""
    import trl
    from datasets import Dataset
    from transformers import AutoTokenizer

    from deita_hf.scorer_training.data import to_scorer_rows
    from deita_hf.scorer_training.tokens import tokenize_scorer_rows

    tok = AutoTokenizer.from_pretrained(tiny_base_llama)
    rows = to_scorer_rows(Dataset.from_list(released_complexity_rows), "complexity")
    args = trl.SFTConfig(output_dir=str(tmp_path / "unused"), completion_only_loss=True, report_to="none",
                         **{k: v for k, v in TINY.items() if k not in ("report_to",)})
    trainer = trl.SFTTrainer(model=str(tiny_base_llama), args=args, processing_class=tok,
                             train_dataset=tokenize_scorer_rows(rows, tok, "complexity", max_length=256))
    prepared = trainer.train_dataset
    for ex, score in zip(prepared, rows["score"]):
        labelled = [(i, t) for i, t in enumerate(ex["labels"]) if t != -100]
        assert labelled == [(len(ex["input_ids"]) - 1, tok.convert_tokens_to_ids(str(int(score))))]
        batch = trainer.data_collator([ex])
        assert (batch["labels"] != -100).sum() == 1


def test_trained_folder_loads_in_complexity_scorer(complexity_run, short_dolly):
    from datasets import Dataset

    from deita_hf import ComplexityScorer

    out, _ = complexity_run
    ds = Dataset.from_list([{"instruction": r["instruction"], "output": r["output"]}
                            for r in short_dolly[5:9]])
    scored = ds.map(ComplexityScorer(str(out), batch_size=2), batched=True)
    assert all(len(c) == 1 and 1.0 <= c[0] <= 6.0 for c in scored["complexity"])


def test_scorer_eval_equals_scipy_and_updates_card(complexity_run, short_dolly):
    stats = pytest.importorskip("scipy.stats")
    out, tmp = complexity_run
    rows = [{**released_row(COMPLEXITY_TEMPLATE.format(instruction=r["instruction"]), str(1 + i % 6)),
             "seed_id": i // 4} for i, r in enumerate(short_dolly[8:20])]
    rows[5]["conversations"][0]["value"] = "Rate this request: " + short_dolly[3]["instruction"]
    held = write_jsonl(tmp / "held.jsonl", rows)
    res_dir = tmp / "eval"
    assert main(["scorer-eval", str(out), "--data", str(held), "--kind", "complexity",
                 "--output", str(res_dir), "--batch-size", "4", "--update-card", str(out)]) == 0
    results = json.loads((res_dir / "results.json").read_text())
    preds = [json.loads(line) for line in (res_dir / "predictions.jsonl").read_text().splitlines()]
    p, y = [r["predicted"] for r in preds], [r["label"] for r in preds]
    assert y == [float(1 + i % 6) for i in range(12)] and all(1 <= v <= 6 for v in p)
    assert results["overall"]["spearman"] == pytest.approx(stats.spearmanr(p, y).statistic)
    assert results["overall"]["kendall"] == pytest.approx(stats.kendalltau(p, y).statistic)
    assert results["overall"]["mae"] == pytest.approx(sum(abs(a - b) for a, b in zip(p, y)) / 12)
    group = [r for r in preds if r["seed_id"] == "1"]
    assert results["groups"]["1"]["spearman"] == pytest.approx(
        stats.spearmanr([r["predicted"] for r in group], [r["label"] for r in group]).statistic)
    assert results["by_group"]["groups"] == 3
    assert (res_dir / "predicted_vs_label.png").stat().st_size > 1000
    card = (out / "README.md").read_text()
    assert "Not measured yet" not in card and "| Spearman (all rows) |" in card


def test_scorer_eval_on_training_rows_is_labelled_in_the_card(complexity_run, short_dolly, capsys):
    """Issue 24 (d): rows the scorer was trained on are never called held-out in its card."""
    out, tmp = complexity_run
    trained = json.loads((out / "scorer_trained_rows.json").read_text())
    assert trained["rows"] == 5 and len(trained["prompts"]) == 5
    fresh = [released_row(COMPLEXITY_TEMPLATE.format(instruction=r["instruction"]), "2")
             for r in short_dolly[20:23]]
    mixed = write_jsonl(tmp / "mixed.jsonl", [*json.loads("[" + ",".join(
        (tmp / "released.jsonl").read_text().splitlines()) + "]")[:4], *fresh])
    assert main(["scorer-eval", str(out), "--data", str(mixed), "--kind", "complexity",
                 "--output", str(tmp / "eval-mixed"), "--update-card", str(out)]) == 0
    assert "4 of the 7 rows are prompts the scorer was trained on" in capsys.readouterr().out
    assert json.loads((tmp / "eval-mixed" / "results.json").read_text())["trained_rows"] == 4
    card = (out / "README.md").read_text()
    assert "## Agreement (includes training rows)" in card and "## Held-out agreement" not in card
    assert "7 rows, 4 of which the scorer was trained on" in card and "7 held-out rows" not in card
    # rows it never saw: the card says held-out again
    clean = write_jsonl(tmp / "fresh.jsonl", fresh)
    assert main(["scorer-eval", str(out), "--data", str(clean), "--kind", "complexity",
                 "--output", str(tmp / "eval-fresh"), "--update-card", str(out)]) == 0
    card = (out / "README.md").read_text()
    assert "## Held-out agreement" in card and "3 held-out rows" in card
    assert "includes training rows" not in card


def test_bad_score_stops_before_the_model_loads(tiny_base_llama, released_complexity_rows,
                                                tmp_path, capsys):
    rows = [*released_complexity_rows[:2], released_row("Rate: x", "9")]
    data = write_jsonl(tmp_path / "bad.jsonl", rows)
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml.safe_dump({**TINY, "model_name_or_path": str(tmp_path / "missing-model"),
                                   "dataset_name": str(data), "output_dir": str(tmp_path / "o")}))
    assert main(["scorer-train", "--config", str(cfg)]) == 2
    assert "row 2: score '9' is outside 1..6" in capsys.readouterr().err


def test_quality_scorer_with_held_out_agreement_in_card(tiny_base_llama, short_dolly, tmp_path):
    from deita_hf import QualityScorer

    plain = [{"instruction": r["instruction"], "output": r["output"], "score": 1 + i % 6}
             for i, r in enumerate(short_dolly[:12])]
    data = write_jsonl(tmp_path / "plain.jsonl", plain)
    out = train(tmp_path, "quality", {"model_name_or_path": str(tiny_base_llama),
                                      "dataset_name": str(data), "kind": "quality",
                                      "max_steps": 2, "train_fraction": 0.75})
    results = json.loads((out / "held_out_agreement" / "results.json").read_text())
    assert results["rows"] == 3 and math.isfinite(results["overall"]["mae"])
    card = (out / "README.md").read_text()
    assert "held out: 3 (train_fraction 0.75" in card and "| MAE of the expected score |" in card
    assert 1.0 <= QualityScorer(str(out)).score_texts([{"instruction": "a", "output": "b"}])[0] <= 6.0


@pytest.mark.parametrize("kind", ["complexity", "quality"])
def test_shipped_recipes_parse_with_deita_hyperparameters(kind):
    from deita_hf.scorer_training.train import make_scorer_parser

    script, training, _, scorer = make_scorer_parser().parse_args_and_config(
        args=["--config", str(REPO_ROOT / "recipes" / "deita-scorer" / f"{kind}.yaml"),
              "--use_cpu", "true", "--bf16", "false"])
    assert scorer.kind == kind and script.dataset_name == f"hkust-nlp/deita-{kind}-scorer-data"
    assert training.per_device_train_batch_size * training.gradient_accumulation_steps * 4 == 512
    assert (training.num_train_epochs, training.learning_rate, training.warmup_steps,
            training.max_length) == (6, 2e-5, 0.1, 2048)
    assert training.lr_scheduler_type.value == "cosine" and training.completion_only_loss is True
    assert "recipes/scorer.py --config recipes/deita-scorer/complexity.yaml" in (
        REPO_ROOT / "recipes" / "scorer.py").read_text()


def test_recipe_script_under_accelerate_launch(tiny_base_llama, released_quality_rows, tmp_path):
    """recipes/scorer.py as users launch it (one CPU process): one step, model and card saved."""
    import os
    import subprocess
    import sys

    data = write_jsonl(tmp_path / "q.jsonl", released_quality_rows)
    cfg = tmp_path / "q.yaml"
    cfg.write_text(yaml.safe_dump({**TINY, "model_name_or_path": str(tiny_base_llama),
                                   "dataset_name": str(data), "kind": "quality", "max_steps": 1,
                                   "output_dir": str(tmp_path / "out")}))
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_WAIT_POLICY="PASSIVE", OMP_NUM_THREADS="1",
               TOKENIZERS_PARALLELISM="false")
    proc = subprocess.run(
        [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "1",
         "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
         "recipes/scorer.py", "--config", str(cfg)],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert (tmp_path / "out" / "model.safetensors").is_file()
    assert "A DEITA **quality scorer**" in (tmp_path / "out" / "README.md").read_text()


def test_push_goes_to_the_output_dir_name_on_the_configured_endpoint(
        tiny_base_llama, released_complexity_rows, tmp_path):
    """No hub_model_id (the recipes set none): the scorer goes to the output_dir's name, and the
    URL printed is the HF_ENDPOINT's."""
    import os
    import subprocess
    import sys

    from helpers.hub_server import HubServer, client_env

    data = write_jsonl(tmp_path / "released.jsonl", released_complexity_rows)
    cfg = tmp_path / "push.yaml"
    cfg.write_text(yaml.safe_dump({
        **TINY, "model_name_or_path": str(tiny_base_llama), "dataset_name": str(data),
        "kind": "complexity", "max_steps": 1, "output_dir": str(tmp_path / "my-scorer"),
        "push_to_hub": True, "hub_token": "hf_test_token"}))
    with HubServer(token="hf_test_token") as hub:
        env = {**client_env(hub, token="hf_test_token", hf_home=tmp_path / "home"),
               "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
        proc = subprocess.run([sys.executable, "-m", "deita_hf.cli.main", "scorer-train",
                               "--config", str(cfg)], env=env, capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        files = hub.state.repos[("model", "tester/my-scorer")].files
    assert "README.md" in files and "model.safetensors" in files
    assert f"Pushed the scorer to {hub.url}/tester/my-scorer" in proc.stdout
