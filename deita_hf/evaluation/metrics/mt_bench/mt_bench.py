"""MT-Bench score: aggregate single-answer judge ratings (1-10) per turn and per category.

An ``evaluate`` module; load it offline by path:

    import evaluate
    from deita_hf.evaluation import metric_path
    mt_bench = evaluate.load(metric_path("mt_bench"))
    mt_bench.compute(predictions=[8, None, 6, 4], references=["writing", "writing", "math", "math"],
                     turns=[1, 2, 1, 2])
    # {'score': 6.0, 'num_judgments': 4, 'num_rated': 3, 'num_missing': 1, 'per_turn': {...}, ...}

The numbers are those of :func:`deita_hf.evaluation.stats.mt_bench_scores` (and of
``deita-hf eval --benchmark mt_bench``).
"""

from collections.abc import Sequence
from typing import Any

import datasets
import evaluate

from deita_hf.evaluation.stats import mt_bench_scores

_CITATION = """\
@inproceedings{zheng2023judging,
  title={Judging {LLM}-as-a-Judge with {MT}-Bench and Chatbot Arena},
  author={Lianmin Zheng and Wei-Lin Chiang and Ying Sheng and Siyuan Zhuang and Zhanghao Wu and Yonghao Zhuang and Zi Lin and Zhuohan Li and Dacheng Li and Eric Xing and Hao Zhang and Joseph E. Gonzalez and Ion Stoica},
  booktitle={Advances in Neural Information Processing Systems Datasets and Benchmarks Track},
  year={2023}
}
"""

_DESCRIPTION = """\
The MT-Bench score: the mean of an LLM judge's 1-10 ratings over all judged turns, as FastChat's
show_result computes it, with the same mean per turn and per question category. A missing
rating (None, NaN, or FastChat's -1: the judge gave no [[rating]]) is counted in num_missing and
left out of every mean; it is never filled in.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (list of float or None): the judge's rating of each judged turn (1-10);
        None/NaN/-1 for a missing rating.
    references (list of str): the question category of each rating (writing, math, ...).
    turns (list of int, optional): the turn (1 or 2) of each rating, for the per-turn means.
Returns:
    score (float): mean rating over all rated turns (NaN when none is rated).
    num_judgments, num_rated, num_missing (int): counts.
    per_turn (dict): {"turn_1": {"score", "num_rated", "num_missing"}, "turn_2": ...}.
    per_category (dict): {category: {"score", "num_rated", "num_missing"}}.
Examples (``metric_path`` from ``deita_hf.evaluation``; tested in tests/evaluation):

    mt_bench = evaluate.load(metric_path("mt_bench"))
    mt_bench.compute(predictions=[8, 6], references=["writing", "math"])["score"]  # ->
    7.0
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class MTBench(evaluate.Metric):
    """MT-Bench score from judge ratings."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("float64"),
                                        "references": datasets.Value("string")}),
            reference_urls=["https://github.com/lm-sys/FastChat/tree/main/fastchat/llm_judge"],
        )

    def _compute(self, predictions: Sequence[Any], references: Sequence[str],
                 turns: Sequence[int] | None = None) -> dict[str, Any]:
        return mt_bench_scores(list(predictions), list(references), None if turns is None else list(turns))
