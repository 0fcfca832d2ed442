"""End to end: recipes/sft.py and recipes/dpo.py through `accelerate launch` on CPU.

Three launches share the work (each costs ~15-25 s of imports): an SFT run that saves
checkpoints, a run resumed from one of them, and a DPO run on a `deita-hf preference` folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from recipe_helpers import REPO_ROOT, SELECTION

ACCELERATE = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "1",
              "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]

TINY_TRAINING = {
    "use_cpu": True, "bf16": False, "activation_checkpointing": False, "report_to": "none",
    "per_device_train_batch_size": 2, "learning_rate": 1.0e-3, "logging_steps": 1,
    "seed": 0, "dataset_num_proc": None,
}


def launch(script: str, config: dict, tmp_path: Path, name: str,
           env: dict | None = None) -> subprocess.CompletedProcess:
    """Run a recipe; ``env`` replaces the offline base environment (e.g. ``client_env`` of a
    fake Hub)."""
    cfg = tmp_path / f"{name}.yaml"
    cfg.write_text(yaml.safe_dump({k: v for k, v in config.items() if v is not None}),
                   encoding="utf-8")
    env = dict(os.environ, HF_HUB_OFFLINE="1") if env is None else dict(env)
    env.update(OMP_WAIT_POLICY="PASSIVE", TOKENIZERS_PARALLELISM="false", OMP_NUM_THREADS="1",
               HF_HUB_DISABLE_TELEMETRY="1")
    proc = subprocess.run([*ACCELERATE, f"recipes/{script}", "--config", str(cfg)], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    return proc


def logged_losses(output_dir: Path) -> dict[int, float]:
    state = json.loads((output_dir / "trainer_state.json").read_text())
    return {entry["step"]: entry["loss"] for entry in state["log_history"] if "loss" in entry}


def weights_changed(base: Path, trained: Path) -> bool:
    from safetensors.torch import load_file

    before, after = load_file(base / "model.safetensors"), load_file(trained / "model.safetensors")
    assert before.keys() == after.keys()
    return any(not (before[k] == after[k]).all() for k in before)


@pytest.fixture(scope="module")
def sft_run(tiny_base_llama, selection_folder, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sft")
    results = tmp / "eval.json"
    results.write_text(json.dumps([{"benchmark": "MT-Bench", "metric": "score", "value": 1.25}]))
    config = {
        **TINY_TRAINING, "model_name_or_path": str(tiny_base_llama),
        "dataset_name": str(selection_folder), "dataset_hub_id": "me/deita-dolly-12",
        "output_dir": str(tmp / "out"), "assistant_only_loss": True, "max_length": 192,
        "max_steps": 3, "save_steps": 2, "eval_results_file": str(results),
    }
    proc = launch("sft.py", config, tmp, "sft")
    return tmp / "out", config, proc


def test_sft_trains_saves_and_writes_card(sft_run, tiny_base_llama):
    from huggingface_hub import ModelCard
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from deita_hf.training import VICUNA_V1_1_TEMPLATE

    out, _, _ = sft_run
    losses = logged_losses(out)
    assert sorted(losses) == [1, 2, 3] and all(v > 0 for v in losses.values())
    assert weights_changed(tiny_base_llama, out)
    assert (out / "checkpoint-2").is_dir()
    model = AutoModelForCausalLM.from_pretrained(out)
    assert model.config.vocab_size > 0
    tok = AutoTokenizer.from_pretrained(out)
    assert tok.chat_template == VICUNA_V1_1_TEMPLATE  # installed: the base had none
    assert AutoTokenizer.from_pretrained(tiny_base_llama).chat_template is None

    card = ModelCard.load(out / "README.md")
    assert card.data.datasets == ["me/deita-dolly-12"]
    text = card.text
    assert "[me/deita-dolly-12](https://huggingface.co/datasets/me/deita-dolly-12)" in text
    assert "| budget (rows to keep) | 12 |" in text
    assert "| similarity threshold | 0.9 |" in text
    assert "`instruction-length`" in text and "`response-length`" in text
    assert "`all-MiniLM-L6-v2` @ `c9745ed1`" in text
    assert "| learning_rate | 0.001 |" in text and "| max_steps | 3 |" in text
    assert "| assistant_only_loss | True |" in text
    assert "| MT-Bench | score | 1.25 |" in text
    assert "| global_step | 3 |" in text
    assert "Vicuna v1.1" in text
    assert SELECTION["input"] in text


def test_resumed_run_continues_past_checkpoint(sft_run, tmp_path):
    out, config, _ = sft_run
    resumed = tmp_path / "resumed"
    launch("sft.py", {**config, "output_dir": str(resumed), "max_steps": 4,
                             "resume_from_checkpoint": str(out / "checkpoint-2")},
                  tmp_path, "resume")
    state = json.loads((resumed / "trainer_state.json").read_text())
    assert state["global_step"] == 4
    before, after = logged_losses(out), logged_losses(resumed)
    assert sorted(after) == [1, 2, 3, 4]
    # steps 1-2 come from the checkpoint's state, not from training again
    assert after[1] == before[1] and after[2] == before[2]


def test_dpo_on_preference_folder_and_push(tiny_base_llama, test_data, tmp_path):
    """DPO on a `deita-hf preference` folder, pushed with its card to a local fake Hub."""
    from huggingface_hub import ModelCard
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from deita_hf.cli.main import main as cli
    from deita_hf.data.loading import load_pool
    from deita_hf.testing.hub_server import HubServer, client_env

    pool = load_pool(test_data / "llamafactory_dpo_en_demo_70.jsonl")
    short = pool.filter(lambda r: sum(len(m["value"]) for m in r["conversations"])
                        + max(len(r["chosen"]["value"]), len(r["rejected"]["value"])) < 500)
    short.to_json(str(tmp_path / "pairs.jsonl"))
    pairs = tmp_path / "pairs-8"
    assert cli(["preference", str(tmp_path / "pairs.jsonl"), "--size", "8", "--strategy",
                "deita", "--complexity-scorer", "length", "--quality-scorer", "length",
                "--output", str(pairs)]) == 0
    config = {
        **TINY_TRAINING, "model_name_or_path": str(tiny_base_llama), "dataset_name": str(pairs),
        "output_dir": str(tmp_path / "dpo"), "max_length": 384, "max_steps": 2, "beta": 0.1,
        "save_strategy": "no", "push_to_hub": True, "hub_token": "hf_test_token",
    }
    with HubServer(token="hf_test_token") as hub:
        proc = launch("dpo.py", config, tmp_path, "dpo", client_env(hub, token="hf_test_token"))
        # no hub_model_id: the repo is named after output_dir, as in transformers and TRL
        repo = hub.state.repos[("model", "tester/dpo")]
        pushed = {path: f["content"] for path, f in repo.files.items()}
    # the URL on HF_ENDPOINT, printed at the default log level
    assert f"Pushed the model to {hub.url}/tester/dpo" in proc.stdout
    assert "huggingface.co/tester" not in proc.stdout + proc.stderr
    out = tmp_path / "dpo"
    # the model, tokenizer and OUR card went up (not TRL's draft card)
    assert pushed["README.md"] == (out / "README.md").read_bytes()
    assert pushed["model.safetensors"] == (out / "model.safetensors").read_bytes()
    assert "tokenizer.json" in pushed and "chat_template.jinja" in pushed
    losses = logged_losses(out)
    assert sorted(losses) == [1, 2]
    assert weights_changed(tiny_base_llama, out)
    AutoModelForCausalLM.from_pretrained(out)
    assert "ASSISTANT:" in AutoTokenizer.from_pretrained(out).chat_template
    text = ModelCard.load(out / "README.md").text
    assert "direct preference optimisation" in text
    assert "| strategy | deita |" in text and "| pairs kept | 8 |" in text
    assert f"| pool size | {len(short)} |" in text
    assert "| beta | 0.1 |" in text
    assert "No evaluation results were given" in text
    # a 2-step CPU run is not the DEITA recipe: the card says what differs
    assert "follow the DEITA recipe" not in text
    assert "| max_steps | 2 | not set |" in text and "| learning_rate | 0.001 | 5e-07 |" in text
