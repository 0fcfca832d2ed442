"""TransformersGenerator on a tiny offline LLaMA: batched greedy == one-at-a-time generate,
chat templates, stop strings, order, errors and the cache."""

import pickle

import pytest
import torch

from deita_hf.errors import ConfigError, GenerationError, ModelLoadError
from deita_hf.generation import GenerationParams, TransformersGenerator, build_generator

PARAMS = GenerationParams(max_new_tokens=12)


def make(model_and_tokenizer, path="tiny", **kwargs):
    gen = TransformersGenerator(path, **kwargs)
    gen.use_model(*model_and_tokenizer)
    return gen


def reference(model, tokenizer, ids, max_new_tokens):
    """The original method: one prompt per ``generate`` call, no padding."""
    with torch.inference_mode():
        out = model.generate(input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                             max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    new = out[0, len(ids):].tolist()
    if tokenizer.eos_token_id in new:
        new = new[:new.index(tokenizer.eos_token_id)]
    return ids + new


def unpadded_rows(spy):
    rows = []
    for (ids, mask), out in zip(spy.inputs, spy.outputs):
        width = ids.shape[1]
        for r in range(out.shape[0]):
            start = int((mask[r] == 0).sum())  # left padding
            assert mask[r, start:].all() and not mask[r, :start].any()
            seq = out[r].tolist()
            new = seq[width:]
            if 2 in new:  # </s>
                new = new[:new.index(2)]
            rows.append(seq[start:width] + new)
    return rows


def test_batched_greedy_equals_one_at_a_time(model_and_tokenizer, prompts, spy):
    model, tok = model_and_tokenizer
    assert tok.eos_token_id == 2
    gen = make(model_and_tokenizer, batch_size=5)
    outs = gen.generate(prompts, PARAMS, progress=False)
    assert spy.calls == 3 and spy.rows == len(prompts)
    lengths = [ids.shape[1] for ids, _ in spy.inputs]
    assert lengths == sorted(lengths, reverse=True)  # longest first
    batched = unpadded_rows(spy)
    spy.restore()
    expected = {}
    for p in prompts:
        ids = tok(p)["input_ids"]
        expected[tuple(ids)] = reference(model, tok, ids, PARAMS.max_new_tokens)
    assert len(batched) == len(prompts)
    for row in batched:
        key = next(k for k in expected if list(k) == row[:len(k)])
        assert row == expected[key]  # exact token equality, padding notwithstanding
    # the texts are the decoded new tokens, in input order
    for p, text in zip(prompts, outs):
        ids = tok(p)["input_ids"]
        assert text == tok.decode(expected[tuple(ids)][len(ids):], skip_special_tokens=True)
    assert sum(bool(t) for t in outs) >= len(outs) // 2  # mostly non-empty (random weights)


def test_order_preserved_and_stop_strings(model_and_tokenizer, prompts):
    gen = make(model_and_tokenizer, batch_size=4)
    outs = gen.generate(prompts[:8], PARAMS, progress=False)
    assert gen.generate(prompts[:8][::-1], PARAMS, progress=False) == outs[::-1]
    text = max(outs, key=len)
    assert len(text) >= 4
    stop = text[2:4]
    stopped = gen.generate(prompts[:8], GenerationParams(max_new_tokens=12, stop=(stop, "\x00")), progress=False)
    for full, cut in zip(outs, stopped):
        assert cut == (full[:full.index(stop)] if stop in full else full)
    assert stop not in "".join(stopped)


def test_chat_inputs_use_the_chat_template(model_and_tokenizer, spy):
    model, tok = model_and_tokenizer
    gen = make(model_and_tokenizer)
    chat = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a colour."}]
    out = gen.generate([chat], PARAMS, progress=False)
    rendered = "Be brief. USER: Name a colour. ASSISTANT:"
    ids = tok(rendered, add_special_tokens=False)["input_ids"]
    assert gen.encode(chat) == ids and spy.inputs[0][0][0].tolist() == ids  # no BOS added twice
    spy.restore()
    expected = reference(model, tok, ids, PARAMS.max_new_tokens)
    assert out == [tok.decode(expected[len(ids):], skip_special_tokens=True)]


def test_chat_without_template_is_a_config_error(gen_base_llama):
    gen = build_generator(gen_base_llama, batch_size=2)
    assert gen.spec == f"hf:{gen_base_llama}"
    assert gen.generate(["Hello"], GenerationParams(max_new_tokens=2), progress=False)[0] is not None
    with pytest.raises(ConfigError, match="no chat template"):
        gen.generate(["Hello", [{"role": "user", "content": "Hi"}]], progress=False, on_error="none")


def test_cache_skips_done_work_and_resumes(model_and_tokenizer, prompts, spy, tmp_path):
    gen = make(model_and_tokenizer, batch_size=4, cache_dir=tmp_path)
    first_half = gen.generate(prompts[:6], PARAMS, progress=False)  # an "interrupted" run
    assert spy.rows == 6
    full = gen.generate(prompts, PARAMS, progress=False)
    assert spy.rows == 12 and full[:6] == first_half  # only the other half was generated
    calls = spy.calls
    again = make(model_and_tokenizer, batch_size=4, cache_dir=tmp_path).generate(prompts, PARAMS, progress=False)
    assert again == full and spy.calls == calls  # no model call at all
    assert len(gen.cache) == 12
    gen.generate(prompts[:2], GenerationParams(max_new_tokens=5), progress=False)
    assert spy.rows == 14  # other params: other keys


def test_too_long_prompt_fails_without_truncation(model_and_tokenizer, prompts):
    tok = model_and_tokenizer[1]
    longest = max(range(4), key=lambda i: len(tok(prompts[i])["input_ids"]))
    limit = len(tok(prompts[longest])["input_ids"]) + PARAMS.max_new_tokens - 1
    gen = make(model_and_tokenizer, max_length=limit)
    with pytest.raises(GenerationError, match=rf"input {longest} failed.*max_length"):
        gen.generate(prompts[:4], PARAMS, progress=False)
    with pytest.warns(RuntimeWarning, match="1 of 4 generations failed"):
        outs = gen.generate(prompts[:4], PARAMS, progress=False, on_error="none")
    assert outs[longest] is None and all(o is not None for i, o in enumerate(outs) if i != longest)


def test_sampling_is_seeded(model_and_tokenizer, prompts):
    gen = make(model_and_tokenizer, batch_size=4)
    p = GenerationParams(max_new_tokens=8, temperature=1.0, top_p=0.9, seed=7)
    assert gen.generate(prompts[:4], p, progress=False) == gen.generate(prompts[:4], p, progress=False)


def test_load_errors_and_pickling(gen_chat_llama, tmp_path):
    missing = str(tmp_path / "no-such-model")
    with pytest.raises(ModelLoadError, match="no-such-model"):
        TransformersGenerator(missing).generate(["x"], progress=False)
    with pytest.raises(ModelLoadError, match="HF_HUB_OFFLINE"):
        build_generator("hf:nobody/no-such-model").load()
    gen = build_generator(f"hf:{gen_chat_llama}", batch_size=3, dtype="float32", device="cpu")
    gen.load()
    assert gen.describe() == {"backend": "transformers", "model": gen_chat_llama, "spec": f"hf:{gen_chat_llama}",
                              "cache": None, "batch_size": 3, "device": "cpu", "dtype": "float32",
                              "max_length": None}
    clone = pickle.loads(pickle.dumps(gen))
    assert not clone.loaded and clone.batch_size == 3
    with pytest.raises(ConfigError, match="batch_size"):
        TransformersGenerator(gen_chat_llama, batch_size=0)


def test_a_given_chat_template_renders_chats_and_keys_the_cache(gen_base_llama, tmp_path):
    """A base model (no template of its own) with FastChat's Vicuna v1.1 template: the rendered
    prompt is the Vicuna string built by hand, and another template is another cache entry."""
    from transformers import AutoTokenizer

    from deita_hf.testing import VICUNA_STYLE_TEMPLATE
    from deita_hf.training.chat_template import VICUNA_SYSTEM_PROMPT, VICUNA_V1_1_TEMPLATE

    tok = AutoTokenizer.from_pretrained(gen_base_llama)
    assert not getattr(tok, "chat_template", None)
    gen = TransformersGenerator(gen_base_llama, chat_template=VICUNA_V1_1_TEMPLATE, cache_dir=tmp_path)
    chat = [{"role": "user", "content": "Name a colour."}]
    text = f"{tok.bos_token or ''}{VICUNA_SYSTEM_PROMPT} USER: Name a colour. ASSISTANT:"
    assert gen.encode(chat) == tok(text, add_special_tokens=False)["input_ids"]
    first = gen.generate([chat], PARAMS, progress=False)
    assert len(gen.cache) == 1 and gen.describe()["chat_template"] == VICUNA_V1_1_TEMPLATE
    other = TransformersGenerator(gen_base_llama, chat_template=VICUNA_STYLE_TEMPLATE, cache_dir=tmp_path)
    other.generate([chat], PARAMS, progress=False)
    assert len(other.cache) == 2                      # another template: not the cached answer
    again = TransformersGenerator(gen_base_llama, chat_template=VICUNA_V1_1_TEMPLATE, cache_dir=tmp_path)
    assert again.generate([chat], PARAMS, progress=False) == first and len(again.cache) == 2
    with pytest.raises(ConfigError, match="chat_template must be"):
        TransformersGenerator(gen_base_llama, chat_template="  ")
