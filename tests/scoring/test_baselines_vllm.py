"""Length baselines and the vLLM logprob -> score conversion."""

import math

import pytest

from deita_hf.scoring import InstructionLengthScorer, ResponseLengthScorer
from deita_hf.scoring.vllm_backend import score_from_logprobs


def test_length_baselines_per_turn_in_characters(multi_turn_rows):
    batch = {"conversations": [r["conversations"] for r in multi_turn_rows[:2]]}
    conv = multi_turn_rows[0]["conversations"]
    c = InstructionLengthScorer()(batch, indices=[0, 1])["complexity"]
    q = ResponseLengthScorer()(batch)["quality"]
    assert c[0] == [float(len(conv[0]["value"])), float(len(conv[2]["value"]))]
    assert q[0] == [float(len(conv[1]["value"])), float(len(conv[3]["value"]))]
    assert InstructionLengthScorer().describe() == {
        "name": "instruction-length", "revision": None, "kind": "length-baseline",
        "column": "complexity", "unit": "characters"}


def test_score_from_logprobs_matches_softmax():
    logits = [0.3, -1.2, 2.0, 0.0, 0.7, -0.4]
    z = sum(math.exp(v) for v in logits)
    want = sum((k + 1) * math.exp(v) / z for k, v in enumerate(logits))
    shifted = {str(k + 1): v - 5.0 for k, v in enumerate(logits)}  # any normalisation
    assert score_from_logprobs(shifted) == pytest.approx(want, abs=1e-12)
    assert score_from_logprobs({"▁" + k: v for k, v in shifted.items()}) == pytest.approx(want)


def test_score_from_logprobs_missing_token_is_an_error():
    with pytest.raises(ValueError, match=r"\['6'\]"):
        score_from_logprobs({str(k): -1.0 for k in range(1, 6)})
