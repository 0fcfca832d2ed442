"""Presets (`deita`, `fast`), `DatasetSelector.from_preset`, `--preset`, and the offline fast-fail."""

import json
import time

import pytest

from deita_hf.cli.main import main
from deita_hf.embedding import DeitaEmbedder, SentenceEmbedder
from deita_hf.errors import ModelLoadError
from deita_hf.pipeline import DatasetSelector
from deita_hf.pipeline.presets import (
    PRESETS,
    check_models_available,
    paper_setup,
    preset_components,
    required_models,
)
from deita_hf.scoring import ComplexityScorer, InstructionLengthScorer, QualityScorer

PAPER_MODELS = ("hkust-nlp/deita-complexity-scorer", "hkust-nlp/deita-quality-scorer",
                "mistralai/Mistral-7B-v0.1")


@pytest.fixture
def empty_hub_cache(tmp_path, monkeypatch):
    """Offline, with a Hub cache that holds nothing."""
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub-cache"))
    return tmp_path / "hub-cache"


@pytest.fixture
def no_model_loads(monkeypatch):
    """Fail the test if any component starts loading a model."""
    def refuse(self, *a, **k):
        raise AssertionError(f"{type(self).__name__} started loading a model")

    for cls in (ComplexityScorer, QualityScorer, DeitaEmbedder, SentenceEmbedder):
        monkeypatch.setattr(cls, "load", refuse)


def test_presets_are_the_paper_and_the_fast_set_up():
    deita, fast = PRESETS["deita"], PRESETS["fast"]
    assert dict(deita.specs) == {"complexity": PAPER_MODELS[0], "quality": PAPER_MODELS[1],
                                 "embedding": "deita"}
    assert deita.dtype("complexity") == deita.dtype("quality") == "float32"
    assert deita.dtype("embedding") is None and deita.threshold == 0.9
    assert fast.specs["embedding"] == "minilm" and fast.specs["quality"] == PAPER_MODELS[1]
    assert fast.dtype("quality") is None  # no GPU here: auto (float32 on CPU)
    assert required_models(deita.specs) == dict(zip(("complexity", "quality", "embedding"),
                                                    PAPER_MODELS))
    # explicit parts override; an explicit spec runs in auto (or --dtype), not the preset's
    parts = preset_components("deita", {"quality": "length", "embedding": "minilm"})
    assert parts == {"complexity": (PAPER_MODELS[0], {"dtype": "float32"}),
                     "quality": ("length", {}), "embedding": ("minilm", {})}
    assert preset_components("deita", dtype="bfloat16")["complexity"][1] == {"dtype": "bfloat16"}


def test_from_preset_and_from_pretrained():
    sel = DatasetSelector.from_preset("deita")
    assert sel.preset == "deita" and sel.threshold == 0.9
    assert isinstance(sel.complexity_scorer, ComplexityScorer)
    assert sel.complexity_scorer.model_name_or_path == PAPER_MODELS[0]
    assert sel.complexity_scorer.describe()["compute_dtype"] == "float32"
    assert isinstance(sel.embedder, DeitaEmbedder)
    assert sel.embedder.model_name_or_path == PAPER_MODELS[2]
    fast = DatasetSelector.from_preset("fast", threshold=0.8, batch_size=4)
    assert isinstance(fast.embedder, SentenceEmbedder) and fast.threshold == 0.8
    assert fast.quality_scorer.batch_size == 4
    mixed = DatasetSelector.from_pretrained("length", embedder="none", dtype="bfloat16")
    assert isinstance(mixed.complexity_scorer, InstructionLengthScorer)
    assert mixed.embedder is None and mixed.quality_scorer.dtype == "bfloat16"
    setup = DatasetSelector.from_preset("deita").setup()
    assert setup == {"preset": "deita", "scorer_dtype": "float32",
                     "embedder": f"{PAPER_MODELS[2]} [deita-causal-lm]", "paper_setup": True}
    assert DatasetSelector.from_preset("fast").setup()["paper_setup"] is False
    with pytest.raises(ValueError, match="Unknown preset"):
        DatasetSelector.from_preset("paper")


def test_paper_setup_rules():
    model, minilm = {"kind": "model"}, {"kind": "sentence-transformers"}
    deita, length = {"kind": "deita-causal-lm"}, {"kind": "length-baseline"}
    pre = {"kind": "precomputed"}
    assert paper_setup({"complexity": model, "quality": model, "embedder": deita}) is True
    assert paper_setup({"complexity": model, "quality": model, "embedder": minilm}) is False
    assert paper_setup({"complexity": length, "quality": model, "embedder": deita}) is False
    assert paper_setup({"complexity": pre, "quality": model, "embedder": deita}) is None
    assert paper_setup({"complexity": pre, "quality": pre, "embedder": minilm}) is False


def test_select_preset_deita_fails_fast_offline(pool_file, tmp_path, capsys, empty_hub_cache,
                                                no_model_loads):
    start = time.monotonic()
    rc = main(["select", pool_file, "--budget", "5", "--output", str(tmp_path / "out"),
               "--preset", "deita", "--no-progress"])
    assert rc == 2 and time.monotonic() - start < 30
    err = capsys.readouterr().err
    assert err.count("needs 3 model(s)") == 1
    for model in PAPER_MODELS:
        assert model in err
    assert "--preset fast" in err
    assert "--complexity-scorer length --quality-scorer length --embedder minilm" in err
    assert not (tmp_path / "out").exists()
    # the default preset is `deita`: the same message without --preset
    assert main(["select", pool_file, "--budget", "5", "--output", str(tmp_path / "out2"),
                 "--no-progress"]) == 2
    assert "deita-hf select --preset deita needs 3 model(s)" in capsys.readouterr().err
    # `deita-hf score` checks the same way, before anything loads
    assert main(["score", pool_file, "--output", str(tmp_path / "scored"), "--preset",
                 "deita"]) == 2
    assert "deita-hf score --preset deita needs 3 model(s)" in capsys.readouterr().err
    # explicit flags override the preset: only the scorers are missing with --embedder minilm
    with pytest.raises(ModelLoadError, match="needs 2 model") as info:
        check_models_available({"complexity": PAPER_MODELS[0], "quality": PAPER_MODELS[1],
                                "embedding": "minilm"}, preset="deita")
    assert PAPER_MODELS[2] not in str(info.value)


def test_cached_or_local_models_pass_the_offline_check(empty_hub_cache, tiny_chat_llama):
    specs = {"complexity": PAPER_MODELS[0], "quality": PAPER_MODELS[1], "embedding": "deita"}
    for model in PAPER_MODELS:  # a Hub-cache entry holding config.json
        repo = empty_hub_cache / f"models--{model.replace('/', '--')}"
        (repo / "refs").mkdir(parents=True)
        (repo / "refs" / "main").write_text("0" * 40)
        (repo / "snapshots" / ("0" * 40)).mkdir(parents=True)
        (repo / "snapshots" / ("0" * 40) / "config.json").write_text("{}")
    check_models_available(specs)
    local = {"complexity": tiny_chat_llama, "quality": "length",
             "embedding": f"deita:{tiny_chat_llama}"}
    assert required_models(local) == {}


def test_make_example_flags_run_offline_and_card_says_not_the_paper(pool_file, tmp_path,
                                                                    empty_hub_cache):
    out = tmp_path / "example"
    assert main(["select", pool_file, "--budget", "5", "--output", str(out), "--no-progress",
                 "--complexity-scorer", "length", "--quality-scorer", "length",
                 "--embedder", "minilm"]) == 0
    settings = json.loads((out / "deita_selection.json").read_text())
    assert settings["preset"] == "deita" and settings["paper_setup"] is False
    assert settings["scorer_dtype"] is None
    assert settings["embedder"] == "sentence-transformers/all-MiniLM-L6-v2 [sentence-transformers]"
    card = (out / "README.md").read_text()
    assert "not the paper's set-up" in card
    assert "| preset | deita |" in card and "| scorer dtype | – |" in card


def test_scorers_score_whole_prompts_unless_a_max_length_is_given():
    """The `deita` preset scores as the original: no cut; `--max-length N` / max_length=N cuts."""
    import argparse

    from deita_hf.cli.options import add_component_arguments, component_options

    for name in PRESETS:
        sel = DatasetSelector.from_preset(name, embedder="none")
        for scorer in (sel.complexity_scorer, sel.quality_scorer):
            assert scorer.max_length is None
            assert scorer.describe()["truncation"] == "none"
    parser = argparse.ArgumentParser()
    add_component_arguments(parser, complexity=None, quality=None, embedder=None, preset="deita")
    options = component_options(parser.parse_args([]))
    assert options["max_length"] is None
    sel = DatasetSelector.from_preset("deita", **options)
    assert sel.complexity_scorer.max_length is None
    card = sel.card_scorers()  # what the card's scorer table and deita_selection.json record
    assert card["complexity"]["truncation"] == card["quality"]["truncation"] == "none"
    assert card["quality"]["max_length"] is None
    assert sel.embedder.max_length == 2048  # DeitaEmbedder cuts at 2,048 tokens, as the original
    cut = DatasetSelector.from_preset("deita", **component_options(
        parser.parse_args(["--max-length", "1024"])))
    assert cut.quality_scorer.max_length == cut.embedder.max_length == 1024
    assert cut.quality_scorer.describe()["truncation"] == "instruction/response text"
    with pytest.raises(ValueError, match="--max-length must be positive"):
        component_options(parser.parse_args(["--max-length", "0"]))
