"""A win-rate run in AlpacaEval's files: ``model_outputs.json``, ``annotations.json``, ``leaderboard.csv``.

``deita-hf eval ... --export alpaca_eval`` (or later, ``deita-hf eval --output DIR --export
alpaca_eval``) writes ``DIR/alpaca_eval/``:

- ``model_outputs.json``: AlpacaEval's model-outputs layout (a JSON array of ``instruction``,
  ``output``, ``generator`` and ``dataset`` when known), which ``alpaca_eval``'s loader reads
  (``answers.jsonl`` cannot be: its loader takes ``.json``, ``.csv`` and ``.tsv`` only).
- ``annotations.json``: one AlpacaEval annotation per pair (``output_1`` the reference,
  ``output_2`` the model, ``preference`` = 1 + the pair's preference for the model, so 1
  reference better, 2 model better, 1.5 tie; null when the judge gave no verdict), which
  ``alpaca_eval``'s metrics take as they are.
- ``leaderboard.csv``: one leaderboard row, the model as index, with AlpacaEval's fields:
  ``win_rate``, ``standard_error``, ``n_wins``, ``n_wins_base``, ``n_draws``, ``n_total``
  (judged pairs), ``discrete_win_rate``, ``mode`` (``community``), ``avg_length`` (mean
  characters of the model's outputs, as an integer), ``length_controlled_winrate`` and
  ``lc_standard_error`` (only from ``length_controlled_v1``, the leaderboard's estimator;
  empty otherwise, with the estimator used in ``lc_estimator``).

Example:
    >>> row = leaderboard_row({"win_rate": 60.0, "standard_error": 5.0, "discrete_win_rate": 62.5,
    ...     "num_wins": 5, "num_losses": 3, "num_ties": 0, "num_pairs": 8,
    ...     "lc_estimator": "length_controlled_minimal", "lc_win_rate": 55.0}, avg_length=420)
    >>> row["n_wins_base"], row["length_controlled_winrate"], row["lc_estimator"]
    (3, None, 'length_controlled_minimal')
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

from deita_hf.errors import ConfigError, InputNotFoundError
from deita_hf.evaluation.answers import read_records, write_json_array
from deita_hf.evaluation.card import short_spec
from deita_hf.evaluation.outputs import read_results

__all__ = ["EXPORT_DIR", "LEADERBOARD_FIELDS", "export_alpaca_eval", "leaderboard_row"]

EXPORT_DIR = "alpaca_eval"
#: the columns of AlpacaEval's ``leaderboard.csv`` (after the model name), in its order
LEADERBOARD_FIELDS = ("win_rate", "standard_error", "n_wins", "n_wins_base", "n_draws", "n_total",
                      "discrete_win_rate", "mode", "avg_length", "length_controlled_winrate", "lc_standard_error",
                      "lc_estimator")


def leaderboard_row(metrics: dict[str, Any], *, avg_length: int | None) -> dict[str, Any]:
    """AlpacaEval's leaderboard fields from :func:`~deita_hf.evaluation.stats.win_rate_stats` metrics.

    Args:
        metrics: the run's metrics.
        avg_length: mean characters of the model's outputs (an integer, as AlpacaEval's).

    Returns:
        ``{field: value}`` for :data:`LEADERBOARD_FIELDS`; the LC fields are None unless the
        estimator was ``length_controlled_v1``.
    """
    v1 = metrics.get("lc_estimator") == "length_controlled_v1"
    return {"win_rate": metrics.get("win_rate"), "standard_error": metrics.get("standard_error"),
            "n_wins": metrics.get("num_wins"), "n_wins_base": metrics.get("num_losses"),
            "n_draws": metrics.get("num_ties"), "n_total": metrics.get("num_pairs"),
            "discrete_win_rate": metrics.get("discrete_win_rate"), "mode": "community", "avg_length": avg_length,
            "length_controlled_winrate": metrics.get("lc_win_rate") if v1 else None,
            "lc_standard_error": metrics.get("lc_standard_error") if v1 else None,
            "lc_estimator": metrics.get("lc_estimator")}


def export_alpaca_eval(folder: str | os.PathLike, *, name: str | None = None) -> dict[str, Any]:
    """Write ``FOLDER/alpaca_eval/`` from a finished win-rate run folder.

    Args:
        folder: the ``deita-hf eval --benchmark win_rate`` folder.
        name: the model's name in the files (default: the short name of its spec).

    Returns:
        ``{"files": [paths], "row": leaderboard fields, "name": name}``.

    Raises:
        ConfigError: the folder holds another benchmark.
        InputNotFoundError: the run is not finished.
    """
    folder = Path(folder)
    results = read_results(folder)
    if results["benchmark"] != "win_rate":
        raise ConfigError(f"--export alpaca_eval needs a win-rate run; {str(folder)!r} holds {results['benchmark']}.")
    answers_file, judgments_file = folder / "answers.jsonl", folder / "judgments.jsonl"
    for file in (answers_file, judgments_file):
        if not file.is_file():
            raise InputNotFoundError(f"{str(file)!r} is missing: re-run the evaluation that wrote {str(folder)!r}.")
    answers = read_records(answers_file, what="answers")
    judged = {r["index"]: r for r in read_records(judgments_file, what="judgments")}
    name = name or short_spec(results["model"])
    annotator = short_spec(results["judge"])
    out = folder / EXPORT_DIR
    outputs = [{"instruction": a["instruction"], "output": a["output"], "generator": name,
                **({"dataset": a["dataset"]} if a.get("dataset") else {})} for a in answers]
    files = [write_json_array(out / "model_outputs.json", outputs)]
    annotations = []
    for a in answers:
        pref = judged.get(a["index"], {}).get("preference")
        annotations.append({"instruction": a["instruction"], "output_1": a["reference_output"],
                            "generator_1": a["reference_generator"], "output_2": a["output"], "generator_2": name,
                            "annotator": annotator, "preference": None if pref is None else 1 + pref,
                            **({"dataset": a["dataset"]} if a.get("dataset") else {})})
    files.append(write_json_array(out / "annotations.json", annotations))
    avg = results.get("settings", {}).get("avg_length")
    if avg is None and outputs:
        avg = int(sum(len(o["output"]) for o in outputs) / len(outputs))
    row = leaderboard_row(results["metrics"], avg_length=avg)
    path = out / "leaderboard.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["", *LEADERBOARD_FIELDS])
        writer.writerow([name, *("" if row[k] is None else row[k] for k in LEADERBOARD_FIELDS)])
    files.append(path)
    return {"files": [str(f) for f in files], "row": row, "name": name}
