"""Which recipe ran: the recipe YAMLs push where TRL users expect (no hub_model_id), the model
card says "follows the DEITA recipe" only with the recipe's settings, and `--recipe NAME`
resolves from the package (the packaged copies are the top-level recipes/)."""

from __future__ import annotations

import pytest
import yaml
from recipe_helpers import REPO_ROOT

from deita_hf.errors import ConfigError
from deita_hf.training import hyperparameters, render_model_card
from deita_hf.training.config import DEITA_SETTINGS, recipe_differences
from deita_hf.training.packaged import RECIPES_DIR, add_config_flags, expand_recipe
from deita_hf.training.run import make_stage_parser

TOP_RECIPES = REPO_ROOT / "recipes"
YAMLS = sorted([*TOP_RECIPES.glob("deita-*/*.yaml"),
                *TOP_RECIPES.glob("accelerate_configs/*.yaml")])
PROVENANCE = {"name": "out/deita-6k", "hub_id": None, "card_url": None, "selection": None,
              "preference": None}


def _parse(stage, *args):
    parser = add_config_flags(make_stage_parser(stage), stage)
    return parser.parse_args_and_config(expand_recipe([*args, "--use_cpu", "true"], stage))


@pytest.mark.parametrize("path", sorted(TOP_RECIPES.glob("deita-*/*.yaml")), ids=str)
def test_recipe_yamls_name_no_hub_repo(path):
    assert "hub_model_id" not in yaml.safe_load(path.read_text())


@pytest.mark.parametrize("stage", ["sft", "dpo"])
@pytest.mark.parametrize("recipe", ["deita-mistral-7b", "deita-llama2-13b"])
def test_the_recipe_on_eight_processes_is_the_deita_recipe(recipe, stage):
    _, training_args, _, recipe_args = _parse(stage, "--recipe", recipe)
    assert training_args.hub_model_id is None  # transformers then pushes to output_dir's name
    hp = hyperparameters(training_args)
    assert hp["num_processes"] == 1
    assert set(recipe_differences(stage, hp, recipe_args)) == {"total_train_batch_size"}
    # the YAMLs' global batch assumes 8 processes (DEITA's 8 GPUs)
    on_eight = {**hp, "total_train_batch_size": hp["total_train_batch_size"] * 8}
    assert recipe_differences(stage, on_eight, recipe_args) == {}
    card = render_model_card(stage=stage, base_model="mistralai/Mistral-7B-v0.1",
                             provenance=PROVENANCE, hparams=on_eight, model_name="m",
                             recipe_differences={})
    assert "follow the DEITA recipe" in card.text and "differ from the DEITA" not in card.text


def test_trl_defaults_are_not_the_deita_recipe():
    """`deita-hf sft` without --config trains with TRL's defaults: the card says what differs."""
    _, training_args, _, recipe_args = _parse("sft", "--dataset_name", "x", "--output_dir", "o")
    hp = hyperparameters(training_args)
    differences = recipe_differences("sft", hp, recipe_args)
    # SFTConfig's own defaults, read from TRL, against the paper's values
    assert differences["num_train_epochs"] == {"used": training_args.num_train_epochs,
                                               "recipe": 6}
    assert differences["max_length"]["used"] == training_args.max_length != 2048
    assert differences["train_fraction"] == {"used": 1.0, "recipe": 0.98}
    card = render_model_card(stage="sft", base_model="mistralai/Mistral-7B-v0.1",
                             provenance=PROVENANCE, hparams=hp, model_name="m",
                             recipe_differences=differences)
    text = card.text
    assert "follow the DEITA recipe" not in text
    assert "Settings that differ from the DEITA recipe" in text
    assert f"| num_train_epochs | {training_args.num_train_epochs} | 6 |" in text
    unknown = render_model_card(stage="sft", base_model="b", provenance=PROVENANCE, hparams=hp,
                                model_name="m")
    assert "follow the DEITA recipe" not in unknown.text and "not\nrecorded" in unknown.text


def test_deita_settings_are_the_yamls_values():
    for stage in ("sft", "dpo"):
        raw = yaml.safe_load((TOP_RECIPES / "deita-mistral-7b" / f"{stage}.yaml").read_text())
        for key, value in DEITA_SETTINGS[stage].items():
            if key == "total_train_batch_size":
                value_yaml = raw["per_device_train_batch_size"] * raw[
                    "gradient_accumulation_steps"] * 8
            else:
                value_yaml = raw[key]
            assert value_yaml == value, (stage, key)


def test_packaged_recipes_are_the_top_level_recipes():
    for path in YAMLS:
        packaged = RECIPES_DIR / path.relative_to(TOP_RECIPES)
        assert packaged.read_bytes() == path.read_bytes(), path


def test_recipe_flag_resolves_from_the_package(tmp_path):
    args = expand_recipe(["--recipe", "deita-mistral-7b", "--output_dir", "o"], "sft")
    assert args[:2] == ["--config", str(RECIPES_DIR / "deita-mistral-7b" / "sft.yaml")]
    _, training_args, model_args, _ = _parse("dpo", "--recipe=deita-llama2-13b", "--beta", "0.2")
    assert training_args.beta == 0.2 and training_args.learning_rate == 5e-7  # flag over YAML
    assert expand_recipe(["--recipe", "deita-scorer/complexity"], "scorer")[1].endswith(
        "deita-scorer/complexity.yaml")
    with pytest.raises(ConfigError, match="'deita-mistral-8b'.*deita-mistral-7b/sft"):
        expand_recipe(["--recipe", "deita-mistral-8b"], "sft")
    with pytest.raises(ConfigError, match="not both"):
        expand_recipe(["--recipe", "deita-mistral-7b", "--config", "x.yaml"], "sft")


@pytest.mark.parametrize("command", ["sft", "dpo", "scorer-train"])
def test_help_shows_config_and_recipe_first(command, capsys):
    from deita_hf.cli.main import main

    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert text.index("--config YAML") < text.index("--recipe NAME") < text.index("--dataset_name")
    options = text.split("\n\n")[1]  # the first section after the usage
    assert "--config YAML" in options and "--recipe NAME" in options


def test_hub_links_use_the_configured_endpoint(monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", "http://hub.example:8080")
    card = render_model_card(stage="sft", base_model="mistralai/Mistral-7B-v0.1",
                             provenance={**PROVENANCE, "hub_id": "me/d"}, hparams={},
                             model_name="m")
    from deita_hf.training.model_card import read_data_provenance

    assert "(http://hub.example:8080/mistralai/Mistral-7B-v0.1)" in card.text
    assert read_data_provenance("me/d")["card_url"] == "http://hub.example:8080/datasets/me/d"
    assert "huggingface.co" not in card.text.split("## Citation")[0]
