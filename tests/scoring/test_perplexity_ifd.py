"""PerplexityScorer / IFDScorer against a direct, unbatched, unpadded forward pass in the test."""

import math
import pickle

import pytest
import torch
from datasets import Dataset, load_from_disk

from deita_hf.data.formats import to_turns
from deita_hf.errors import ConfigError, ModelLoadError
from deita_hf.scoring import IFDScorer, PerplexityScorer, ifd_filter
from deita_hf.scoring.lm_loss import PROMPTS, fit_lengths


@pytest.fixture(scope="module")
def lm(tiny_base_llama):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = str(tiny_base_llama)
    return path, AutoTokenizer.from_pretrained(path), AutoModelForCausalLM.from_pretrained(path).eval()


def _mean_nll(model, ids, n):
    """Mean -log p of the last n tokens, by hand in float64."""
    with torch.no_grad():
        logp = torch.log_softmax(model(torch.tensor([ids])).logits[0].double(), dim=-1)
    return float(-sum(logp[len(ids) - n - 1 + j, ids[len(ids) - n + j]] for j in range(n)) / n)


def _direct(lm, context, response, max_length=10**6):
    _, tok, model = lm
    c = tok(context, add_special_tokens=False)["input_ids"]
    r = tok(response, add_special_tokens=False)["input_ids"]
    n_c, n_r = fit_lengths(len(c), len(r), max_length)
    c, r = c[len(c) - n_c:], r[:n_r]
    bos = [tok.bos_token_id]
    return _mean_nll(model, bos + c + r, len(r)), _mean_nll(model, bos + r, len(r))


def test_perplexity_and_ifd_match_a_direct_forward_pass(lm, dolly_rows):
    rows = dolly_rows[:7]
    batch = Dataset.from_list(rows)[:]
    ppl = PerplexityScorer(lm[0], batch_size=3)(batch, list(range(7)))["perplexity"]  # mixed lengths
    ifd = IFDScorer(lm[0], batch_size=4, layout="separate")(batch, list(range(7)))["ifd"]
    want = [_direct(lm, PROMPTS["alpaca"].format(instruction=i), r) for i, r in (to_turns(x)[0] for x in rows)]
    assert [p[0] for p in ppl] == pytest.approx([math.exp(c) for c, _ in want], rel=1e-5)
    assert [v[0] for v in ifd] == pytest.approx([c / a for c, a in want], rel=1e-5)
    assert max(v[0] for v in ifd) - min(v[0] for v in ifd) > 0.01  # the check has teeth


def test_plain_and_chat_contexts(lm, tiny_chat_llama, dolly_rows):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    instruction, response = to_turns(dolly_rows[3])[0]
    row = {"instruction": [instruction], "output": [response]}
    got = PerplexityScorer(lm[0], prompt="plain")(row)["perplexity"][0][0]
    assert got == pytest.approx(math.exp(_direct(lm, instruction + "\n", response)[0]), rel=1e-5)
    tok = AutoTokenizer.from_pretrained(tiny_chat_llama)
    chat_lm = (tiny_chat_llama, tok, AutoModelForCausalLM.from_pretrained(tiny_chat_llama).eval())
    context = tok.apply_chat_template([{"role": "user", "content": instruction}], add_generation_prompt=True,
                                      tokenize=False)
    c, a = _direct(chat_lm, context, response)
    assert IFDScorer(tiny_chat_llama, prompt="chat", layout="separate")(row)["ifd"][0][0] == pytest.approx(c / a, rel=1e-5)
    with pytest.raises(ConfigError, match="no chat template"):
        PerplexityScorer(lm[0], prompt="chat")(row)
    with pytest.raises(ConfigError, match="instruction"):
        PerplexityScorer(lm[0], prompt="no field")


def test_one_value_per_turn(lm, multi_turn_rows):
    batch = Dataset.from_list(multi_turn_rows)[:]
    got = IFDScorer(lm[0], batch_size=2, layout="separate")(batch, list(range(len(multi_turn_rows))))["ifd"]
    n_turns = [len(to_turns(r)) for r in multi_turn_rows]
    assert [len(g) for g in got] == n_turns and max(n_turns) >= 2
    instruction, response = to_turns(multi_turn_rows[0])[1]
    c, a = _direct(lm, PROMPTS["alpaca"].format(instruction=instruction), response)
    assert got[0][1] == pytest.approx(c / a, rel=1e-5)


def test_truncation_is_counted_and_scores_the_cut_tokens(lm, dolly_rows):
    rows = dolly_rows[:6]
    with pytest.warns(UserWarning, match=r"of 6 turns were longer than max_length=64"):
        got = PerplexityScorer(lm[0], max_length=64, prompt="plain")(Dataset.from_list(rows)[:])["perplexity"]
    want = [math.exp(_direct(lm, i + "\n", r, max_length=64)[0]) for i, r in (to_turns(x)[0] for x in rows)]
    assert [g[0] for g in got] == pytest.approx(want, rel=1e-5)


def test_empty_response_and_failures_never_give_a_number(lm, dolly_rows):
    row = {"instruction": ["Say nothing.", dolly_rows[0]["instruction"]], "output": ["", dolly_rows[0]["output"]]}
    with pytest.warns(UserWarning, match="1 of 2 turns have an empty response"):
        got = IFDScorer(lm[0])(row)["ifd"]
    assert math.isnan(got[0][0]) and math.isfinite(got[1][0])
    rows = dolly_rows[:4]
    batch = Dataset.from_list(rows)[:]
    tok = lm[1]
    lengths = [1 + len(tok(PROMPTS["alpaca"].format(instruction=i), add_special_tokens=False)["input_ids"])
               + len(tok(r, add_special_tokens=False)["input_ids"]) for i, r in (to_turns(x)[0] for x in rows)]
    assert lengths.count(lengths[2]) == 1
    lenient = _break_on_length(PerplexityScorer(lm[0], on_error="nan", batch_size=4), lengths[2])
    with pytest.warns(UserWarning, match=r"1 forward passes failed and gave NaN \(row 12 turn 0: RuntimeError"):
        got = lenient(batch, [10, 11, 12, 13])["perplexity"]
    assert math.isnan(got[2][0]) and all(math.isfinite(g[0]) for i, g in enumerate(got) if i != 2)
    strict = _break_on_length(PerplexityScorer(lm[0], batch_size=4), lengths[2])
    with pytest.raises(RuntimeError, match="row 12 turn 0"):
        strict(batch, [10, 11, 12, 13])


def _break_on_length(scorer, n_tokens):
    """Make the scorer's model fail on any batch holding a sequence of ``n_tokens`` tokens."""
    scorer.load()
    forward = scorer._rt["model"].forward

    def broken(*args, attention_mask=None, **kwargs):
        if bool((attention_mask.sum(-1) == n_tokens).any()):
            raise RuntimeError("boom")
        return forward(*args, attention_mask=attention_mask, **kwargs)

    scorer._rt["model"].forward = broken
    return scorer


def test_ifd_filter_drops_what_cherry_drops():
    ds = Dataset.from_dict({"ifd": [[0.5], [1.01], [0.9, 0.8], [float("nan")], [0.3, 1.5]]})
    assert ifd_filter(ds)["ifd"][:] == [[0.5], [0.9, 0.8]]
    assert len(ifd_filter(ds, max_value=2.0)) == 4


def test_pickle_and_fingerprint_cache_hit(lm, dolly_rows, tmp_path):
    Dataset.from_list(dolly_rows[:6]).save_to_disk(str(tmp_path / "ds"))
    ds = load_from_disk(str(tmp_path / "ds"))
    first = IFDScorer(lm[0], batch_size=4)
    out1 = ds.map(first, batched=True, with_indices=True)
    assert first.loaded and len(pickle.dumps(first)) < 5000 and not pickle.loads(pickle.dumps(first)).loaded
    fresh = IFDScorer(lm[0], batch_size=4)
    out2 = ds.map(fresh, batched=True, with_indices=True)
    assert not fresh.loaded and out2.cache_files == out1.cache_files and out2["ifd"][:] == out1["ifd"][:]
    other = IFDScorer(lm[0], batch_size=4, prompt="plain")
    ds.map(other, batched=True, with_indices=True)
    assert other.loaded  # other settings: another fingerprint


def test_superfilter_defaults_to_gpt2_and_says_how_to_pass_a_local_copy():
    scorer = IFDScorer.superfilter()
    assert scorer.model_name_or_path == "gpt2" and scorer.describe()["variant"] == "superfilter"
    with pytest.raises(ModelLoadError, match=r"hf download gpt2 --local-dir DIR.*superfilter:DIR"):
        scorer({"instruction": ["hi"], "output": ["hello"]})
    with pytest.raises(ConfigError, match="needs a causal LM"):
        IFDScorer()
