"""Integration test of the vLLM generation backend: needs a GPU and ``pip install 'deita_hf[vllm]'``.

Not part of ``make test`` (CI has neither). Run where both exist:

    HF_HUB_OFFLINE=1 python -m pytest tests_gpu/test_vllm_generation.py -q

It generates greedily from a tiny LLaMA built offline with vLLM and with transformers, for raw
prompts and chats, and checks that both backends give the same texts (and the cache works).
"""

import pytest

vllm = pytest.importorskip("vllm")
torch = pytest.importorskip("torch")
if not torch.cuda.is_available():
    pytest.skip("vLLM generation needs a CUDA GPU", allow_module_level=True)

from deita_hf.generation import GenerationParams, build_generator
from deita_hf.testing import VICUNA_STYLE_TEMPLATE, build_tiny_llama

PROMPTS = ["Give three tips for staying healthy.", "What is the capital of France?",
           "Write a haiku about autumn leaves falling on a quiet pond."]


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory):
    texts = PROMPTS * 50 + ["USER: hello ASSISTANT: hi there, how can I help?"] * 50
    return str(build_tiny_llama(tmp_path_factory.mktemp("tiny"), texts=texts, hidden_size=128,
                                intermediate_size=256, chat_template=VICUNA_STYLE_TEMPLATE))


def test_vllm_matches_transformers_greedy(tiny_llama, tmp_path):
    params = GenerationParams(max_new_tokens=16, stop=("\n\n",))
    inputs = PROMPTS + [[{"role": "user", "content": p}] for p in PROMPTS]
    ref = build_generator(f"hf:{tiny_llama}", device="cuda", dtype="float32").generate(inputs, params, progress=False)
    gen = build_generator(f"vllm:{tiny_llama}", dtype="float32", gpu_memory_utilization=0.3,
                          enforce_eager=True, cache_dir=tmp_path)
    out = gen.generate(inputs, params, progress=False)
    same = sum(a == b for a, b in zip(out, ref))
    assert same >= len(inputs) - 1, list(zip(out, ref))  # fp32 greedy: at most one tie flip
    assert gen.generate(inputs, params, progress=False) == out and len(gen.cache) == len(inputs)
