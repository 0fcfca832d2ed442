"""`chat_template_mode: deita`: DEITA's dpo_train.py strings, tokenized and truncated as TRL 0.7
did; `train_fraction`/`split_seed`: DEITA's 98% train split."""

import numpy as np
import pytest
from datasets import Dataset
from sample_data import PREFERENCE, read_jsonl

from deita_hf.errors import ConfigError
from deita_hf.training import RecipeArguments, split_train_eval
from deita_hf.training.chat_template import (
    VICUNA_SYSTEM_PROMPT,
    VICUNA_V1_1_TEMPLATE,
    describe_format,
    ensure_chat_template,
)
from deita_hf.training.dpo_data import deita_dpo_dataset, tokenize_deita_pair

#: FastChat vicuna_v1.1, as dpo_train.py reads it: conv.system, conv.sep, conv.sep2
SYSTEM, SEP, SEP2 = VICUNA_SYSTEM_PROMPT, " ", "</s>"


def original_strings(sample: dict) -> dict:
    """dpo_train.py ``preprocess`` on an UltraFeedback-binarized sample, verbatim."""
    prompt = SYSTEM + SEP + sample["messages"][0]["role"] + ": " + sample["prompt"] + SEP
    chosen = sample["chosen"][1]["role"] + ": " + sample["chosen"][1]["content"] + SEP2
    rejected = sample["rejected"][1]["role"] + ": " + sample["rejected"][1]["content"] + SEP2
    return {"prompt": prompt, "chosen": chosen, "rejected": rejected}


def as_ultrafeedback(row: dict) -> dict:
    """A single-turn LLaMA-Factory pair in the UltraFeedback-binarized layout the original read."""
    question = row["conversations"][0]["value"]
    user = {"role": "user", "content": question}
    return {"prompt": question, "messages": [user],
            "chosen": [user, {"role": "assistant", "content": row["chosen"]["value"]}],
            "rejected": [user, {"role": "assistant", "content": row["rejected"]["value"]}]}


@pytest.fixture(scope="module")
def pairs():
    """Three real single-turn preference pairs (LLaMA-Factory's DPO demo, ShareGPT layout)."""
    rows = [r for r in read_jsonl(PREFERENCE) if len(r["conversations"]) == 1]
    return rows[:3]


@pytest.fixture(scope="module")
def tokenizer(tiny_base_llama):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_base_llama)


def test_strings_and_token_ids_equal_the_original(pairs, tokenizer):
    ds = deita_dpo_dataset(Dataset.from_list(pairs), tokenizer, max_length=None)
    assert len(ds) == 3
    for row, got in zip(pairs, ds):
        expected = original_strings(as_ultrafeedback(row))
        assert {k: got[k] for k in ("prompt", "chosen", "rejected")} == expected
        assert got["prompt"].endswith(" user: " + row["conversations"][0]["value"] + " ")
        # prompt: BOS + the string; responses: the string alone, ending in "</s>" = EOS
        assert got["prompt_ids"] == tokenizer(expected["prompt"])["input_ids"]
        assert got["prompt_ids"][0] == tokenizer.bos_token_id
        for key in ("chosen", "rejected"):
            ids = tokenizer(expected[key], add_special_tokens=False)["input_ids"]
            assert got[f"{key}_ids"] == ids and ids[-1] == tokenizer.eos_token_id
            assert ids.count(tokenizer.eos_token_id) == 1


def test_truncation_keeps_the_prompt_end_and_the_response_start(pairs, tokenizer):
    strings = original_strings(as_ultrafeedback(pairs[0]))
    full = tokenize_deita_pair(strings, tokenizer, max_length=None)
    p, c, r = (full[k] for k in ("prompt_ids", "chosen_ids", "rejected_ids"))
    longer = max(len(c), len(r))
    # fits: nothing is cut, even a prompt longer than max_prompt_length
    fit = tokenize_deita_pair(strings, tokenizer, max_length=len(p) + longer,
                              max_prompt_length=8)
    assert fit == full
    # too long: the prompt keeps its LAST 16 tokens, the responses their FIRST max_length - 16
    cut = tokenize_deita_pair(strings, tokenizer, max_length=48, max_prompt_length=16)
    assert cut["prompt_ids"] == p[-16:]
    assert cut["chosen_ids"] == c[:32] and cut["rejected_ids"] == r[:32]
    # DEITA's numbers: 512 + 1,536 = 2,048
    long = {**strings, "prompt": strings["prompt"] + "word " * 3000,
            "chosen": strings["chosen"][:-4] + " more" * 3000 + "</s>"}
    deita = tokenize_deita_pair(long, tokenizer)
    assert len(deita["prompt_ids"]) == 512 and len(deita["chosen_ids"]) == 1536
    assert deita["prompt_ids"] == tokenizer(long["prompt"])["input_ids"][-512:]
    with pytest.raises(ConfigError, match="max_prompt_length"):
        tokenize_deita_pair(strings, tokenizer, max_length=16, max_prompt_length=16)


def test_system_and_multi_turn_prompts(tokenizer):
    rows = [r for r in read_jsonl(PREFERENCE) if len(r["conversations"]) > 1]
    with_system = next(r for r in rows if r["conversations"][0]["from"] == "system")
    multi = next(r for r in rows if len(r["conversations"]) >= 5)
    ds = deita_dpo_dataset(Dataset.from_list([with_system, multi]), tokenizer)
    conv = with_system["conversations"]
    assert ds[0]["prompt"] == conv[0]["value"] + " user: " + conv[1]["value"] + " "
    turns = multi["conversations"]
    expected = SYSTEM + " " + "".join(
        f"user: {m['value']} " if m["from"] == "human" else f"assistant: {m['value']}</s>"
        for m in turns)
    assert ds[1]["prompt"] == expected


def test_recipe_arguments_and_template_modes(tiny_base_llama):
    from transformers import AutoTokenizer

    from deita_hf.training.run import prepare

    args = RecipeArguments(chat_template_mode="deita")
    assert args.max_prompt_length == 512 and args.train_fraction == 1.0 and args.split_seed == 0
    with pytest.raises(ConfigError, match="DPO only"):
        prepare("sft", None, None, None, args)
    with pytest.raises(ConfigError, match="train_fraction"):
        RecipeArguments(train_fraction=0.0)
    tok = AutoTokenizer.from_pretrained(tiny_base_llama)
    assert ensure_chat_template(tok, "deita") is False and not tok.chat_template
    assert "dpo_train.py strings" in describe_format("dpo", "deita", None)
    assert "not DEITA's DPO format" in describe_format("dpo", "if_missing", VICUNA_V1_1_TEMPLATE)
    assert "DEITA's SFT format" in describe_format("sft", "if_missing", VICUNA_V1_1_TEMPLATE)


def test_pretokenized_trainer_keeps_the_ids(tiny_base_llama, pairs, tokenizer, tmp_path):
    from trl import DPOConfig

    from deita_hf.training.dpo_data import pretokenized_dpo_trainer

    ds = deita_dpo_dataset(Dataset.from_list(pairs), tokenizer, max_length=256,
                           max_prompt_length=64)
    config = DPOConfig(output_dir=str(tmp_path), use_cpu=True, bf16=False, max_length=256,
                       per_device_train_batch_size=2, max_steps=1, report_to="none",
                       save_strategy="no", logging_steps=1)
    trainer = pretokenized_dpo_trainer()(model=str(tiny_base_llama), args=config,
                                         train_dataset=ds, processing_class=tokenizer)
    for key in ("prompt_ids", "chosen_ids", "rejected_ids"):
        assert trainer.train_dataset[key] == ds[key]
    trainer.train()
    assert trainer.state.global_step == 1


def test_split_reproduces_deita_permutation():
    n = 1234
    ds = Dataset.from_dict({"row": list(range(n))})
    train, held = split_train_eval(ds, 0.98, seed=0)
    np.random.seed(0)  # DEITA train.py, verbatim
    perm = np.random.permutation(n)
    split = int(len(perm) * 0.98)
    assert train["row"][:] == perm[:split].tolist() and held["row"][:] == perm[split:].tolist()
    assert len(train) == 1209 and len(held) == 25
    all_rows, none = split_train_eval(ds, 1.0)
    assert len(all_rows) == n and len(none) == 0
