"""Evaluation results into a model card: ``model-index`` metadata and the evaluation table.

:func:`update_model_card` loads ``MODEL_DIR/README.md`` with ``huggingface_hub.ModelCard``,
replaces or adds this benchmark's ``EvalResult`` entries in ``card.data.eval_results`` (the
``model-index`` the Hub shows) and the matching rows of the ``## Evaluation`` table (the
section :func:`deita_hf.training.model_card.render_model_card` writes), and keeps the rest of
the card as it was.

Example:
    >>> rows = card_rows({"benchmark": "mt_bench", "judge": "openai:http://h:8000/v1#gpt-4",
    ...                   "metrics": {"score": 6.125, "per_turn": {"turn_1": {"score": 6.5}}},
    ...                   "settings": {"num_questions": 80}})
    >>> [(r["benchmark"], r["metric"], r["value"]) for r in rows]
    [('MT-Bench', 'score (1-10), judge gpt-4', 6.12), ('MT-Bench', 'turn 1 score, judge gpt-4', 6.5)]
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

from deita_hf.errors import ConfigError, InputNotFoundError

__all__ = ["card_rows", "eval_results", "short_spec", "update_model_card"]

_HEADER = "| benchmark | metric | value |"


def short_spec(spec: str) -> str:
    """A model's short name: the served name of ``openai:URL#NAME``, the folder of ``hf:PATH``,
    the name of ``answers:NAME`` (answers that were given).

    Example:
        >>> short_spec("openai:http://127.0.0.1:8000/v1#judge"), short_spec("hf:/runs/deita-6k/")
        ('judge', 'deita-6k')
        >>> short_spec("answers:vicuna-13b-v1.3")
        'vicuna-13b-v1.3'
    """
    if "#" in spec:
        return spec.rsplit("#", 1)[1]
    rest = spec.split(":", 1)[1] if spec.split(":", 1)[0] in ("hf", "vllm", "answers") else spec
    return Path(rest.rstrip("/")).name or rest


def _ok(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def card_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The evaluation-table rows of one run (the format ``load_eval_results`` reads).

    Args:
        results: ``results.json`` contents.

    Returns:
        ``[{"benchmark", "metric", "value", "dataset", "metric_type"}]``; a partial MT-Bench run
        says how many questions it used; the length-controlled win rate names its estimator
        (``length_controlled_v1`` or ``length_controlled_minimal``, also its ``metric_type``);
        metrics that are missing (NaN) are left out. An lm-eval run gives one row per task and
        metric, in percent, with the model-index fields of
        :func:`~deita_hf.evaluation.lm_eval_results.lm_eval_card_rows` (few-shot count, harness
        version).
    """
    if results.get("lm_eval_version") is not None and "scores" in results.get("metrics", {}):
        from deita_hf.evaluation.lm_eval_results import lm_eval_card_rows

        return lm_eval_card_rows(results)
    m, judge = results["metrics"], short_spec(results["judge"])
    n = results.get("settings", {}).get("num_questions")
    if results["benchmark"] in ("mt_bench", "mt_bench_pair"):
        part = "" if n in (None, 80) else f" ({n} of 80 questions)"
        if results["benchmark"] == "mt_bench":
            name = f"MT-Bench{part}"
            rows = [(name, f"score (1-10), judge {judge}", m.get("score"), "mt_bench_score")]
            for key, turn in sorted(m.get("per_turn", {}).items()):
                rows.append((name, f"{key.replace('_', ' ')} score, judge {judge}", turn.get("score"),
                             f"mt_bench_{key}"))
        else:
            name = f"MT-Bench pairwise vs {short_spec(str(results.get('baseline_model', 'baseline')))}{part}"
            rule = m.get("pair_rule", "fastchat")
            rows = [(name, f"win rate adjusted (%, ties 1/2, {rule} pair rule), judge {judge}",
                     _percent(m.get("win_rate_adjusted")), "mt_bench_pair_win_rate_adjusted"),
                    (name, f"win rate (%), judge {judge}", _percent(m.get("win_rate")), "mt_bench_pair_win_rate"),
                    (name, f"loss rate (%), judge {judge}", _percent(m.get("loss_rate")), "mt_bench_pair_loss_rate")]
        out = [{"benchmark": b, "metric": k, "value": round(v, 2), "dataset": "mt_bench", "metric_type": t}
               for b, k, v, t in rows if _ok(v)]
    else:
        ref = results.get("reference_model") or short_spec(str(results.get("reference", "reference")))
        name = f"Win rate vs {ref}" + ("" if n is None else f" ({n} instructions)")
        estimator = m.get("lc_estimator") or "length_controlled"
        rows = [(name, f"win rate (%), judge {judge}", m.get("win_rate"), "win_rate"),
                (name, f"length-controlled win rate (%, {estimator}), judge {judge}", m.get("lc_win_rate"),
                 estimator)]
        dataset = str(results.get("reference", "reference"))
        if not re.fullmatch(r"[\w.-]+/[\w.-]+", dataset) or Path(dataset).exists():
            dataset = Path(dataset).name  # a local file: its name, not this machine's path
        out = [{"benchmark": b, "metric": k, "value": round(v, 1), "dataset": dataset, "metric_type": t}
               for b, k, v, t in rows if _ok(v)]
    return out


def _percent(value: Any) -> Any:
    return 100 * value if _ok(value) else value


def eval_results(rows: list[dict[str, Any]]) -> list[Any]:
    """``huggingface_hub.EvalResult`` objects for :func:`card_rows` rows."""
    from huggingface_hub import EvalResult

    extra = ("dataset_config", "dataset_split", "dataset_args", "source_name", "source_url")
    return [EvalResult(task_type="text-generation", task_name="Text Generation", dataset_type=r["dataset"],
                       dataset_name=r["benchmark"], metric_type=r["metric_type"], metric_name=r["metric"],
                       metric_value=r["value"], **{k: r[k] for k in extra if r.get(k) is not None})
            for r in rows]


def _table_rows(lines: list[str]) -> list[tuple[str, str, str]]:
    rows = []
    for line in lines:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.lstrip().startswith("|") and len(cells) == 3 and not set("".join(cells)) <= set("-: ") \
                and cells != ["benchmark", "metric", "value"]:
            rows.append((cells[0], cells[1], cells[2]))
    return rows


def _update_table(text: str, rows: list[dict[str, Any]]) -> str:
    """The card text with ``rows`` merged into the ``## Evaluation`` table (section added if absent)."""
    lines = text.split("\n")
    start = next((i for i, line in enumerate(lines) if re.match(r"^##\s+Evaluation\s*$", line)), None)
    if start is None:
        while lines and not lines[-1].strip():
            lines.pop()
        body, before, after = [], lines + [""], []
    else:
        end = next((i for i in range(start + 1, len(lines)) if re.match(r"^#{1,2}\s", lines[i])), len(lines))
        before, body, after = lines[:start], lines[start + 1:end], lines[end:]
    table = _table_rows(body)
    new = {(r["benchmark"], r["metric"]): str(r["value"]) for r in rows}
    merged = [(b, k, new.pop((b, k), v)) for b, k, v in table] + [(b, k, v) for (b, k), v in new.items()]
    prose = [line for line in body if not line.lstrip().startswith("|")
             and not line.startswith("No evaluation results were given")]
    while prose and not prose[-1].strip():
        prose.pop()
    while prose and not prose[0].strip():
        prose.pop(0)
    section = ["## Evaluation", ""] + (prose + [""] if prose else []) + [_HEADER, "|---|---|---|"]
    section += [f"| {b} | {k} | {v} |" for b, k, v in merged] + [""]
    return "\n".join(before + section + after)


def update_model_card(model_dir: str | os.PathLike, results: dict[str, Any] | list[dict[str, Any]]) -> Path:
    """Write evaluation results into ``MODEL_DIR/README.md``, keeping the rest of the card.

    Args:
        model_dir: the model folder whose ``README.md`` is the card (created, with just the
            metadata and the table, when missing).
        results: one or several ``results.json`` contents.

    Returns:
        The card's path.

    Raises:
        InputNotFoundError: ``model_dir`` is not a folder.
        ConfigError: the card's metadata cannot be parsed.
    """
    from huggingface_hub import ModelCard, ModelCardData

    folder = Path(model_dir)
    if not folder.is_dir():
        raise InputNotFoundError(f"--update-card {str(folder)!r} is not a model folder.")
    path = folder / "README.md"
    rows = [row for r in ([results] if isinstance(results, dict) else results) for row in card_rows(r)]
    try:
        card = ModelCard.load(path) if path.is_file() else ModelCard(f"---\n{ModelCardData().to_yaml()}\n---\n")
    except ValueError as err:
        raise ConfigError(f"{path}: the card's metadata cannot be parsed ({err}); fix its YAML header.") from err
    data = card.data
    data.model_name = data.model_name or folder.resolve().name
    new = eval_results(rows)
    keys = {(e.dataset_type, e.dataset_name, e.metric_type) for e in new}
    kept = [e for e in (data.eval_results or []) if (e.dataset_type, e.dataset_name, e.metric_type) not in keys]
    data.eval_results = kept + new
    card.text = _update_table(card.text, rows)
    card.save(path)
    return path
