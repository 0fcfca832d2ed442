"""DeitaEmbedder: the original Repr-filter vectors (vicuna_v1.1 string, BOS, right truncation,
last hidden state at the last token), checked against an independent construction."""

import copy
import pickle
import warnings

import pytest
import torch
from datasets import Dataset
from sample_data import SHAREGPT_REAL, read_jsonl

from deita_hf.components import build_embedder, parse_spec
from deita_hf.data.formats import FormatWarning, messages_from_batch
from deita_hf.embedding import CausalLMEmbedder, DeitaEmbedder, render_vicuna
from deita_hf.errors import FormatError

SYSTEM = ("A chat between a curious user and an artificial intelligence assistant. The assistant "
          "gives helpful, detailed, and polite answers to the user's questions.")


def fastchat_vicuna(source: list[dict], system: str = SYSTEM) -> str:
    """An independent copy of what DEITA's embedder builds: its ``preprocess`` (drop a first
    non-human turn, then ``append_message`` for each message of the source and nothing else:
    a conversation that ends with a user turn gets no ``ASSISTANT:``) and FastChat's
    ``Conversation.get_prompt`` for ADD_COLON_TWO (sep " ", sep2 "</s>", roles USER/ASSISTANT)."""
    roles = {"human": "USER", "gpt": "ASSISTANT"}
    if roles[source[0]["from"]] != "USER":
        source = source[1:]
    messages = [[roles[s["from"]], s["value"]] for s in source]
    seps = [" ", "</s>"]
    ret = system + seps[0]
    for i, (role, message) in enumerate(messages):
        if message:
            ret += role + ": " + message + seps[i % 2]
        else:
            ret += role + ":"
    return ret


@pytest.fixture(scope="module")
def conversations(test_data):
    """Real multi-turn ShareGPT rows: the axolotl fixture (6 turns) and FastChat's dummy rows."""
    rows = read_jsonl(SHAREGPT_REAL) + read_jsonl("fastchat_dummy_conversation_20.jsonl", 6)
    return [r["conversations"] for r in rows]


def test_render_matches_fastchat_strings(conversations, dolly_rows):
    for conv in conversations:
        messages = messages_from_batch({"conversations": [conv]})[0]
        assert render_vicuna(messages) == fastchat_vicuna(conv)
    # a leading gpt message is dropped, as the original does
    lead = [{"from": "gpt", "value": "Hello! How can I help?"}] + conversations[0]
    with pytest.warns(FormatWarning):
        messages = messages_from_batch({"conversations": [lead]})[0]
    assert render_vicuna(messages) == fastchat_vicuna(lead) == fastchat_vicuna(conversations[0])
    # render_vicuna drops it by itself too
    raw = [{"role": "assistant", "content": "Hi"}, {"role": "user", "content": "Q"}]
    assert render_vicuna(raw) == SYSTEM + " USER: Q "
    # a system message replaces the default system prompt (FastChat's set_system_message)
    sys_msgs = [{"role": "system", "content": "Be terse."}] + messages
    assert render_vicuna(sys_msgs) == fastchat_vicuna(conversations[0], system="Be terse.")
    # the exact string of one turn, and an empty answer rendered as FastChat does
    one = [{"role": "user", "content": dolly_rows[0]["instruction"]},
           {"role": "assistant", "content": dolly_rows[0]["output"]}]
    assert render_vicuna(one) == (f"{SYSTEM} USER: {dolly_rows[0]['instruction']} ASSISTANT: "
                                  f"{dolly_rows[0]['output']}</s>")
    assert render_vicuna([{"role": "user", "content": "Q"}, {"role": "assistant", "content": ""},
                          {"role": "user", "content": "R"}]).endswith(
        " USER: Q ASSISTANT:USER: R ")
    with pytest.raises(FormatError, match="no user message"):
        render_vicuna([{"role": "assistant", "content": "only me"}])
    with pytest.raises(FormatError, match="message 1"):
        render_vicuna([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])


def test_conversation_ending_with_a_user_turn(tiny_base_llama, conversations):
    """Raw ShareGPT often ends with an unanswered user message: the original renders the
    messages it has and appends no "ASSISTANT:"; the vector is the last token's of that string."""
    from transformers import AutoModel, AutoTokenizer

    # real conversations cut after a human message (one, two and three user turns)
    open_ended = []
    for conv in conversations:
        for n in (1, 3, 5):
            if len(conv) > n and conv[n - 1]["from"] == "human":
                open_ended.append(conv[:n])
    assert len(open_ended) >= 6 and all(c[-1]["from"] == "human" for c in open_ended)
    messages = messages_from_batch({"conversations": open_ended})
    for conv, msgs in zip(open_ended, messages):
        text = render_vicuna(msgs)
        assert text == fastchat_vicuna(conv)
        assert text.endswith(f"USER: {conv[-1]['value']} ")
        assert not text.rstrip().endswith("ASSISTANT:")

    emb = DeitaEmbedder(str(tiny_base_llama), batch_size=4, max_length=100_000)
    vecs = emb({"conversations": open_ended}, list(range(len(open_ended))))["embedding"]
    tok = AutoTokenizer.from_pretrained(tiny_base_llama)
    model = AutoModel.from_pretrained(tiny_base_llama).eval()
    for conv, vec in zip(open_ended, vecs):
        ids = tok(fastchat_vicuna(conv))["input_ids"]
        with torch.no_grad():
            hidden = model(torch.tensor([ids])).last_hidden_state[0, -1]
        ref = torch.nn.functional.normalize(hidden, dim=0)
        assert float((torch.tensor(vec) - ref).abs().max()) <= 1e-5
        # the old rendering (a trailing "ASSISTANT:") gives another vector
        old = tok(fastchat_vicuna(conv) + "ASSISTANT:")["input_ids"]
        with torch.no_grad():
            other = model(torch.tensor([old])).last_hidden_state[0, -1]
        assert float((torch.nn.functional.normalize(other, dim=0) - ref).abs().max()) > 1e-3


def test_token_ids_equal_independent_tokenization(tiny_base_llama, conversations, dolly_rows):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_base_llama)
    emb = DeitaEmbedder(str(tiny_base_llama), max_length=100_000)
    lead = [{"from": "gpt", "value": "Hi there."}] + conversations[1]
    system = [{"role": "system", "content": "You are a poet."},
              {"role": "user", "content": dolly_rows[2]["instruction"]},
              {"role": "assistant", "content": dolly_rows[2]["output"]}]
    sources = [conversations[0], conversations[2], lead]
    with pytest.warns(FormatWarning):
        messages = messages_from_batch({"conversations": sources})
    got = emb.token_ids([*messages, system])
    expected = [tok(fastchat_vicuna(s))["input_ids"] for s in sources]
    expected.append(tok(fastchat_vicuna([{"from": "human", "value": system[1]["content"]},
                                         {"from": "gpt", "value": system[2]["content"]}],
                                        system="You are a poet."))["input_ids"])
    assert got == expected
    assert all(ids[0] == tok.bos_token_id for ids in got)  # BOS, as add_special_tokens=True
    assert tok.eos_token_id in got[0]  # "</s>" after each answer is the EOS token
    # over-long: cut on the right at max_length (BOS kept), one warning for the batch
    short = DeitaEmbedder(str(tiny_base_llama), max_length=40)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cut = short.token_ids(messages)
    assert [len(c) for c in cut] == [min(40, len(e)) for e in expected[:3]]
    assert cut == [e[:40] for e in expected[:3]]
    mine = [w for w in caught if "DeitaEmbedder" in str(w.message)]
    assert len(mine) == 1 and "3 of 3 conversations" in str(mine[0].message)


@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_vectors_equal_a_direct_forward_pass(tiny_base_llama, dolly_rows, conversations,
                                             padding_side):
    from transformers import AutoModel, AutoTokenizer

    rows = [{"conversations": c} for c in conversations[:3]]
    rows += [{"conversations": [{"from": "human", "value": r["instruction"]},
                                {"from": "gpt", "value": r["output"]}]} for r in dolly_rows[:5]]
    batch = Dataset.from_list(rows)[:]
    emb = DeitaEmbedder(str(tiny_base_llama), batch_size=3, padding_side=padding_side)
    vecs = emb(batch, list(range(len(rows))))["embedding"]
    lengths = [len(x) for x in emb.token_ids(messages_from_batch(batch))]
    assert len(set(lengths)) > 3  # batches mix lengths, so padding is exercised
    assert max(lengths) == emb.max_length == 2048  # the 6-turn row is cut on the right

    tok = AutoTokenizer.from_pretrained(tiny_base_llama)
    model = AutoModel.from_pretrained(tiny_base_llama).eval()
    for row, vec in zip(rows, vecs):
        ids = tok(fastchat_vicuna(row["conversations"]))["input_ids"][:emb.max_length]
        with torch.no_grad():
            hidden = model(torch.tensor([ids])).last_hidden_state[0, -1]
        ref = torch.nn.functional.normalize(hidden, dim=0)
        got = torch.tensor(vec)
        assert got.dtype == torch.float32 and abs(float(got.norm()) - 1.0) < 1e-5
        assert float((got - ref).abs().max()) <= 1e-5


def test_component_interface_specs_and_pickling(tiny_base_llama):
    assert parse_spec("embedding", "deita").kind == "deita"
    assert parse_spec("embedding", f"deita:{tiny_base_llama}").target == str(tiny_base_llama)
    default = build_embedder("deita")
    assert isinstance(default, DeitaEmbedder)
    assert default.model_name_or_path == "mistralai/Mistral-7B-v0.1"
    emb = build_embedder(f"deita:{tiny_base_llama}", max_length=512, on_error="nan")
    assert isinstance(emb, DeitaEmbedder) and emb.max_length == 512
    d = emb.describe()
    assert {k: d[k] for k in ("kind", "template", "max_length", "column")} == {
        "kind": "deita-causal-lm", "template": "vicuna_v1.1", "max_length": 512,
        "column": "embedding"}
    assert d["dtype"] == "float32" and d["name"] == str(tiny_base_llama)
    emb({"instruction": ["a"], "output": ["b"]})  # loads the model
    assert "model" in emb._rt
    clone = pickle.loads(pickle.dumps(emb))
    assert clone._rt == {} and clone.describe() == d
    assert "model" not in copy.deepcopy(emb).__getstate__()


def test_offline_load_error_and_causal_lm_hint(tmp_path, dolly_rows):
    from deita_hf.testing import build_tiny_llama

    with pytest.raises(OSError, match=r"HF_HUB_OFFLINE.*--embedder deita:DIR.*--embedder minilm"):
        DeitaEmbedder()({"instruction": ["a"], "output": ["b"]})
    plain = build_tiny_llama(tmp_path / "plain", texts=[r["output"] for r in dolly_rows],
                             vocab_size=300)
    with pytest.raises(ValueError, match=r"DeitaEmbedder \(`--embedder deita:PATH`\)"):
        CausalLMEmbedder(str(plain))({"instruction": ["a"], "output": ["b"]})
