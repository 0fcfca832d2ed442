"""The card and deita_selection.json say which preset, scorer dtype and embedder a selection
used, and whether it is the paper's set-up (DeitaEmbedder + the model scorers)."""

import json

import pytest
from sample_data import build_pool, build_selection

from deita_hf.cli.main import main
from deita_hf.hub import save_selection
from deita_hf.hub.card import setup_context

NOT_PAPER = "not the paper's set-up"


def _scorers(embedder_kind: str, scorer_kind: str = "model") -> dict:
    return {"complexity": {"name": "hkust-nlp/deita-complexity-scorer", "kind": scorer_kind,
                           "compute_dtype": "float32"},
            "quality": {"name": "hkust-nlp/deita-quality-scorer", "kind": scorer_kind,
                        "compute_dtype": "float32"},
            "embedder": {"name": "mistralai/Mistral-7B-v0.1" if embedder_kind == "deita-causal-lm"
                         else "sentence-transformers/all-MiniLM-L6-v2", "kind": embedder_kind}}


@pytest.mark.parametrize("embedder, paper", [("sentence-transformers", False),
                                             ("deita-causal-lm", True)])
def test_card_states_whether_it_is_the_paper_setup(tmp_path, embedder, paper):
    pool = build_pool(40, 5)
    selected, settings = build_selection(pool, budget=8)
    settings = {**settings, "scorers": _scorers(embedder), "preset": "deita"}
    out = save_selection(selected, tmp_path / "sel", settings=settings, pool=pool)
    card = (out / "README.md").read_text()
    assert (NOT_PAPER in card) is (not paper)
    assert ("This is the paper's set-up" in card) is paper
    assert "| preset | deita |" in card and "| scorer dtype | float32 |" in card
    if not paper:
        assert "all-MiniLM-L6-v2 (sentence-transformers), not the Repr filter's" in card


def test_length_baselines_and_precomputed_columns():
    ctx = setup_context({"scorers": _scorers("deita-causal-lm", "length-baseline")})
    assert ctx["paper_setup"] is False and NOT_PAPER in ctx["sentence"]
    assert "the complexity scores are the length baseline" in ctx["sentence"]
    assert ctx["scorer_dtype"] is None
    pre = setup_context({"scorers": {"embedder": {"name": "column 'embedding' of the input",
                                                  "kind": "precomputed"}}})
    assert pre["paper_setup"] is None and NOT_PAPER not in pre["sentence"]


def test_select_with_deita_embedder_and_model_scorers(pool_file, tiny_chat_llama, tmp_path):
    """`deita-hf select` with model scorers and DeitaEmbedder (tiny offline LLaMAs): the paper's
    set-up; the card records the scorer dtype used (the deita preset's float32, or --dtype)."""
    common = ["--complexity-scorer", tiny_chat_llama, "--quality-scorer", tiny_chat_llama,
              "--embedder", f"deita:{tiny_chat_llama}", "--budget", "6", "--no-progress",
              "--max-length", "512"]
    out = tmp_path / "paper"
    assert main(["select", pool_file, "--output", str(out), *common]) == 0
    settings = json.loads((out / "deita_selection.json").read_text())
    assert settings["paper_setup"] is True and settings["preset"] == "deita"
    assert settings["scorer_dtype"] == "float32"
    assert settings["scorers"]["complexity"]["compute_dtype"] == "float32"
    assert settings["scorers"]["embedder"]["kind"] == "deita-causal-lm"
    card = (out / "README.md").read_text()
    assert NOT_PAPER not in card and "This is the paper's set-up" in card
    assert "--preset deita" in card  # the reproduce command
    out2 = tmp_path / "bf16"
    assert main(["select", pool_file, "--output", str(out2), *common, "--dtype", "bfloat16",
                 "--preset", "fast"]) == 0
    settings = json.loads((out2 / "deita_selection.json").read_text())
    assert settings["scorer_dtype"] == "bfloat16" and settings["preset"] == "fast"
    assert "| scorer dtype | bfloat16 |" in (out2 / "README.md").read_text()
