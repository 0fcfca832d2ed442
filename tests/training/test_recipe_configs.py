"""Every YAML under recipes/ parses with its script's parser; bad keys and data fail fast."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml
from recipe_helpers import REPO_ROOT
from sample_data import seed_task_rows, write_jsonl

from deita_hf.data.formats import FormatError

# the SFT/DPO recipes (the scorer recipes of recipes/deita-scorer are tested in
# tests/scorer_training)
RECIPE_YAMLS = sorted(p for p in (REPO_ROOT / "recipes").glob("deita-*/*.yaml")
                      if p.stem in ("sft", "dpo"))
ACCELERATE_YAMLS = sorted((REPO_ROOT / "recipes" / "accelerate_configs").glob("*.yaml"))


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(f"recipe_{name}", REPO_ROOT / "recipes" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse(script: str, *args: str):
    # the recipes ask for bf16, which needs use_cpu=True on a machine without a GPU
    return load_script(script).make_parser().parse_args_and_config([*args, "--use_cpu", "true"])


def test_all_recipe_yamls_exist():
    names = {p.relative_to(REPO_ROOT / "recipes").as_posix() for p in RECIPE_YAMLS}
    assert names == {"deita-mistral-7b/sft.yaml", "deita-mistral-7b/dpo.yaml",
                     "deita-llama2-13b/sft.yaml", "deita-llama2-13b/dpo.yaml"}
    assert {p.name for p in ACCELERATE_YAMLS} == {"ddp.yaml", "zero2.yaml", "zero3.yaml",
                                                  "fsdp.yaml"}


@pytest.mark.parametrize("path", RECIPE_YAMLS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_recipe_yaml_parses_without_drift(path: Path):
    script = path.stem
    raw = yaml.safe_load(path.read_text())
    script_args, training_args, model_args, recipe_args = parse(script, "--config", str(path))
    # every key is a field of one of the four dataclasses, with the YAML's value
    for key, value in raw.items():
        owner = next(a for a in (script_args, training_args, model_args, recipe_args)
                     if hasattr(a, key))
        got = getattr(owner, key)
        got = getattr(got, "value", got)
        if key == "report_to" and value == "none":  # TrainingArguments turns "none" into []
            value = []
        assert got == value or str(got) == str(value), (key, got, value)
    assert "Where the numbers come from" in path.read_text() or "DEITA" in path.read_text()
    total = training_args.per_device_train_batch_size * training_args.gradient_accumulation_steps * 8
    assert training_args.bf16 and training_args.max_length == 2048
    assert training_args.warmup_steps == 0.1
    if script == "sft":  # DEITA SFT: lr 2e-5, 6 epochs, cosine, batch 512, user turns masked
        assert training_args.learning_rate == 2e-5 and training_args.num_train_epochs == 6
        assert training_args.lr_scheduler_type.value == "cosine" and total == 512
        assert training_args.assistant_only_loss
    else:  # DEITA DPO: beta 0.1, lr 5e-7, linear, 9 epochs, batch 32
        assert training_args.beta == 0.1 and training_args.learning_rate == 5e-7
        assert training_args.num_train_epochs == 9 and total == 32
        assert training_args.lr_scheduler_type.value == "linear"


def test_cli_flags_override_yaml():
    path = REPO_ROOT / "recipes" / "deita-mistral-7b" / "sft.yaml"
    script_args, training_args, _, recipe_args = parse(
        "sft", "--config", str(path), "--dataset_name", "out/deita-6k", "--learning_rate", "1e-5",
        "--max_train_samples", "100")
    assert script_args.dataset_name == "out/deita-6k"
    assert training_args.learning_rate == 1e-5 and recipe_args.max_train_samples == 100


def test_unknown_yaml_key_fails(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model_name_or_path: x\nlearning_rat: 1.0e-5\n")
    with pytest.raises(ValueError, match="learning_rat"):
        parse("sft", "--config", str(bad))


def test_bad_recipe_value_fails():
    with pytest.raises(SystemExit):  # argparse rejects a value outside `choices`
        parse("dpo", "--chat_template_mode", "sometimes")


@pytest.mark.parametrize("path", ACCELERATE_YAMLS, ids=lambda p: p.name)
def test_accelerate_configs(path: Path):
    from accelerate.commands.config.config_args import load_config_from_file

    raw = yaml.safe_load(path.read_text())
    expected = {"ddp.yaml": "MULTI_GPU", "zero2.yaml": "DEEPSPEED", "zero3.yaml": "DEEPSPEED",
                "fsdp.yaml": "FSDP"}[path.name]
    assert raw["distributed_type"] == expected
    assert raw["mixed_precision"] == "bf16" and raw["num_processes"] >= 1
    if path.name.startswith("zero"):
        assert raw["deepspeed_config"]["zero_stage"] == int(path.name[4])
    if path.name == "fsdp.yaml":
        assert raw["fsdp_config"]["fsdp_auto_wrap_policy"] == "TRANSFORMER_BASED_WRAP"
    cfg = load_config_from_file(str(path))  # accelerate's own reader accepts every key
    assert cfg.distributed_type.value == expected


@pytest.mark.parametrize("script,dataset,columns", [
    ("sft", "llamafactory_dpo_en_demo_70.jsonl", "conversations"),  # real preference pairs
    ("dpo", "seed_tasks.jsonl", "instances"),  # Alpaca seed tasks' schema, written by hand
])
def test_unconvertible_data_fails_before_model_load(script, dataset, columns, test_data, tmp_path):
    """The model path does not exist: reaching the data error proves it came first."""
    data = (test_data / dataset if (test_data / dataset).is_file()
            else write_jsonl(seed_task_rows(), tmp_path / dataset))
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"model_name_or_path": str(tmp_path / "no-such-model"),
                                   "dataset_name": str(data),
                                   "output_dir": str(tmp_path / "out"), "report_to": "none",
                                   "activation_checkpointing": False}))
    module = load_script(script)
    args = module.make_parser().parse_args_and_config(["--config", str(cfg), "--use_cpu", "true"])
    with pytest.raises(FormatError) as err:
        module.main(*args)
    assert columns in str(err.value) and "found columns" in str(err.value)
    if script == "sft":
        assert "preference data" in str(err.value) and "recipes/dpo.py" in str(err.value)


def test_dpo_max_length_below_max_prompt_length_fails_when_parsed(tmp_path, capsys):
    """DEITA's DPO format keeps the prompt's last max_prompt_length tokens: a max_length not
    above it is refused by the recipe's parser, naming both flags (no data or model loads:
    the paths in the config do not exist)."""
    from deita_hf.cli.main import main as cli
    from deita_hf.errors import ConfigError

    dpo = REPO_ROOT / "recipes" / "deita-mistral-7b" / "dpo.yaml"
    with pytest.raises(ConfigError) as err:
        parse("dpo", "--config", str(dpo), "--max_length", "256")
    text = str(err.value)
    assert text.startswith("--max_length 256 is not above --max_prompt_length 512")
    assert "Raise --max_length above 512 or lower --max_prompt_length below 256" in text
    with pytest.raises(ConfigError, match="--max_length 512 is not above --max_prompt_length 512"):
        parse("dpo", "--config", str(dpo), "--max_length", "512")
    ok = parse("dpo", "--config", str(dpo), "--max_length", "256", "--max_prompt_length", "128")
    assert ok[1].max_length == 256 and ok[3].max_prompt_length == 128
    # the other formats have no prompt budget: TRL 1.16 truncates prompt + completion together
    assert parse("dpo", "--config", str(dpo), "--max_length", "256", "--chat_template_mode",
                 "if_missing")[1].max_length == 256
    # the command line: one line, exit 2, before anything loads
    assert cli(["dpo", "--config", str(dpo), "--max_length", "256", "--use_cpu", "true"]) == 2
    lines = [x for x in capsys.readouterr().err.splitlines() if x.startswith("deita-hf dpo: error:")]
    assert len(lines) == 1 and "--max_prompt_length 512" in lines[0]
