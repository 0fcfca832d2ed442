"""RdsEmbedder: RDS+'s vectors (Tulu-format text, BOS, right truncation, position-weighted mean
of the last hidden layer, L2-normalised), checked against an independent port of the authors'
``compute_influence_cosinesim.py --pooling weighted_mean`` on real rows and a tiny LLaMA."""

import numpy as np
import pytest
import torch
from sample_data import DOLLY, read_jsonl

from deita_hf.components import build_embedder, parse_spec
from deita_hf.embedding.rds import RdsEmbedder, render_tulu
from deita_hf.errors import ConfigError, FormatError


def _messages(row: dict) -> list[dict]:
    user = row["instruction"] + ("\n\n" + row["input"] if row.get("input") else "")
    return [{"role": "user", "content": user}, {"role": "assistant", "content": row["output"]}]


@pytest.fixture(scope="module")
def conversations() -> list[list[dict]]:
    rows = read_jsonl(DOLLY, 12)
    convs = [_messages(r) for r in rows]
    # a system prompt, padded contents (the authors strip each), and two turns
    convs.append([{"role": "system", "content": "  Be brief. "}] + _messages(rows[0])
                 + [{"role": "user", "content": " And why? "},
                    {"role": "assistant", "content": rows[1]["output"] + "\n"}])
    return convs


def authors_text(messages: list[dict], eos: str) -> str:
    """``utils.encode_with_messages_format``'s ``_concat_messages(messages).strip()``."""
    text = ""
    for m in messages:
        if m["role"] == "system":
            text += "<|system|>\n" + m["content"].strip() + "\n"
        elif m["role"] == "user":
            text += "<|user|>\n" + m["content"].strip() + "\n"
        else:
            text += "<|assistant|>\n" + m["content"].strip() + eos + "\n"
    return text.strip()


def authors_vectors(path, convs, max_length=2048, pooling="weighted_mean"):
    """The authors' loop: one conversation per forward pass of AutoModelForCausalLM with
    ``output_hidden_states=True``; SGPT weights over ``hidden_states[-1]``; then normalised."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    out = []
    for conv in convs:
        enc = tok(authors_text(conv, tok.eos_token), return_tensors="pt",
                  max_length=max_length, truncation=True)
        with torch.no_grad():
            hs = model(input_ids=enc.input_ids, attention_mask=enc.attention_mask,
                       output_hidden_states=True)["hidden_states"][-1]
        if pooling == "weighted_mean":
            w = torch.arange(hs.size(1)).unsqueeze(0) + 1
            w = w / w.sum(dim=1, keepdim=True)
            e = torch.sum(hs * w.unsqueeze(-1), dim=1)
        elif pooling == "mean":
            e = torch.mean(hs, dim=1)
        else:
            e = hs[:, -1]
        out.append((e / torch.linalg.vector_norm(e, dim=1, keepdim=True))[0].numpy())
    return np.stack(out)


def test_text_matches_authors(conversations):
    for conv in conversations:
        assert render_tulu(conv, eos="</s>") == authors_text(conv, "</s>")
    assert render_tulu(conversations[-1], eos="</s>").startswith("<|system|>\nBe brief.\n<|user|>")


@pytest.mark.parametrize("batch_size", [1, 5])
def test_vectors_match_authors_port(tiny_base_llama, conversations, batch_size):
    emb = RdsEmbedder(str(tiny_base_llama), batch_size=batch_size, device="cpu")
    got = np.array(emb.embed_conversations(conversations))
    want = authors_vectors(tiny_base_llama, conversations)
    assert np.abs(got - want).max() < 1e-5
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-6)
    # planted bugs: an unweighted mean or the last token give other vectors (the test can fail)
    for pooling in ("mean", "last"):
        other = authors_vectors(tiny_base_llama, conversations, pooling=pooling)
        assert np.abs(got - other).max() > 1e-3


def test_truncation_on_the_right(tiny_base_llama, conversations):
    emb = RdsEmbedder(str(tiny_base_llama), max_length=16, batch_size=4, device="cpu")
    with pytest.warns(UserWarning, match="cut on the right"):
        got = np.array(emb.embed_conversations(conversations[:6]))
    with pytest.warns(UserWarning, match="1 of 1 conversations"):
        ids = emb.token_ids(conversations[:1])[0]
    assert len(ids) == 16 and ids[0] == emb._rt["tokenizer"].bos_token_id
    want = authors_vectors(tiny_base_llama, conversations[:6], max_length=16)
    assert np.abs(got - want).max() < 1e-5


def test_spec_builds_rds_embedder(tiny_base_llama):
    spec = parse_spec("embedding", f"rds:{tiny_base_llama}")
    assert (spec.kind, spec.target) == ("rds", str(tiny_base_llama))
    emb = build_embedder(f"rds:{tiny_base_llama}", batch_size=3, device="cpu")
    assert isinstance(emb, RdsEmbedder) and emb.batch_size == 3
    assert emb.describe()["pooling"] == "weighted_mean"


def test_bad_input_errors():
    with pytest.raises(ConfigError, match="rds:MODEL"):
        RdsEmbedder("")
    with pytest.raises(FormatError, match="role 'tool'"):
        render_tulu([{"role": "tool", "content": "x"}], eos="</s>")


def test_pickles_without_the_model_for_engine_workers(tiny_base_llama, conversations):
    """Ray/array workers receive the settings only and load the model themselves."""
    import pickle

    emb = RdsEmbedder(str(tiny_base_llama), batch_size=4, device="cpu")
    first = emb.embed_conversations(conversations[:3])
    clone = pickle.loads(pickle.dumps(emb))
    assert "model" not in clone._rt and clone.describe() == emb.describe()
    assert np.abs(np.array(clone.embed_conversations(conversations[:3])) - first).max() == 0
