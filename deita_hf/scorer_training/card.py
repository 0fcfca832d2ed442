"""The model card of a trained DEITA scorer, and its held-out agreement section.

:func:`render_scorer_card` fills the package template ``model_cards/scorer_model_card.md``
(base model, data, hyper-parameters, usage, held-out agreement when measured);
:func:`update_scorer_card` (``deita-hf scorer-eval --update-card``) replaces the agreement
section of an existing card and leaves the rest as it is.

Example:
    >>> print(agreement_markdown(None).splitlines()[2])
    ## Held-out agreement
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deita_hf.errors import InputNotFoundError
from deita_hf.scorer_training.data import TEMPLATES
from deita_hf.training.model_card import TEMPLATES_DIR, _is_hub_id, framework_versions

if TYPE_CHECKING:
    from huggingface_hub import ModelCard

__all__ = ["DEFAULT_SCORER_TEMPLATE", "agreement_markdown", "render_scorer_card", "update_scorer_card"]

DEFAULT_SCORER_TEMPLATE = TEMPLATES_DIR / "scorer_model_card.md"
_START, _END = "<!-- deita-hf scorer-eval:start -->", "<!-- deita-hf scorer-eval:end -->"
_SECTION = re.compile(re.escape(_START) + r".*?" + re.escape(_END), re.DOTALL)


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def agreement_markdown(results: dict[str, Any] | None) -> str:
    """The card's ``## Held-out agreement`` section (between markers), from scorer-eval results.
    When ``results["trained_rows"]`` counts rows the scorer was trained on, the section is
    titled ``## Agreement (includes training rows)`` and says how many.

    Args:
        results: :func:`~deita_hf.scorer_training.heldout.evaluate_scorer` output, or None.

    Returns:
        The Markdown section.

    Example:
        >>> text = agreement_markdown({"data": "held.jsonl", "rows": 4, "overall": {
        ...     "n": 4, "spearman": 0.8, "kendall": 0.6667, "mae": 0.41}})
        >>> "| Spearman (all rows) | 0.8000 |" in text
        True
    """
    lines = [_START, "", "## Held-out agreement", ""]
    if not results:
        lines += [("Not measured yet. Run `deita-hf scorer-eval MODEL --data HELD_OUT --kind KIND "
                   "--output DIR --update-card MODEL` to add it.")]
    else:
        ov = results.get("overall", {})
        n = results.get("rows", ov.get("n"))
        trained = results.get("trained_rows")
        if trained:
            lines[2] = "## Agreement (includes training rows)"
            what = (f"{n} rows, {trained} of which the scorer was trained on (this includes "
                    f"training rows: it is not a held-out measure)")
        else:
            what = f"{n} held-out rows"
        lines += [(f"Agreement of the expected score with the labels of {what} "
                   f"(`{results.get('data')}`), measured by `deita-hf scorer-eval`."), "",
                  "| metric | value |", "|---|---|",
                  f"| Spearman (all rows) | {_fmt(ov.get('spearman'))} |",
                  f"| Kendall tau-b (all rows) | {_fmt(ov.get('kendall'))} |",
                  f"| MAE of the expected score | {_fmt(ov.get('mae'))} |"]
        bg = results.get("by_group")
        if bg:
            lines += [f"| Spearman, mean over seed groups | {_fmt(bg.get('spearman'))} |",
                      f"| Kendall tau-b, mean over seed groups | {_fmt(bg.get('kendall'))} |",
                      (f"| seed groups (with a defined correlation) | {bg.get('groups')} "
                       f"({bg.get('groups_defined')}) |")]
    return "\n".join(lines + ["", _END])


def render_scorer_card(*, kind: str, base_model: str, provenance: dict[str, Any],
                       hparams: dict[str, Any], model_name: str, model_path: str,
                       num_train_rows: int, num_held_out: int = 0, train_fraction: float = 1.0,
                       split_seed: int = 0, label_counts: dict[str, int] | None = None,
                       train_metrics: dict[str, Any] | None = None,
                       results: dict[str, Any] | None = None,
                       template_path: str | os.PathLike | None = None) -> ModelCard:
    """Render the scorer's model card.

    Args:
        kind: ``"complexity"`` or ``"quality"``.
        base_model: the model that was fine-tuned (Hub id or path).
        provenance: :func:`deita_hf.training.model_card.read_data_provenance` output.
        hparams: :func:`deita_hf.training.model_card.hyperparameters` output.
        model_name: the Hub repo name or the output folder name.
        model_path: how users load it (Hub id or folder), shown in the usage snippet.
        num_train_rows: rows trained on; ``num_held_out``: rows held out.
        train_fraction, split_seed: the split settings.
        label_counts: label -> rows trained on.
        train_metrics: ``trainer.train()`` metrics.
        results: scorer-eval results on the held-out rows (None: not measured).
        template_path: Jinja template (default :data:`DEFAULT_SCORER_TEMPLATE`).

    Returns:
        A ``huggingface_hub.ModelCard``.
    """
    from huggingface_hub import ModelCard, ModelCardData

    template = Path(template_path) if template_path else DEFAULT_SCORER_TEMPLATE
    if not template.is_file():
        raise InputNotFoundError(f"Model-card template {template} not found; pass "
                                 f"model_card_template=<a Jinja .md template>.")
    card_data = ModelCardData(
        base_model=base_model if _is_hub_id(base_model) else None,
        datasets=[provenance["hub_id"]] if provenance.get("hub_id") else None,
        library_name="transformers", model_name=model_name, pipeline_tag="text-generation",
        tags=["deita", "deita-hf", "deita-scorer", f"{kind}-scorer", "trl", "sft"],
    )
    return ModelCard.from_template(
        card_data, template_path=str(template), kind=kind, model_name=model_name,
        scorer_class={"complexity": "ComplexityScorer", "quality": "QualityScorer"}[kind],
        model_path=model_path, base_model_name=base_model,
        base_model_url=f"https://huggingface.co/{base_model}" if _is_hub_id(base_model) else None,
        prompt_template=TEMPLATES[kind][0], data=provenance, num_train_rows=num_train_rows,
        num_held_out=num_held_out, train_fraction=train_fraction, split_seed=split_seed,
        label_counts=label_counts or {}, hparams=hparams, train_metrics=train_metrics or {},
        agreement_section=agreement_markdown(results), versions=framework_versions(),
    )


def update_scorer_card(model_dir: str | os.PathLike, results: dict[str, Any]) -> Path:
    """Put scorer-eval ``results`` into ``MODEL_DIR/README.md``: replace the agreement section
    (or append one to a card that has none); the rest of the card is kept.

    Raises:
        InputNotFoundError: ``model_dir`` is not a folder.
    """
    root = Path(model_dir)
    if not root.is_dir():
        raise InputNotFoundError(f"--update-card {str(model_dir)!r} is not a model folder.")
    path = root / "README.md"
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    section = agreement_markdown(results)
    if _SECTION.search(text):
        text = _SECTION.sub(lambda _: section, text, count=1)
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + section + "\n"
    path.write_text(text, encoding="utf-8")
    return path
