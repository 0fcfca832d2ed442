"""Fixtures of the generation tests: a tiny offline LLaMA (with and without a chat template),
real Dolly prompts, and a call counter around ``model.generate``."""

import os

import pytest
from sample_data import DOLLY, read_jsonl

from deita_hf.testing import VICUNA_STYLE_TEMPLATE, build_tiny_llama


@pytest.fixture(scope="session")
def dolly_prompt_rows():
    """200 real Dolly rows (Alpaca-style instruction/input/output) from ``tests/data``."""
    return read_jsonl(DOLLY, 200)


@pytest.fixture(scope="session")
def prompts(dolly_prompt_rows):
    """12 real instructions of varied lengths (unsorted; long inputs clipped to 600 chars)."""
    return [(r["instruction"] + (" " + r["input"] if r["input"] else ""))[:600] for r in dolly_prompt_rows[:12]]


@pytest.fixture(scope="session")
def gen_chat_llama(dolly_prompt_rows, tmp_path_factory):
    texts = [r["instruction"] + " " + r["output"] for r in dolly_prompt_rows]
    return str(build_tiny_llama(tmp_path_factory.mktemp("tiny_chat"), texts=texts,
                                chat_template=VICUNA_STYLE_TEMPLATE))


@pytest.fixture(scope="session")
def gen_base_llama(dolly_prompt_rows, tmp_path_factory):
    texts = [r["instruction"] for r in dolly_prompt_rows]
    return str(build_tiny_llama(tmp_path_factory.mktemp("tiny_plain"), texts=texts))


@pytest.fixture(scope="session")
def model_and_tokenizer(gen_chat_llama):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(1)
    return AutoModelForCausalLM.from_pretrained(gen_chat_llama).eval(), AutoTokenizer.from_pretrained(gen_chat_llama)


class GenerateSpy:
    """Wraps ``model.generate``: counts calls and rows, keeps the inputs and outputs."""

    def __init__(self, model):
        self.model, self.inner = model, model.generate
        self.calls, self.rows, self.outputs, self.inputs = 0, 0, [], []
        model.generate = self

    def __call__(self, *args, **kwargs):
        out = self.inner(*args, **kwargs)
        self.calls += 1
        self.rows += out.shape[0]
        self.inputs.append((kwargs["input_ids"], kwargs["attention_mask"]))
        self.outputs.append(out)
        return out

    def restore(self):
        if self.model.__dict__.get("generate") is self:
            del self.model.generate


@pytest.fixture
def spy(model_and_tokenizer):
    s = GenerateSpy(model_and_tokenizer[0])
    yield s
    s.restore()


@pytest.fixture(autouse=True)
def _offline():
    assert os.environ.get("HF_HUB_OFFLINE") == "1", "the generation tests run with HF_HUB_OFFLINE=1"
