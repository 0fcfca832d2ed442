"""ComplexityScorer / QualityScorer against hand-computed expectations, on a tiny LLaMA."""

import math
import pickle

import pytest
import torch
from datasets import Dataset, load_from_disk

from deita_hf.components import build_scorer
from deita_hf.data.formats import to_turns
from deita_hf.scoring import (
    COMPLEXITY_TEMPLATE,
    QUALITY_TEMPLATE,
    ComplexityScorer,
    QualityScorer,
)
from deita_hf.scoring.core import fit_prompt, resolve_score_ids


def _expected(path, prompts):
    """Unbatched, unpadded forward; softmax over "1".."6" by hand with math."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path).eval()
    ids = [tok.get_vocab()[d] for d in "123456"]
    out = []
    for prompt in prompts:
        with torch.no_grad():
            logits = model(torch.tensor([tok(prompt)["input_ids"]])).logits[0, -1]
        vals = [float(logits[i]) for i in ids]
        z = sum(math.exp(v) for v in vals)
        out.append(sum((k + 1) * math.exp(v) / z for k, v in enumerate(vals)))
    return out


def _turn(row):
    return to_turns(row)[0]


def test_complexity_matches_hand_computed_softmax(tiny_chat_llama, dolly_rows):
    rows = dolly_rows[:7]
    scorer = ComplexityScorer(tiny_chat_llama, batch_size=3)  # batches mix lengths: left padding
    got = [s[0] for s in scorer(Dataset.from_list(rows)[:])["complexity"]]
    want = _expected(tiny_chat_llama, [COMPLEXITY_TEMPLATE.format(instruction=_turn(r)[0]) for r in rows])
    assert max(abs(a - b) for a, b in zip(got, want)) < 1e-4
    assert max(want) - min(want) > 0.05  # the model separates the prompts: the check has teeth
    assert all(1.0 <= s <= 6.0 for s in got)


def test_quality_matches_hand_computed_softmax(tiny_chat_llama, dolly_rows):
    rows = dolly_rows[7:11]
    got = [s[0] for s in QualityScorer(tiny_chat_llama, batch_size=4)(Dataset.from_list(rows)[:])["quality"]]
    prompts = [QUALITY_TEMPLATE.format(instruction=_turn(r)[0], output=_turn(r)[1]) for r in rows]
    want = _expected(tiny_chat_llama, prompts)
    assert max(abs(a - b) for a, b in zip(got, want)) < 1e-4


def test_multi_turn_gives_one_score_per_turn(tiny_chat_llama, multi_turn_rows):
    batch = Dataset.from_list(multi_turn_rows)[:]
    scores = QualityScorer(tiny_chat_llama, batch_size=2)(batch, indices=list(range(len(multi_turn_rows))))["quality"]
    n_turns = [sum(m["from"] == "human" for m in r["conversations"]) for r in multi_turn_rows]
    assert [len(s) for s in scores] == n_turns and max(n_turns) >= 2
    conv = multi_turn_rows[0]["conversations"]
    alone = QualityScorer(tiny_chat_llama).score_texts([{"instruction": conv[2]["value"], "output": conv[3]["value"]}])
    assert scores[0][1] == pytest.approx(alone[0], abs=1e-5)


def test_truncation_keeps_template_tail_and_counts(tiny_chat_llama, dolly_rows):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_chat_llama)
    max_length = 200  # the real Dolly rows here: some prompts longer, some shorter
    fields = [dict(zip(("instruction", "output"), _turn(r))) for r in dolly_rows[:10]]
    full = [len(tok(QUALITY_TEMPLATE.format(**f))["input_ids"]) for f in fields]
    n_long = sum(n > max_length for n in full)
    assert 0 < n_long < len(fields)
    for f in fields:
        ids, cut = fit_prompt(tok, QUALITY_TEMPLATE, f, max_length)
        assert len(ids) <= max_length
        assert tok.decode(ids, skip_special_tokens=True).endswith(" \n##Quality: ")
    with pytest.warns(UserWarning, match=f"{n_long} of 10 inputs were longer than max_length={max_length}"):
        scores = QualityScorer(tiny_chat_llama, max_length=max_length).score_texts(fields)
    assert all(math.isfinite(s) for s in scores)
    with pytest.raises(ValueError, match="template alone takes"):
        fit_prompt(tok, QUALITY_TEMPLATE, fields[0], 10)


def _break_on_length(scorer, bad_len):
    scorer.load()
    model = scorer._rt["model"]
    original = model.forward

    def forward(*args, **kwargs):
        if (kwargs["attention_mask"].sum(-1) == bad_len).any():
            raise RuntimeError("simulated failure")
        return original(*args, **kwargs)

    model.forward = forward


def test_failures_give_nan_with_count_or_raise(tiny_chat_llama, dolly_rows):
    batch = Dataset.from_list(dolly_rows[:6])[:]
    ok = ComplexityScorer(tiny_chat_llama, batch_size=4)(batch)["complexity"]
    scorer = ComplexityScorer(tiny_chat_llama, batch_size=4, on_error="nan")
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_chat_llama)
    bad_len = len(tok(COMPLEXITY_TEMPLATE.format(instruction=_turn(dolly_rows[2])[0]))["input_ids"])
    _break_on_length(scorer, bad_len)
    with pytest.warns(UserWarning, match=r"1 of 6 inputs got NaN \(1 failed forward passes: row 2 turn 0"):
        got = scorer(batch, indices=list(range(6)))["complexity"]
    assert math.isnan(got[2][0])
    assert [g[0] for i, g in enumerate(got) if i != 2] == pytest.approx(
        [o[0] for i, o in enumerate(ok) if i != 2], abs=1e-5)
    strict = ComplexityScorer(tiny_chat_llama, batch_size=4)
    _break_on_length(strict, bad_len)
    with pytest.raises(RuntimeError, match="row 2 turn 0"):
        strict(batch, indices=list(range(6)))


def test_missing_score_tokens_is_an_error():
    class Tok:
        def get_vocab(self):
            return {"1": 1, "2": 2, "4": 4, "5": 5, "6": 6}

    with pytest.raises(ValueError, match=r"\['3'\]"):
        resolve_score_ids(Tok(), "x")


def test_pickle_drops_model_and_cache_hits_with_fresh_scorer(tiny_chat_llama, dolly_rows, tmp_path):
    Dataset.from_list(dolly_rows[:8]).save_to_disk(str(tmp_path / "ds"))
    ds = load_from_disk(str(tmp_path / "ds"))
    first = ComplexityScorer(tiny_chat_llama, batch_size=4)
    out1 = ds.map(first, batched=True)
    assert first.loaded and len(pickle.dumps(first)) < 5000
    assert not pickle.loads(pickle.dumps(first)).loaded
    fresh = ComplexityScorer(tiny_chat_llama, batch_size=4)
    out2 = ds.map(fresh, batched=True)
    assert not fresh.loaded  # served from the cache: the model was never needed
    assert out2.cache_files == out1.cache_files and out2["complexity"] == out1["complexity"]
    other = ComplexityScorer(tiny_chat_llama, batch_size=4, max_length=1024)
    ds.map(other, batched=True)
    assert other.loaded  # different settings: a different fingerprint


def test_map_num_proc_2_and_with_indices(tiny_chat_llama, dolly_rows):
    ds = Dataset.from_list(dolly_rows[:12])
    torch.ones(256, 256) @ torch.ones(256, 256)  # parent has run torch (the hang's precondition)
    single = ds.map(ComplexityScorer(tiny_chat_llama, batch_size=4), batched=True, batch_size=6)["complexity"]
    multi = ds.map(ComplexityScorer(tiny_chat_llama, batch_size=4), batched=True, batch_size=6,
                   with_indices=True, num_proc=2)["complexity"]
    assert [m[0] for m in multi] == pytest.approx([s[0] for s in single], abs=1e-5)


def test_factories_and_offline_errors(tiny_chat_llama):
    assert build_scorer("complexity", "length").describe()["kind"] == "length-baseline"
    assert build_scorer("quality", "length").describe()["name"] == "response-length"
    s = build_scorer("quality", tiny_chat_llama, batch_size=2, device=None)
    assert isinstance(s, QualityScorer) and s.batch_size == 2
    d = s.describe()
    assert {"name", "revision", "kind"} <= set(d) and d["kind"] == "model"
    hub = build_scorer("complexity", None)
    assert hub.model_name_or_path == "hkust-nlp/deita-complexity-scorer" and not hub.loaded
    with pytest.raises(OSError, match="--complexity-scorer length"):
        hub({"instruction": ["hi"], "output": ["x"]})
    with pytest.raises(ValueError, match="kind must be"):
        build_scorer("diversity", "length")


def test_prefix_cache_gives_the_same_scores(tiny_chat_llama, dolly_rows):
    batch = Dataset.from_list(dolly_rows[:6])[:]
    cached = QualityScorer(tiny_chat_llama, batch_size=4)
    got = cached(batch)["quality"]
    assert cached._rt["prefix"] is not None and len(cached._rt["prefix"][0]) > 10
    plain = QualityScorer(tiny_chat_llama, batch_size=4, prefix_cache=False)
    want = plain(batch)["quality"]
    assert plain._rt["prefix"] is None
    assert [g[0] for g in got] == pytest.approx([w[0] for w in want], abs=1e-5)


# --- the original's fidelity edges: no cut by default, a leading assistant message kept -------

@pytest.fixture(scope="module")
def short_context_llama(tmp_path_factory, dolly_rows):
    """A tiny LLaMA built for 160 positions (scores spread by a ×40 head), so that real Dolly
    prompts run past its limit."""
    from transformers import AutoModelForCausalLM

    from deita_hf.testing import build_tiny_llama

    path = build_tiny_llama(tmp_path_factory.mktemp("short") / "llama", max_position_embeddings=160,
                            texts=[r["instruction"] + " " + r["output"] for r in dolly_rows])
    model = AutoModelForCausalLM.from_pretrained(path)
    with torch.no_grad():
        model.lm_head.weight.mul_(40.0)
    model.save_pretrained(path)
    return str(path)


def test_prompts_over_the_limit_are_scored_whole_by_default(short_context_llama, dolly_rows):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(short_context_llama)
    rows = dolly_rows[:8]
    prompts = [QUALITY_TEMPLATE.format(instruction=_turn(r)[0], output=_turn(r)[1]) for r in rows]
    lengths = [len(tok(p)["input_ids"]) for p in prompts]
    n_long = sum(n > 160 for n in lengths)
    assert 0 < n_long < len(rows)
    scorer = QualityScorer(short_context_llama, batch_size=3)
    assert scorer.max_length is None and scorer.describe()["truncation"] == "none"
    with pytest.warns(UserWarning) as caught:
        got = [s[0] for s in scorer(Dataset.from_list(rows)[:])["quality"]]
    msg = [str(w.message) for w in caught if "quality scorer" in str(w.message)]
    assert len(msg) == 1
    assert (f"{n_long} of 8 prompts are longer than the model's limit of 160 positions "
            f"(longest: {max(lengths)} tokens)") in msg[0]
    assert "max_length=N" in msg[0] and "--max-length N" in msg[0]
    # an uncut, unbatched direct forward pass of each whole prompt
    want = _expected(short_context_llama, prompts)
    assert max(abs(a - b) for a, b in zip(got, want)) < 1e-4

    # cutting is explicit: max_length=160 scores the fitted prompts, and says so
    cut = QualityScorer(short_context_llama, batch_size=3, max_length=160)
    assert cut.describe()["truncation"] == "instruction/response text"
    with pytest.warns(UserWarning, match=f"{n_long} of 8 inputs were longer than max_length=160"):
        got_cut = [s[0] for s in cut(Dataset.from_list(rows)[:])["quality"]]
    fitted = [fit_prompt(tok, QUALITY_TEMPLATE, dict(zip(("instruction", "output"), _turn(r))), 160)[0]
              for r in rows]
    want_cut = _expected(short_context_llama, [tok.decode(ids, skip_special_tokens=True)
                                               for ids in fitted])
    assert max(abs(a - b) for a, b in zip(got_cut, want_cut)) < 1e-4
    moved = [abs(a - b) for a, b, n in zip(got, got_cut, lengths) if n > 160]
    assert max(moved) > 1e-3  # cutting changes the long prompts' scores
    assert [a for a, n in zip(got, lengths) if n <= 160] == pytest.approx(
        [b for b, n in zip(got_cut, lengths) if n <= 160], abs=1e-5)
    with pytest.raises(ValueError, match="max_length=None scores prompts whole"):
        QualityScorer(short_context_llama, max_length=0)


def original_turns(conversations):
    """DEITA's ``ScorePipeline._load_sharegpt``, rebuilt: every even message ``idx`` is an
    instruction, message ``idx + 1`` its response (``""`` after the last message), whatever
    the roles."""
    out = []
    for idx in range(len(conversations)):
        if idx % 2 != 0:
            continue
        if idx != len(conversations) - 1:
            out.append((conversations[idx]["value"], conversations[idx + 1]["value"]))
        else:
            out.append((conversations[idx]["value"], ""))
    return out


def test_a_leading_assistant_message_is_scored_as_the_original_scores_it(tiny_chat_llama,
                                                                         multi_turn_rows):
    from deita_hf.data.formats import FormatWarning
    from deita_hf.scoring import InstructionLengthScorer, ResponseLengthScorer

    # raw ShareGPT often starts mid-conversation: real conversations from their first reply on
    led = [r["conversations"][1:] for r in multi_turn_rows if len(r["conversations"]) >= 3]
    convs = led + [multi_turn_rows[1]["conversations"]]
    assert len(led) >= 2 and all(c[0]["from"] == "gpt" for c in led)
    batch = {"conversations": convs}
    want_turns = [original_turns(c) for c in convs]
    with pytest.warns(FormatWarning, match="dropped the leading assistant message"):
        dropped = [len(to_turns({"conversations": c})) for c in led]
    assert [len(t) for t in want_turns[:len(led)]] != dropped  # dropping it would lose a turn
    with pytest.warns(FormatWarning, match=rf"{len(led)} of {len(convs)} conversation\(s\) .*open "
                                           r"with an assistant message; it is kept"):
        complexity = ComplexityScorer(tiny_chat_llama, batch_size=4)(batch)["complexity"]
    with pytest.warns(FormatWarning):
        quality = QualityScorer(tiny_chat_llama, batch_size=4)(batch)["quality"]
    flat = [t for turns in want_turns for t in turns]
    want_c = _expected(tiny_chat_llama, [COMPLEXITY_TEMPLATE.format(instruction=i) for i, _ in flat])
    want_q = _expected(tiny_chat_llama, [QUALITY_TEMPLATE.format(instruction=i, output=o)
                                         for i, o in flat])
    assert [len(s) for s in complexity] == [len(s) for s in quality] == [len(t) for t in want_turns]
    assert max(abs(a - b) for a, b in zip(sum(complexity, []), want_c)) < 1e-4
    assert max(abs(a - b) for a, b in zip(sum(quality, []), want_q)) < 1e-4
    # the length baselines walk the same turns, so their lists line up with the scorers'
    with pytest.warns(FormatWarning):
        lengths = InstructionLengthScorer()(batch)["complexity"]
    with pytest.warns(FormatWarning):
        responses = ResponseLengthScorer()(batch)["quality"]
    assert lengths == [[float(len(i)) for i, _ in t] for t in want_turns]
    assert responses == [[float(len(o)) for _, o in t] for t in want_turns]
