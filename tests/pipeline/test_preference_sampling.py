"""build_preference_dataset: seeded random sampling and DEITA-score ranking of preference pairs."""

from __future__ import annotations

import pytest
from datasets import Dataset
from sample_data import ALPACA_EVAL_DRAWS, alpaca_eval_annotation_rows, seed_task_rows

from deita_hf.data.formats import FormatError
from deita_hf.data.loading import load_pool
from deita_hf.pipeline.preference import build_preference_dataset
from deita_hf.scoring import InstructionLengthScorer, ResponseLengthScorer


@pytest.fixture(scope="module")
def llamafactory(test_data):
    """70 real LLaMA-Factory DPO demo pairs (ShareGPT-style conversations)."""
    return load_pool(test_data / "llamafactory_dpo_en_demo_70.jsonl")


def test_random_is_seeded_and_keeps_columns(llamafactory):
    a = build_preference_dataset(llamafactory, 50, seed=1)
    b = build_preference_dataset(llamafactory, 50, seed=1)
    c = build_preference_dataset(llamafactory, 50, seed=2)
    assert a.column_names == llamafactory.column_names and len(a) == 50
    assert a.to_list() == b.to_list() and a.to_list() != c.to_list()
    keys = {(r["chosen"]["value"], r["rejected"]["value"]) for r in llamafactory}
    picked = [(r["chosen"]["value"], r["rejected"]["value"]) for r in a]
    assert set(picked) <= keys and len(set(picked)) == 50  # real rows, no repeats


def test_random_covers_the_pool(llamafactory):
    """Across seeds every part of the pool gets picked: not a fixed head slice."""
    seen = set()
    for seed in range(20):
        seen.update(r["chosen"]["value"] for r in build_preference_dataset(llamafactory, 30, seed=seed))
    assert len(seen) > 2 * len(llamafactory) // 3  # a fixed slice would give 30 of the 70


def _expected_deita(row) -> float:
    """Σ over turns of len(instruction) × len(response), turns of prompt + chosen (system off)."""
    msgs = [m for m in row["conversations"] if m["from"] != "system"]
    msgs = msgs + [row["chosen"]]
    return float(sum(len(msgs[i]["value"]) * len(msgs[i + 1]["value"])
                     for i in range(0, len(msgs), 2)))


def test_deita_strategy_ranks_by_length_baselines(llamafactory):
    out = build_preference_dataset(llamafactory, 10, strategy="deita",
                                   complexity_scorer=InstructionLengthScorer(),
                                   quality_scorer=ResponseLengthScorer())
    assert out.column_names == llamafactory.column_names + ["complexity", "quality",
                                                            "deita_score"]
    expected = sorted((_expected_deita(r) for r in llamafactory), reverse=True)[:10]
    assert out["deita_score"] == pytest.approx(expected)
    assert list(out["deita_score"]) == sorted(out["deita_score"], reverse=True)
    for row in out:
        assert row["deita_score"] == pytest.approx(_expected_deita(row))
        assert len(row["complexity"]) == len(row["quality"])


def test_deita_scores_chosen_not_rejected():
    pool = Dataset.from_dict({"prompt": ["q1", "q2"], "chosen": ["a", "bbbbbbbb"],
                              "rejected": ["x" * 100, "y"]})
    out = build_preference_dataset(pool, 1, strategy="deita",
                                   complexity_scorer=InstructionLengthScorer(),
                                   quality_scorer=ResponseLengthScorer())
    assert out[0]["prompt"] == "q2"


def test_alpaca_eval_draws_never_picked():
    pool = Dataset.from_list(alpaca_eval_annotation_rows())  # AlpacaEval annotations' schema
    usable = len(pool) - ALPACA_EVAL_DRAWS
    out = build_preference_dataset(pool, usable, seed=0)
    assert 0 not in set(out["preference"])
    with pytest.raises(ValueError, match=f"only {usable} usable pairs \\({ALPACA_EVAL_DRAWS} "
                                         "draws left out\\)"):
        build_preference_dataset(pool, usable + 1)


@pytest.mark.parametrize("kwargs,message", [
    ({"size": 0}, "positive integer"),
    ({"size": 71}, "only 70 usable pairs"),
    ({"size": 5, "strategy": "best"}, "strategy="),
    ({"size": 5, "strategy": "deita"}, "needs complexity_scorer"),
])
def test_bad_arguments(llamafactory, kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_preference_dataset(llamafactory, **kwargs)


def test_column_clash_and_non_preference_data():
    pool = Dataset.from_dict({"prompt": ["q"], "chosen": ["a"], "rejected": ["b"],
                              "deita_score": [1.0]})
    with pytest.raises(ValueError, match="already has column"):
        build_preference_dataset(pool, 1, strategy="deita",
                                 complexity_scorer=InstructionLengthScorer(),
                                 quality_scorer=ResponseLengthScorer())
    sft = Dataset.from_list(seed_task_rows())  # Alpaca's seed tasks: instruction + instances
    with pytest.raises(FormatError, match="Not a preference dataset"):
        build_preference_dataset(sft, 1)


def test_random_matches_deita_sampling_script(llamafactory):
    """DEITA: random.seed(42); data.select(random.sample(range(len(data)), n))."""
    import random

    random.seed(42)
    expected = llamafactory.select(random.sample(range(len(llamafactory)), 40))
    assert build_preference_dataset(llamafactory, 40, seed=42).to_list() == expected.to_list()
