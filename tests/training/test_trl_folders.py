"""The folders deita-hf writes train with plain TRL, loaded with plain ``load_dataset(DIR)``:
a selection folder with ``trl.SFTTrainer`` (its ``messages`` column), a preference folder with
``trl.DPOTrainer`` (``prompt``/``chosen``/``rejected`` message lists)."""

from __future__ import annotations

import math

import pytest
from datasets import load_dataset
from sample_data import DOLLY, build_pool, build_selection, read_jsonl

TRAIN = {"use_cpu": True, "bf16": False, "report_to": "none", "max_steps": 1, "logging_steps": 1,
         "save_strategy": "no", "per_device_train_batch_size": 2, "max_length": 128,
         "dataset_num_proc": None, "seed": 0, "activation_checkpointing": False}


@pytest.fixture(scope="module")
def chat_llama(tmp_path_factory):
    """A tiny random LLaMA with a chat template (built offline)."""
    from deita_hf.testing import VICUNA_STYLE_TEMPLATE, build_tiny_llama

    texts = [r["instruction"] + " " + r["output"] for r in read_jsonl(DOLLY, 100)]
    return str(build_tiny_llama(tmp_path_factory.mktemp("chat-llama") / "m", texts=texts,
                                chat_template=VICUNA_STYLE_TEMPLATE))


def _loss(trainer) -> float:
    return next(h["loss"] for h in trainer.state.log_history if "loss" in h)


def test_selection_folder_trains_with_plain_sft_trainer(tmp_path, chat_llama):
    import trl

    from deita_hf.hub import save_selection

    selected, settings = build_selection(build_pool(n_dolly=20, n_mt_bench=4), budget=6)
    out = save_selection(selected, tmp_path / "sel", settings=settings)
    train = load_dataset(str(out))["train"]
    assert "embedding" not in train.column_names  # the vectors are not training data
    trainer = trl.SFTTrainer(model=chat_llama, train_dataset=train,
                             args=trl.SFTConfig(output_dir=str(tmp_path / "sft"), **TRAIN))
    trainer.train()
    assert trainer.state.global_step == 1
    assert math.isfinite(_loss(trainer)) and _loss(trainer) > 0


def test_preference_folder_trains_with_plain_dpo_trainer(tmp_path, chat_llama, test_data):
    """``deita-hf preference`` on ShareGPT pairs (LLaMA-Factory's {from, value}) writes
    prompt/chosen/rejected message lists that DPOTrainer reads as they are."""
    import trl

    from deita_hf.cli.main import main

    out = tmp_path / "pairs"
    assert main(["preference", str(test_data / "llamafactory_dpo_en_demo_70.jsonl"),
                 "--budget", "4", "--seed", "0", "--output", str(out)]) == 0
    train = load_dataset(str(out))["train"]
    for column in ("prompt", "chosen", "rejected"):
        assert {m["role"] for row in train[column] for m in row} <= {"system", "user",
                                                                      "assistant"}
    trainer = trl.DPOTrainer(model=chat_llama, train_dataset=train,
                             args=trl.DPOConfig(output_dir=str(tmp_path / "dpo"),
                                                **{**TRAIN, "max_length": 2048}))
    trainer.train()
    assert trainer.state.global_step == 1
    assert math.isfinite(_loss(trainer)) and _loss(trainer) > 0


def test_sharegpt_selection_trains_on_mapped_roles(tmp_path, chat_llama, test_data):
    """A ShareGPT pool's ``conversations`` ({from: human/gpt}) would replace ``messages`` in TRL
    with its roles unmapped; the training config keeps it whole under another name."""
    import trl
    from datasets import Dataset
    from trl.data_utils import maybe_convert_to_chatml

    from deita_hf.hub import save_selection
    from deita_hf.folder.selection import SHAREGPT_COLUMN

    rows = read_jsonl(test_data / "fastchat_dummy_conversation_20.jsonl", 6)
    selected = Dataset.from_list(rows)
    out = save_selection(selected, tmp_path / "sel", settings={
        "strategy": "random", "budget": 6, "kept": 6, "pool_size": 6, "examined": 6,
        "seconds": 0.0})
    train = load_dataset(str(out))["train"]
    assert train[SHAREGPT_COLUMN][:] == [r["conversations"] for r in rows]  # nothing lost
    seen = maybe_convert_to_chatml(dict(train[0]))  # what SFTTrainer does to every row
    assert {m["role"] for m in seen["messages"]} <= {"system", "user", "assistant"}
    trainer = trl.SFTTrainer(model=chat_llama, train_dataset=train,
                             args=trl.SFTConfig(output_dir=str(tmp_path / "sft"), **TRAIN))
    trainer.train()
    assert trainer.state.global_step == 1
