"""RewardModelScorer on a tiny LlamaForSequenceClassification, against unbatched forward passes."""

import math
import pickle

import pytest
import torch
from datasets import Dataset, load_from_disk

from deita_hf.data.formats import to_messages
from deita_hf.errors import ConfigError
from deita_hf.scoring import RewardModelScorer


def _build(path, tok, num_labels=1, pad=True):
    from transformers import LlamaConfig, LlamaForSequenceClassification

    config = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=4, num_labels=num_labels,
                         pad_token_id=tok.pad_token_id if pad else None, bos_token_id=tok.bos_token_id,
                         eos_token_id=tok.eos_token_id)
    torch.manual_seed(0)
    model = LlamaForSequenceClassification(config)
    with torch.no_grad():
        model.score.weight.mul_(20.0)  # spread the rewards
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)


@pytest.fixture(scope="module")
def reward_model(tmp_path_factory, dolly_rows):
    from deita_hf.testing import VICUNA_STYLE_TEMPLATE, build_tokenizer

    tok = build_tokenizer([r["instruction"] + " " + r["output"] for r in dolly_rows],
                          chat_template=VICUNA_STYLE_TEMPLATE)
    return _build(tmp_path_factory.mktemp("rm") / "rm", tok), tok


def _direct(path, conversations, index=0):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path).eval()
    out = []
    for messages in conversations:
        ids = tok.apply_chat_template(messages, tokenize=True)["input_ids"]
        with torch.no_grad():
            out.append(float(model(torch.tensor([ids])).logits[0, index]))
    return out


def test_rewards_match_unbatched_forward_passes(reward_model, dolly_rows, multi_turn_rows):
    rows = dolly_rows[:7]
    got = RewardModelScorer(reward_model[0], batch_size=3)(Dataset.from_list(rows)[:], list(range(7)))["reward"]
    want = _direct(reward_model[0], [to_messages(r) for r in rows])
    assert got == pytest.approx(want, abs=1e-4)
    assert max(want) - min(want) > 0.05
    convs = [to_messages(r) for r in multi_turn_rows]
    system = [{"role": "system", "content": "Be brief."}, *convs[0]]
    got = RewardModelScorer(reward_model[0], batch_size=4)({"messages": [system, *convs]})["reward"]
    assert len(got) == len(convs) + 1  # one float per row, multi-turn and system included
    assert got == pytest.approx(_direct(reward_model[0], [system, *convs]), abs=1e-4)
    assert got[0] != pytest.approx(got[1], abs=1e-6)


def test_truncation_is_counted(reward_model, dolly_rows):
    with pytest.warns(UserWarning, match=r"of 4 conversations were longer than max_length=32"):
        got = RewardModelScorer(reward_model[0], max_length=32)(Dataset.from_list(dolly_rows[:4])[:])["reward"]
    assert all(math.isfinite(g) for g in got)


def test_needs_a_chat_template_and_a_label(reward_model, tmp_path, dolly_rows):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    path, tok = reward_model
    bare = AutoTokenizer.from_pretrained(path)
    bare.chat_template = None
    model = AutoModelForSequenceClassification.from_pretrained(path)
    with pytest.raises(ConfigError, match=r"has no chat template.*tokenizer.chat_template = "):
        RewardModelScorer(path).use_model(model, bare)
    two = _build(tmp_path / "two", tok, num_labels=2)
    row = Dataset.from_list(dolly_rows[:2])[:]
    with pytest.raises(ConfigError, match="has 2 labels; pass label_index="):
        RewardModelScorer(two)(row)
    got = RewardModelScorer(two, label_index=1)(row)["reward"]
    assert got == pytest.approx(_direct(two, [to_messages(r) for r in dolly_rows[:2]], index=1), abs=1e-4)


def test_model_without_pad_id_scores_one_at_a_time(reward_model, tmp_path, dolly_rows):
    nopad = _build(tmp_path / "nopad", reward_model[1], pad=False)
    got = RewardModelScorer(nopad, batch_size=4)(Dataset.from_list(dolly_rows[:3])[:])["reward"]
    assert got == pytest.approx(_direct(nopad, [to_messages(r) for r in dolly_rows[:3]]), abs=1e-4)


def test_failures_nan_or_raise_with_row(reward_model, dolly_rows):
    batch = Dataset.from_list(dolly_rows[:3])[:]
    scorer = RewardModelScorer(reward_model[0], on_error="nan")
    scorer.load()
    forward = scorer._rt["model"].forward
    target = scorer.encode(to_messages(dolly_rows[1]))[0]

    def broken(*args, input_ids=None, **kwargs):
        if any(row[-len(target):] == target for row in input_ids.tolist()):
            raise RuntimeError("boom")
        return forward(*args, input_ids=input_ids, **kwargs)

    scorer._rt["model"].forward = broken
    with pytest.warns(UserWarning, match=r"1 of 3 conversations got NaN \(row 6: RuntimeError: boom"):
        got = scorer(batch, [5, 6, 7])["reward"]
    assert math.isnan(got[1]) and math.isfinite(got[0]) and math.isfinite(got[2])
    scorer.on_error = "raise"
    with pytest.raises(RuntimeError, match="row 6"):
        scorer(batch, [5, 6, 7])


def test_pickle_and_fingerprint_cache_hit(reward_model, dolly_rows, tmp_path):
    Dataset.from_list(dolly_rows[:5]).save_to_disk(str(tmp_path / "ds"))
    ds = load_from_disk(str(tmp_path / "ds"))
    first = RewardModelScorer(reward_model[0], batch_size=2)
    out1 = ds.map(first, batched=True, with_indices=True)
    assert first.loaded and not pickle.loads(pickle.dumps(first)).loaded
    fresh = RewardModelScorer(reward_model[0], batch_size=2)
    out2 = ds.map(fresh, batched=True, with_indices=True)
    assert not fresh.loaded and out2["reward"][:] == out1["reward"][:]
