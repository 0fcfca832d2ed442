"""Pairwise win rate (AlpacaEval-style) with its standard error and a length-controlled win rate.

An ``evaluate`` module; load it offline by path:

    import evaluate
    from deita_hf.evaluation import metric_path
    win_rate = evaluate.load(metric_path("win_rate"))
    win_rate.compute(predictions=[1, 0.5, 0, 1], predictions_swapped=[1, 0.5, 1, None],
                     output_lengths=[900, 400, 300, 800], reference_lengths=[500, 500, 500, 500])

The numbers are those of :func:`deita_hf.evaluation.stats.win_rate_stats` (and of
``deita-hf eval --benchmark win_rate``); the length-controlled estimators (AlpacaEval's
``length_controlled_v1`` and ``length_controlled_minimal``) are documented in
:mod:`deita_hf.evaluation.length_control`; ``lc_estimator`` names the one used.
"""

from collections.abc import Sequence
from typing import Any

import datasets
import evaluate

from deita_hf.evaluation.length_control import load_length_control_table
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
preference combines both orders by a pair rule ("mean", or "fastchat": any disagreement is a
tie; a pair missing either order is missing: counted, not averaged), and the pairs whose verdict
flips between the orders are counted. With output lengths, the length-controlled win rate is
AlpacaEval's: length_controlled_minimal (a logistic regression of the preference on
tanh(standardized length difference), predicted at zero length difference) by default, or
length_controlled_v1 (with the per-instruction difficulty, regularised toward AlpacaEval's
length-gamed baselines) given AlpacaEval's df_gamed.csv and each pair's instruction index.
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
    pair_rule (str, optional): "mean" (default) or "fastchat".
    length_control (str, optional): "length_controlled_minimal" (default),
        "length_controlled_v1", "length_controlled_noreg", or None for none.
    instruction_index (list of int, optional): per pair, the instruction's AlpacaEval index (v1, noreg).
    length_control_data (str, optional): path of AlpacaEval's df_gamed.csv (v1) or
        instruction_difficulty.csv (noreg).
Returns:
    win_rate, standard_error, discrete_win_rate (float): percent; SE = sd / sqrt(n) over judged pairs.
    num_pairs, num_missing_pairs, num_wins, num_ties, num_losses (int); pair_rule (str).
    num_flipped, num_disagreements, first_position_rate: with predictions_swapped.
    lc_win_rate, lc_standard_error (percent, AlpacaEval's: the SE of the mean prediction),
    lc_estimator, lc_weights: with both length lists.
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
                 reference_lengths: Sequence[float] | None = None, pair_rule: str = "mean",
                 length_control: str | None = "length_controlled_minimal",
                 instruction_index: Sequence[int] | None = None,
                 length_control_data: str | None = None) -> dict[str, Any]:
        table = None if length_control_data is None else load_length_control_table(length_control_data)
        return win_rate_stats(list(predictions), swapped=predictions_swapped,
                              output_lengths=output_lengths, reference_lengths=reference_lengths,
                              pair_rule=pair_rule, length_control=length_control,
                              instruction_index=instruction_index, length_control_table=table)
