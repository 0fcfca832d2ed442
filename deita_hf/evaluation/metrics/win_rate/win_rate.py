"""Pairwise win rate (AlpacaEval-style) with its standard error and a length-controlled win rate.

An ``evaluate`` module; load it offline by path:

    import evaluate
    from deita_hf.evaluation import metric_path
    win_rate = evaluate.load(metric_path("win_rate"))
    win_rate.compute(predictions=[1, 0.5, 0, 1], predictions_swapped=[1, 0.5, 1, None],
                     output_lengths=[900, 400, 300, 800], reference_lengths=[500, 500, 500, 500])

The numbers are those of :func:`deita_hf.evaluation.stats.win_rate_stats` (and of
``deita-hf eval --benchmark win_rate``); the length-controlled model is documented in
:mod:`deita_hf.evaluation.stats`.
"""

from collections.abc import Sequence
from typing import Any

import datasets
import evaluate

from deita_hf.evaluation.stats import win_rate_stats

_CITATION = """\
@article{dubois2024length,
  title={Length-Controlled AlpacaEval: A Simple Way to Debias Automatic Evaluators},
  author={Yann Dubois and Bal{\\'a}zs Galambosi and Percy Liang and Tatsunori B. Hashimoto},
  journal={arXiv preprint arXiv:2404.04475},
  year={2024}
}
"""

_DESCRIPTION = """\
Win rate of a model against a reference model from pairwise judge verdicts, in percent: a win
counts 1, a tie 0.5, a loss 0. When each pair was also judged with the order swapped, a pair's
preference is the mean of both orders (a pair missing either order is missing: counted, not
averaged), and the pairs whose verdict flips between the orders are counted. With output
lengths, the length-controlled win rate is the win rate a logistic regression of the preference
on tanh(standardized length difference) predicts at zero length difference (AlpacaEval 2.0).
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (list of float or None): per pair, the judge's preference for the model with the
        model's output shown first: 1 (model better), 0.5 (tie), 0 (reference better); None/NaN
        when the judge gave no verdict.
    predictions_swapped (list of float or None, optional): the same pairs judged with the
        reference shown first, still as the preference FOR THE MODEL.
    output_lengths (list of int, optional): the model's output lengths (characters).
    reference_lengths (list of int, optional): the reference outputs' lengths.
Returns:
    win_rate, standard_error (float): percent; SE = sd / sqrt(n) over judged pairs.
    num_pairs, num_missing_pairs, num_wins, num_ties, num_losses (int).
    num_flipped, num_disagreements, first_position_rate: with predictions_swapped.
    lc_win_rate, lc_standard_error, length_coefficient, intercept: with both length lists.
Examples (``metric_path`` from ``deita_hf.evaluation``; tested in tests/evaluation):

    win_rate = evaluate.load(metric_path("win_rate"))
    win_rate.compute(predictions=[1, 0, 0.5, 1])["win_rate"]  # ->
    62.5
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class WinRate(evaluate.Metric):
    """Pairwise win rate from judge preferences."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("float64")}),
            reference_urls=["https://github.com/tatsu-lab/alpaca_eval"],
        )

    def _compute(self, predictions: Sequence[Any], predictions_swapped: Sequence[Any] | None = None,
                 output_lengths: Sequence[float] | None = None,
                 reference_lengths: Sequence[float] | None = None) -> dict[str, Any]:
        return win_rate_stats(list(predictions), swapped=predictions_swapped,
                              output_lengths=output_lengths, reference_lengths=reference_lengths)
