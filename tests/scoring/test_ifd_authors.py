"""IFD and Superfiltering against ports of the authors' scripts, written here from their code.

Cherry LLM (github.com/tianyi-lab/Cherry_LLM @ 01fac8d2febb51dbd1501ec594a20e499b51fe7d):
``cherry_seletion/data_analysis.py`` (token losses) + ``data_by_IFD.py`` (the IFD and its skips).
Superfiltering (github.com/tianyi-lab/Superfiltering @ f0764afa536ec910b994d1d6aa2b883354505f4f):
``code_ifd/data_analysis.py`` (losses) + ``put_analysis_to_data.py`` (``ifd_ppl``).
Each port runs one unpadded sequence at a time, as the scripts do, on real Dolly rows (three
with an ``input``) and a tiny model built offline (LLaMA with BOS for Cherry, GPT-2 style with
no start token for Superfiltering).
"""

import math
import warnings

import pytest
import torch
from datasets import Dataset
from sample_data import DOLLY, read_jsonl

from deita_hf.errors import ConfigError
from deita_hf.scoring import IFDScorer, PerplexityScorer

# -- Cherry LLM, cherry_seletion/data_analysis.py -----------------------------------------------
CHERRY_PROMPT_INPUT = (
    "Below is an instruction that describes a task, paired with an input that provides further context. "
    "Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:"
)
CHERRY_PROMPT_NO_INPUT = (
    "Below is an instruction that describes a task. "
    "Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Response:"
)


def _cherry_token_losses(tok, model, text, target_span, max_length):
    """get_perplexity_and_embedding_part_text: the loss of every token after the first."""
    input_ids = tok.encode(text, return_tensors="pt", truncation=True, max_length=max_length)
    with torch.no_grad():
        logits = model(input_ids).logits
    log_softmax = torch.nn.LogSoftmax(dim=-1)
    return [float(-log_softmax(logits[0, i - 1])[input_ids[0, i]]) for i in range(1, input_ids.shape[1])]


def cherry_ifd(tok, model, row, max_length=512):
    """One row as data_analysis.py (--prompt alpaca --mod cherry) then data_by_IFD.py compute it;
    None where data_by_IFD.py skips the row."""
    instruct_i, output_i, input_i = row["instruction"], row["output"], row.get("input", "")
    direct_answer_text = "### Response:" + output_i
    if input_i == "":
        instruct_i = CHERRY_PROMPT_NO_INPUT.format_map({"instruction": instruct_i})
    else:
        instruct_i = CHERRY_PROMPT_INPUT.format_map({"instruction": instruct_i, "input": input_i})
    whole_text = instruct_i + output_i
    instruct_i_len = tok.encode(instruct_i, return_tensors="pt", truncation=True, max_length=max_length).shape[1]
    loss_alone = _cherry_token_losses(tok, model, direct_answer_text, output_i, max_length - instruct_i_len + 4)
    loss_cond = _cherry_token_losses(tok, model, whole_text, output_i, max_length)

    def get_loss_part_text(text, target_span, limit, loss_list_):
        input_ids = tok.encode(text, return_tensors="pt", truncation=True, max_length=limit)
        start_token = len(tok.encode(text[:text.rfind(target_span)]))
        end_token_real = input_ids.shape[1]
        return end_token_real - start_token, loss_list_[start_token - 1:end_token_real - 1]

    if max_length - instruct_i_len <= 0:
        return None
    len_1, loss_list_1 = get_loss_part_text(direct_answer_text, output_i, max_length - instruct_i_len + 4, loss_alone)
    len_2, loss_list_2 = get_loss_part_text(whole_text, output_i, max_length, loss_cond)
    if len_1 <= 0 or len_2 <= 0 or instruct_i_len + len_1 > max_length:
        return None
    return (sum(loss_list_2) / len(loss_list_2)) / (sum(loss_list_1) / len(loss_list_1))


# -- Superfiltering, code_ifd/data_analysis.py (--prompt none) ------------------------------------
def superfilter_ifd(tok, model, row, max_length=1024):
    instruct_i, output_i = row["instruction"], row["output"]
    input_i = row["input"] if "input" in row else ""
    if input_i == "":
        instruct_i = "{instruction}\n".format_map({"instruction": instruct_i})
    else:
        instruct_i = "{instruction}\n{input}\n".format_map({"instruction": instruct_i, "input": input_i})
    whole_text = instruct_i + output_i
    instruct_i_len = tok.encode(instruct_i, return_tensors="pt", truncation=True, max_length=max_length).shape[1]
    with torch.no_grad():
        ids = tok.encode(output_i, return_tensors="pt", truncation=True, max_length=max_length - instruct_i_len + 1)
        ppl_alone = math.exp(float(model(ids, labels=ids.contiguous()).loss))
        ids = tok.encode(whole_text, return_tensors="pt", truncation=True, max_length=max_length)
        labels = ids.clone()
        labels[0, :len(tok.encode(whole_text[:whole_text.rfind(output_i)]))] = -100
        ppl_cond = math.exp(float(model(ids, labels=labels).loss))
    return ppl_cond / ppl_alone  # put_analysis_to_data.py: ifd_ppl


# -- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rows():
    got = read_jsonl(DOLLY, 40)
    assert sum(r["input"] != "" for r in got) == 3
    return got


@pytest.fixture(scope="module")
def llama(tmp_path_factory):
    """A tiny random LLaMA (BOS prepended like LLaMA's), LM head ×8 to spread the scores."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from deita_hf.testing import build_tiny_llama

    path = build_tiny_llama(tmp_path_factory.mktemp("llama"),
                            texts=[r["instruction"] + " " + r["output"] for r in read_jsonl(DOLLY, 200)])
    model = AutoModelForCausalLM.from_pretrained(path).eval()
    with torch.no_grad():
        model.lm_head.weight.mul_(8.0)
    model.save_pretrained(path)
    tok = AutoTokenizer.from_pretrained(path)
    assert tok("x")["input_ids"][0] == tok.bos_token_id
    return str(path), tok, model


@pytest.fixture(scope="module")
def gpt2(tmp_path_factory, rows):
    """A tiny random GPT-2 with a byte-level BPE tokenizer that, like GPT-2's, adds no token."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    raw.train_from_iterator([r["instruction"] + "\n" + r["output"] for r in read_jsonl(DOLLY, 200)],
                            trainers.BpeTrainer(vocab_size=400, special_tokens=["<|endoftext|>"],
                                                initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                                show_progress=False))
    tok = PreTrainedTokenizerFast(tokenizer_object=raw, bos_token="<|endoftext|>", eos_token="<|endoftext|>",
                                  unk_token="<|endoftext|>", model_max_length=1024)
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tok), n_positions=1024, n_embd=32, n_layer=2, n_head=2,
                                       bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id))
    with torch.no_grad():
        model.lm_head.weight.mul_(8.0)  # tied to the embeddings: spreads the scores
    path = tmp_path_factory.mktemp("tiny-gpt2")
    model.save_pretrained(path)
    tok.save_pretrained(path)
    assert tok("Hi")["input_ids"] == tok("Hi", add_special_tokens=False)["input_ids"]  # no start token
    return str(path), tok, model.eval()


def _score(scorer, rows):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [v[0] for v in scorer(Dataset.from_list(rows)[:], list(range(len(rows))))["ifd"]]


def _max_diff(got, want):
    """Largest difference; a NaN must be where the port has None (a row the authors skip)."""
    assert [math.isnan(g) for g in got] == [w is None or math.isnan(w) for w in want]
    return max(abs(g - w) for g, w in zip(got, want) if not math.isnan(g))


def _max_gap(old, want):
    """Largest difference over the rows both score (for the planted old behaviours)."""
    return max(abs(o - w) for o, w in zip(old, want) if w is not None and not math.isnan(o))


def _order(values):
    return sorted((i for i, v in enumerate(values) if v is not None and not math.isnan(v)), key=values.__getitem__)


# -- the tests -----------------------------------------------------------------------------------
def test_ifd_is_cherry_data_analysis_and_data_by_ifd(llama, rows):
    path, tok, model = llama
    want = [cherry_ifd(tok, model, r) for r in rows]  # max_length 512, as Cherry's scripts run it
    kept = [w for w in want if w is not None]
    assert len(kept) == 38 and max(kept) - min(kept) > 0.05  # two rows' prompts fill 512 tokens
    got = _score(IFDScorer(path, batch_size=5), rows)
    assert _max_diff(got, want) < 1e-5
    assert _order(got) == _order(want)
    # the old layout (BOS-only alone text, input inside the no-input prompt) is not Cherry's
    old = _score(IFDScorer(path, batch_size=5, layout="separate", prompt="alpaca"), rows)
    assert _max_gap(old, want) > 1e-2


def test_ifd_with_input_uses_cherry_prompt_input(llama, rows):
    path, tok, model = llama
    with_input = [r for r in rows if r["input"]]
    want = [cherry_ifd(tok, model, r, max_length=1024) for r in with_input]
    assert None not in want
    assert _max_diff(_score(IFDScorer(path, max_length=1024), with_input), want) < 1e-5
    joined = [{**r, "instruction": r["instruction"] + "\n\n" + r["input"], "input": ""} for r in with_input]
    assert _max_gap(_score(IFDScorer(path, max_length=1024), joined), want) > 1e-3  # no-input prompt


def test_ifd_cut_and_skipped_rows_as_cherry(llama, rows):
    path, tok, model = llama
    want = [cherry_ifd(tok, model, r, max_length=128) for r in rows]
    skipped = [i for i, w in enumerate(want) if w is None]
    assert 0 < len(skipped) < 40
    with pytest.warns(UserWarning, match=rf"{len(skipped)} of 40 turns are skipped as Cherry's data_by_IFD.py"):
        got = [v[0] for v in IFDScorer(path, max_length=128, batch_size=7)(Dataset.from_list(rows)[:])["ifd"]]
    assert [i for i, g in enumerate(got) if math.isnan(g)] == skipped
    assert _max_diff([g for g in got if not math.isnan(g)], [w for w in want if w is not None]) < 1e-5


def test_superfilter_is_superfiltering_code_ifd(gpt2, rows):
    path, tok, model = gpt2
    want = [superfilter_ifd(tok, model, r) for r in rows]  # max_length 1024, its default
    assert max(want) - min(want) > 0.05
    scorer = IFDScorer.superfilter(path, batch_size=6)
    assert scorer.describe()["layout"] == "superfilter" and scorer.prompt == "plain"
    got = _score(scorer, rows)
    assert _max_diff(got, want) < 1e-5
    assert _order(got) == _order(want)
    # the old Superfiltering: a loss ratio, the Alpaca prompt, <|endoftext|> first
    old = _score(IFDScorer.superfilter(path, layout="separate", prompt="alpaca"), rows)
    assert _max_gap(old, want) > 1e-2
    loss_ratio = _score(IFDScorer(path, layout="superfilter", prompt="plain"), rows)
    assert _max_gap(loss_ratio, want) > 1e-3


def test_layout_and_its_defaults():
    assert IFDScorer("m").describe()["layout"] == "cherry" and IFDScorer("m").max_length == 512
    sf = IFDScorer.superfilter("m")
    assert (sf.layout, sf.prompt, sf.max_length) == ("superfilter", "plain", 1024)
    assert PerplexityScorer("m").describe()["layout"] == "separate"
    with pytest.raises(ConfigError, match="layout must be one of"):
        IFDScorer("m", layout="cherrie")
