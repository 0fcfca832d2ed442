"""Tokenization: prompt then one score token; over-long prompts keep the template tail; a
tokenizer without single-token digits is refused with advice."""

from __future__ import annotations

import pytest
from datasets import Dataset

from deita_hf.errors import ConfigError
from deita_hf.scorer_training.data import to_scorer_rows
from deita_hf.scorer_training.tokens import check_score_tokens, tokenize_scorer_rows


@pytest.fixture(scope="module")
def tokenizer(tiny_base_llama):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_base_llama)


def test_prompt_ids_then_score_token(tokenizer, released_complexity_rows):
    rows = to_scorer_rows(Dataset.from_list(released_complexity_rows), "complexity")
    enc = tokenize_scorer_rows(rows, tokenizer, "complexity", max_length=256)
    ids = check_score_tokens(tokenizer, "tiny")
    for ex, prompt, score in zip(enc, rows["prompt"], rows["score"]):
        assert ex["input_ids"][:-1] == tokenizer(prompt)["input_ids"]   # as the scorers tokenize it
        assert ex["input_ids"][-1] == ids[int(score) - 1]
        assert ex["completion_mask"] == [0] * (len(ex["input_ids"]) - 1) + [1]


def test_long_prompts_are_fitted_and_unknown_long_prompts_dropped(tokenizer, short_dolly):
    long = " ".join(r["output"] for r in short_dolly)
    ds = Dataset.from_list([{"conversations": [{"from": "human", "value": p}, {"from": "gpt", "value": "4"}]}
                            for p in (f"Rate: {long}",)]
                           + [{"conversations": [{"from": "human", "value": "Rate: short"},
                                                 {"from": "gpt", "value": "2"}]}])
    plain = to_scorer_rows(Dataset.from_dict({"instruction": [long], "score": [4]}), "complexity")
    ex = tokenize_scorer_rows(plain, tokenizer, "complexity", max_length=96)[0]
    assert 90 <= len(ex["input_ids"]) <= 96
    assert tokenizer.decode(ex["input_ids"]).endswith("##Complexity: 4")
    raw = tokenize_scorer_rows(to_scorer_rows(ds, "complexity"), tokenizer, "complexity", max_length=96)
    assert len(raw) == 1 and tokenizer.decode(raw[0]["input_ids"]).endswith("Rate: short2")


def test_tokenizer_without_single_digit_tokens_is_refused():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({"<unk>": 0, "hello": 1, "12": 2}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>")
    with pytest.raises(ConfigError, match=r"Cannot train a DEITA scorer from 'words'.*add the six tokens"):
        check_score_tokens(fast, "words")
