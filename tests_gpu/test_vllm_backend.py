"""Integration test of the vLLM scoring backend: needs a GPU and ``pip install 'deita_hf[vllm]'``.

Not part of ``make test`` (CI has neither). Run where both exist:

    HF_HUB_OFFLINE=1 python -m pytest tests_gpu -q

It scores real Alpaca rows with a tiny LLaMA built offline through both backends and checks
that vLLM's restricted one-token logprobs give the same expected scores as the transformers
forward pass.
"""

import pytest
import vllm  # noqa: F401  (an ImportError here means: install vllm to run this suite)

from deita_hf.scoring import ComplexityScorer, QualityScorer


@pytest.mark.parametrize("cls", [ComplexityScorer, QualityScorer])
def test_vllm_scores_match_transformers(cls, rows, tiny_llama):
    batch = {k: [r[k] for r in rows[:16]] for k in ("instruction", "input", "output")}
    reference = cls(tiny_llama, dtype="float32", device="cuda")(batch)[cls.column]
    scores = cls(tiny_llama, backend="vllm")(batch)[cls.column]
    assert len(scores) == len(reference) == 16
    for got, want in zip(scores, reference):
        assert len(got) == len(want) == 1
        assert 1.0 <= got[0] <= 6.0
        assert got[0] == pytest.approx(want[0], abs=2e-2)  # vLLM runs the model in fp16/bf16
