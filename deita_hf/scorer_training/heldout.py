"""Score held-out scorer rows with a trained scorer and measure its agreement with the labels.

Used by ``deita-hf scorer-eval`` and, at the end of training, by the scorer recipe (held-out
rows of ``train_fraction < 1``). Predictions are the scorers' own expected scores
(:class:`~deita_hf.scoring.ComplexityScorer` / :class:`~deita_hf.scoring.QualityScorer`, the
same prompts, fitting and score tokens as in selection).

Example:
    results = evaluate_scorer("out/my-complexity-scorer", "held_out.jsonl", "complexity",
                              output_dir="out/scorer-eval")
    results["overall"]["spearman"]
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from datasets import Dataset

from deita_hf.scorer_training.agreement import (
    FIGURE_FILE,
    agreement,
    write_figure,
    write_results,
)
from deita_hf.scorer_training.data import TEMPLATES, load_scorer_rows
from deita_hf.scorer_training.trained_rows import count_trained
from deita_hf.scoring.scorers import ComplexityScorer, QualityScorer, _ModelScorer

__all__ = ["PREDICTIONS_FILE", "evaluate_rows", "evaluate_scorer", "make_scorer", "predict_scores"]

PREDICTIONS_FILE = "predictions.jsonl"


class _RawPromptScorer(_ModelScorer):
    """Scores prompts given whole (rows whose prompt is in no known template form)."""

    column = "score"
    template = "{instruction}"
    fields = ("instruction",)


def make_scorer(kind: str, model: str, **kwargs: Any) -> _ModelScorer:
    """``ComplexityScorer(model, **kwargs)`` or ``QualityScorer(model, **kwargs)`` by ``kind``."""
    return {"complexity": ComplexityScorer, "quality": QualityScorer}[kind](model, **kwargs)


def predict_scores(rows: Dataset, scorer: _ModelScorer) -> list[float]:
    """Expected scores of normalised scorer rows (:func:`~deita_hf.scorer_training.data.to_scorer_rows`).

    Args:
        rows: the rows.
        scorer: a :class:`ComplexityScorer` / :class:`QualityScorer` (loaded on first use).

    Returns:
        One float per row, in row order.
    """
    fields = TEMPLATES[scorer.column][1]
    parsed, raw = [], []
    for i, rec in enumerate(rows):
        (parsed if rec["instruction"] is not None else raw).append((i, rec))
    preds: list[float] = [float("nan")] * len(rows)
    if parsed:
        scores = scorer.score_texts([{f: r[f] for f in fields} for _, r in parsed],
                                    where=[f"row {r['row']}" for _, r in parsed])
        for (i, _), s in zip(parsed, scores):
            preds[i] = s
    if raw:
        scorer.load()
        whole = _RawPromptScorer(scorer.model_name_or_path, batch_size=scorer.batch_size,
                                 max_length=scorer.max_length, prefix_cache=False)
        whole.use_model(scorer._rt["model"], scorer._rt["tokenizer"])
        scores = whole.score_texts([{"instruction": r["prompt"]} for _, r in raw],
                                   where=[f"row {r['row']}" for _, r in raw])
        for (i, _), s in zip(raw, scores):
            preds[i] = s
    return preds


def evaluate_rows(rows: Dataset, scorer: _ModelScorer, *, output_dir: str | os.PathLike | None = None,
                  data_name: str | None = None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Predict, compare with the labels and (with ``output_dir``) write ``results.json``,
    ``predictions.jsonl`` and the figure.

    Args:
        rows: scorer rows with labels.
        scorer: the scorer.
        output_dir: where to write (None: nothing is written).
        data_name: the rows' source, kept in the results.
        extra: more keys for the results (e.g. ``trained_rows``).

    Returns:
        ``{"model", "kind", "data", "rows", "overall", ["by_group", "groups"], "settings"}``
        (see :func:`~deita_hf.scorer_training.agreement.agreement`).
    """
    preds = predict_scores(rows, scorer)
    labels = rows["score"][:]
    seeds = rows["seed_id"][:]
    results: dict[str, Any] = {
        "model": scorer.model_name_or_path, "kind": scorer.column, "data": data_name,
        "rows": len(rows), **agreement(preds, labels, seeds),
        "settings": {"max_length": scorer.max_length, "batch_size": scorer.batch_size,
                     "dtype": scorer.compute_dtype()},
        **(extra or {}),
    }
    if output_dir is not None:
        out = Path(output_dir)
        write_results(results, out)
        with open(out / PREDICTIONS_FILE, "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps({"row": r, "seed_id": s, "label": y, "predicted": p}) + "\n" for r, s, p, y in zip(rows["row"][:], seeds, preds, labels))
        ov = results["overall"]
        write_figure(preds, labels, out / FIGURE_FILE,
                     title=f"{Path(str(scorer.model_name_or_path)).name} ({scorer.column}): "
                           f"Spearman {ov['spearman']:.3f}, MAE {ov['mae']:.2f}, n={ov['n']}")
    return results


def evaluate_scorer(model: str, data: str | os.PathLike, kind: str, *,
                    output_dir: str | os.PathLike | None = None, split: str = "train",
                    batch_size: int = 8, max_length: int | None = None, device: str | None = None,
                    dtype: str | None = None,
                    card_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """Load held-out rows (any accepted form; labels may be fractional) and evaluate ``model``.

    Args:
        model: the scorer folder (or Hub id).
        data: the held-out rows: file, folder (a ``deita-hf rank`` output included) or Hub id.
        kind: ``"complexity"`` or ``"quality"``.
        output_dir: where to write the results (None: write nothing).
        split: the split of Hub datasets.
        batch_size, max_length, device, dtype: the scorer's settings (``max_length=None``:
            prompts are scored whole, as by ``deita-hf score``).
        card_dir: the scorer folder whose card will show the results (default ``model``):
            its record of training prompts (:mod:`~deita_hf.scorer_training.trained_rows`)
            is compared with ``data``, before the model loads.

    Returns:
        The :func:`evaluate_rows` results, with ``trained_rows``: how many of the rows the
        scorer was trained on (None: no record).
    """
    rows = load_scorer_rows(data, kind, split=split, integer=False)
    trained = count_trained(card_dir if card_dir is not None else model, rows)
    scorer = make_scorer(kind, model, batch_size=batch_size, max_length=max_length, device=device,
                         dtype=dtype)
    return evaluate_rows(rows, scorer, output_dir=output_dir, data_name=str(data),
                         extra={"trained_rows": trained})
