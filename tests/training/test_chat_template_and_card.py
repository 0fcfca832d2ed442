"""The Vicuna v1.1 template (assistant-only masks) and the model card."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from recipe_helpers import SELECTION

from deita_hf.testing import VICUNA_STYLE_TEMPLATE, build_tokenizer
from deita_hf.training import (
    VICUNA_SYSTEM_PROMPT,
    VICUNA_V1_1_TEMPLATE,
    ensure_chat_template,
    hyperparameters,
    load_eval_results,
    read_data_provenance,
    render_model_card,
)

CONV = [{"role": "user", "content": "Add 2 and 3."}, {"role": "assistant", "content": "5"},
        {"role": "user", "content": "And 4?"}, {"role": "assistant", "content": "9"}]


@pytest.fixture(scope="module")
def tokenizer():
    tok = build_tokenizer(["USER: Add 2 and 3. ASSISTANT: 5 and 9"] * 20)
    assert ensure_chat_template(tok) is True
    return tok


def test_vicuna_render_matches_fastchat(tokenizer):
    text = tokenizer.apply_chat_template(CONV, tokenize=False)
    # FastChat vicuna_v1.1: system + " " + "USER: u ASSISTANT: a</s>" ...
    assert text == (f"<s>{VICUNA_SYSTEM_PROMPT} USER: Add 2 and 3. ASSISTANT: 5</s>"
                    f"USER: And 4? ASSISTANT: 9</s>")
    system = [{"role": "system", "content": "Be brief."}] + CONV[:1]
    assert tokenizer.apply_chat_template(system, tokenize=False, add_generation_prompt=True) == (
        "<s>Be brief. USER: Add 2 and 3. ASSISTANT:")


def test_assistant_mask_covers_replies_and_eos_only(tokenizer):
    out = tokenizer.apply_chat_template(CONV, tokenize=True, return_dict=True,
                                        return_assistant_tokens_mask=True)
    masked = [t for t, m in zip(out["input_ids"], out["assistant_masks"]) if m]
    assert tokenizer.decode(masked) == " 5</s> 9</s>"
    from trl.chat_template_utils import is_chat_template_stop_token_trained

    assert is_chat_template_stop_token_trained(tokenizer)


def test_generation_prompt_is_prefix_of_conversation(tokenizer):
    prompt = tokenizer.apply_chat_template(CONV[:3], add_generation_prompt=True, tokenize=True,
                                           return_dict=True)["input_ids"]
    full = tokenizer.apply_chat_template(CONV, tokenize=True, return_dict=True)["input_ids"]
    assert full[:len(prompt)] == prompt


def test_ensure_chat_template_modes():
    tok = build_tokenizer(chat_template=VICUNA_STYLE_TEMPLATE)
    assert ensure_chat_template(tok, "if_missing") is False
    assert tok.chat_template == VICUNA_STYLE_TEMPLATE
    assert ensure_chat_template(tok, "always") is True
    assert tok.chat_template == VICUNA_V1_1_TEMPLATE
    with pytest.raises(ValueError, match="chat_template_mode='never'"):
        ensure_chat_template(build_tokenizer(), "never")
    with pytest.raises(ValueError, match="expected one of"):
        ensure_chat_template(tok, "maybe")


def test_provenance_from_selection_folder_and_hub_id(tmp_path):
    (tmp_path / "deita_selection.json").write_text(json.dumps(SELECTION))
    (tmp_path / "README.md").write_text("# card\n")
    info = read_data_provenance(str(tmp_path))
    assert info["selection"]["budget"] == 12 and info["hub_id"] is None
    assert info["card_url"] == (tmp_path / "README.md").resolve().as_uri()
    info = read_data_provenance(str(tmp_path), dataset_hub_id="me/sel")
    assert info["card_url"] == "https://huggingface.co/datasets/me/sel"
    hub = read_data_provenance("hkust-nlp/deita-6k-v0")  # offline: no settings, still a link
    assert hub["hub_id"] == "hkust-nlp/deita-6k-v0" and hub["selection"] is None
    (tmp_path / "deita_selection.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_data_provenance(str(tmp_path))


def test_eval_results_formats(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"MT-Bench": 7.2}))
    assert load_eval_results(path) == [{"benchmark": "MT-Bench", "metric": "score", "value": 7.2}]
    path.write_text(json.dumps([{"benchmark": "AlpacaEval", "metric": "win rate", "value": 80}]))
    assert load_eval_results(path)[0]["metric"] == "win rate"
    path.write_text(json.dumps([1, 2]))
    with pytest.raises(ValueError, match="expected a list"):
        load_eval_results(path)


def test_card_states_selection_hparams_versions_and_eval():
    provenance = {"name": "out/deita-6k", "hub_id": "me/deita-6k", "preference": None,
                  "card_url": "https://huggingface.co/datasets/me/deita-6k", "selection": SELECTION}
    hp = hyperparameters(SimpleNamespace(learning_rate=2e-5, num_train_epochs=6, max_steps=-1,
                                         per_device_train_batch_size=4,
                                         gradient_accumulation_steps=16, world_size=8))
    assert hp["total_train_batch_size"] == 512 and "max_steps" not in hp
    card = render_model_card(stage="sft", base_model="mistralai/Mistral-7B-v0.1",
                             provenance=provenance, hparams=hp, model_name="deita-7b-sft",
                             eval_results=[{"benchmark": "MT-Bench", "metric": "score",
                                            "value": 7.22}], num_train_rows=6000)
    assert card.data.base_model == "mistralai/Mistral-7B-v0.1"
    assert card.data.datasets == ["me/deita-6k"]
    text = card.text
    assert "[mistralai/Mistral-7B-v0.1](https://huggingface.co/mistralai/Mistral-7B-v0.1)" in text
    assert "| budget (rows to keep) | 12 |" in text and "| rows examined | 15 |" in text
    assert "| total_train_batch_size | 512 |" in text
    assert "| MT-Bench | score | 7.22 |" in text and "- trl: " in text
    assert "Rows trained on: 6000" in text
    plain = render_model_card(stage="dpo", base_model="/local/sft", hparams={}, model_name="m",
                              provenance={"name": "pairs.jsonl", "hub_id": None, "card_url": None,
                                          "selection": None, "preference": None})
    assert "no deita_hf selection record" in plain.text and plain.data.base_model is None
    assert "No evaluation results" in plain.text
    with pytest.raises(ValueError, match="stage"):
        render_model_card(stage="ppo", base_model="x", hparams={}, model_name="m",
                          provenance=provenance)
