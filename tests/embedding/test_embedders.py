"""SentenceEmbedder (packaged MiniLM on real rows) and CausalLMEmbedder (tiny LLaMA)."""

import math

import pytest
import torch
from datasets import Dataset

from deita_hf.components import build_embedder
from deita_hf.embedding import (
    CausalLMEmbedder,
    SentenceEmbedder,
    conversation_text,
)


def _dot(a, b):
    return sum(x * y for x, y in zip(a, b))


@pytest.fixture(scope="module")
def minilm():
    return SentenceEmbedder()


def test_minilm_on_real_rows(minilm, dolly_rows):
    ds = Dataset.from_list(dolly_rows[:20]).map(minilm, batched=True, batch_size=10)
    vecs = ds["embedding"]
    assert len(vecs) == 20 and all(len(v) == 384 for v in vecs)
    assert all(abs(math.sqrt(_dot(v, v)) - 1.0) < 1e-4 for v in vecs)
    assert ds.column_names[:4] == ["instruction", "category", "input", "output"]  # kept
    assert minilm.describe()["name"] == "sentence-transformers/all-MiniLM-L6-v2"


def test_minilm_similar_texts_are_closer(minilm):
    a, b, c = minilm.embed_texts(["How do I bake bread at home?",
                                  "What is a simple recipe for homemade bread?",
                                  "Explain the theory of special relativity."])
    assert _dot(a, b) > _dot(a, c) + 0.2


def test_sentence_embedder_embeds_whole_conversation(minilm, multi_turn_rows):
    msgs = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    assert conversation_text(msgs) == "Hi\n\nHello"
    batch = {"conversations": [multi_turn_rows[0]["conversations"]]}
    got = minilm(batch)["embedding"][0]
    text = "\n\n".join(m["value"] for m in multi_turn_rows[0]["conversations"])
    assert _dot(got, minilm.embed_texts([text])[0]) > 0.9999


def test_causal_lm_embedder_last_token_and_mean(tiny_chat_llama, dolly_rows):
    from transformers import AutoModel, AutoTokenizer

    batch = Dataset.from_list(dolly_rows[:5])[:]
    emb = CausalLMEmbedder(tiny_chat_llama, batch_size=3)
    vecs = emb(batch)["embedding"]
    assert len(vecs) == 5 and all(abs(math.sqrt(_dot(v, v)) - 1) < 1e-5 for v in vecs)
    tok = AutoTokenizer.from_pretrained(tiny_chat_llama)
    model = AutoModel.from_pretrained(tiny_chat_llama).eval()
    from deita_hf.data.formats import to_messages

    text = tok.apply_chat_template(to_messages(dolly_rows[1]), tokenize=False)
    with torch.no_grad():
        h = model(torch.tensor([tok(text, add_special_tokens=False)["input_ids"]])).last_hidden_state[0]
    last = torch.nn.functional.normalize(h[-1], dim=0).tolist()
    mean = torch.nn.functional.normalize(h.mean(0), dim=0).tolist()
    assert _dot(vecs[1], last) > 1 - 1e-5  # padding in the batch did not change it
    mvecs = CausalLMEmbedder(tiny_chat_llama, pooling="mean", batch_size=3)(batch)["embedding"]
    assert _dot(mvecs[1], mean) > 1 - 1e-5
    assert CausalLMEmbedder(tiny_chat_llama).describe()["kind"] == "causal-lm"


def test_causal_lm_embedder_needs_chat_template(tmp_path, dolly_rows):
    from deita_hf.testing import VICUNA_STYLE_TEMPLATE, build_tiny_llama

    path = build_tiny_llama(tmp_path / "plain", texts=[r["output"] for r in dolly_rows], vocab_size=300)
    with pytest.raises(ValueError, match="has no chat template"):
        CausalLMEmbedder(str(path))({"instruction": ["a"], "output": ["b"]})
    out = CausalLMEmbedder(str(path), chat_template=VICUNA_STYLE_TEMPLATE)({"instruction": ["a"], "output": ["b"]})
    assert len(out["embedding"][0]) == 64


def test_build_embedder_specs_and_offline_error(tiny_chat_llama):
    assert isinstance(build_embedder("minilm"), SentenceEmbedder)
    assert isinstance(build_embedder(None), SentenceEmbedder)
    assert isinstance(build_embedder(f"causal-lm:{tiny_chat_llama}"), CausalLMEmbedder)
    assert isinstance(build_embedder(tiny_chat_llama), CausalLMEmbedder)  # no modules.json
    hub = build_embedder("sentence-transformers/all-mpnet-base-v2")
    assert isinstance(hub, SentenceEmbedder)
    with pytest.raises(OSError, match="--embedder minilm"):
        hub.embed_texts(["x"])
