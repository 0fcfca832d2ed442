"""lm-evaluation-harness results as deita_hf results: metrics, summary, comparison, card rows.

lm-eval reports each task's metrics as ``"acc_norm,none"`` with ``"acc_norm_stderr,none"``
(fractions in [0, 1]); :func:`lm_eval_metrics` turns them into ``results.json``'s ``metrics``:

- ``tasks``: per requested task or group, ``{"num_fewshot", "version", "num_samples",
  "headline", "metrics": {metric: {"value", "stderr"}}}`` (every metric lm-eval reported;
  a filter other than ``none`` is kept in the name, ``exact_match,strict-match``; a stderr
  lm-eval gives as ``"N/A"`` is None); a group also gets ``<metric>_macro``, the unweighted
  mean over its tasks (the v1 leaderboard's MMLU; lm-eval's group metric weights by size);
- ``scores``: per task its headline metric ``{"metric", "value", "stderr", "num_fewshot"}``;
- ``average``: the mean of the headline values (the leaderboard's average: ``open_llm`` only),
  else None.

Values stay fractions in ``results.json``; the summary, the comparison and the model card show
percentages, as the leaderboard does.

Example:
    >>> raw = {"results": {"arc_challenge": {"alias": "arc_challenge", "acc,none": 0.5,
    ...        "acc_stderr,none": 0.1, "acc_norm,none": 0.625, "acc_norm_stderr,none": 0.12}},
    ...        "n-shot": {"arc_challenge": 25}, "versions": {"arc_challenge": 1.0},
    ...        "n-samples": {"arc_challenge": {"original": 8, "effective": 8}}}
    >>> m = lm_eval_metrics(raw, [("arc_challenge", "acc_norm", 25)])
    >>> m["scores"]["arc_challenge"]["value"], m["tasks"]["arc_challenge"]["metrics"]["acc"]
    (0.625, {'value': 0.5, 'stderr': 0.1})
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["lm_eval_card_rows", "lm_eval_comparison", "lm_eval_metrics", "lm_eval_scores", "lm_eval_summary"]

#: the Hub's names for lm-eval's metrics (the model card's ``metric_name``)
METRIC_NAMES = {"acc": "accuracy", "acc_norm": "normalized accuracy", "exact_match": "exact match",
                "prompt_level_strict_acc": "prompt-level strict accuracy",
                "inst_level_strict_acc": "instruction-level strict accuracy",
                "prompt_level_loose_acc": "prompt-level loose accuracy",
                "inst_level_loose_acc": "instruction-level loose accuracy",
                "acc_macro": "accuracy (unweighted mean of the subtasks)"}
_SKIP = {"alias", "name", "sample_len", "sample_count", "samples"}
HARNESS_URL = "https://github.com/EleutherAI/lm-evaluation-harness"


def _num(value: Any) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _task_metrics(entry: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    out: dict[str, dict[str, float | None]] = {}
    for key, value in entry.items():
        if key in _SKIP or "," not in key:
            continue
        metric, filt = key.split(",", 1)
        stderr = metric.endswith("_stderr")
        base = metric[: -len("_stderr")] if stderr else metric
        name = base if filt == "none" else f"{base},{filt}"
        slot = out.setdefault(name, {"value": None, "stderr": None})
        slot["stderr" if stderr else "value"] = _num(value)
    return out


def _leaves(raw: dict[str, Any], name: str) -> list[str]:
    children = raw.get("group_subtasks", {}).get(name)
    if not children:
        return [name]
    return [leaf for child in children for leaf in _leaves(raw, child)]


def _macro(raw: dict[str, Any], name: str, metrics: dict[str, Any]) -> None:
    """A group's unweighted mean over its leaf tasks (``acc_macro``: how the v1 leaderboard averaged
    MMLU's 57 subjects; lm-eval's group ``acc`` weights them by size)."""
    leaves = _leaves(raw, name)
    if len(leaves) < 2:
        return
    for metric in [m for m in metrics if "," not in m and not m.endswith("_macro")]:
        values = [_num(raw["results"].get(leaf, {}).get(f"{metric},none")) for leaf in leaves]
        if values and None not in values:
            metrics[f"{metric}_macro"] = {"value": sum(values) / len(values), "stderr": None}


def lm_eval_metrics(raw: dict[str, Any], tasks: list[tuple[str, str | None, int | None]], *,
                    average: bool = True) -> dict[str, Any]:
    """``results.json``'s ``metrics`` from the outputs of ``lm_eval.simple_evaluate``.

    Args:
        raw: lm-eval's results dict (several runs merged: ``results``, ``n-shot``,
            ``versions``, ``n-samples``).
        tasks: ``(task, headline metric or None, requested few-shot count or None)`` per
            requested task, in order.
        average: report the mean of the headline metrics (the leaderboard's average; for
            tasks whose headline metrics are on one scale).

    Returns:
        ``{"tasks", "scores", "average"}`` (see the module docstring).

    Raises:
        KeyError: a requested task is not in ``raw["results"]``.
    """
    out: dict[str, Any] = {"tasks": {}, "scores": {}}
    samples = raw.get("n-samples", {})
    for name, headline, shots in tasks:
        entry = raw["results"][name]
        metrics = _task_metrics(entry)
        _macro(raw, name, metrics)
        if headline not in metrics:
            headline = next((m for m in ("acc_norm", "acc") if m in metrics), next(iter(metrics), None))
        subtasks = [t for t in raw.get("group_subtasks", {}).get(name, [])] or [name]
        n = sum(int(samples.get(t, {}).get("effective", 0)) for t in subtasks) or entry.get("sample_len")
        k = raw.get("n-shot", {}).get(name, shots)
        out["tasks"][name] = {"alias": entry.get("alias", name), "num_fewshot": k,
                              "version": raw.get("versions", {}).get(name), "num_samples": n,
                              "headline": headline, "metrics": metrics}
        top = metrics.get(headline, {}) if headline else {}
        out["scores"][name] = {"metric": headline, "value": top.get("value"), "stderr": top.get("stderr"),
                               "num_fewshot": k}
    values = [s["value"] for s in out["scores"].values()]
    out["average"] = (sum(values) / len(values)) if average and len(values) > 1 and None not in values else None
    return out


def _pct(value: Any, digits: int = 2) -> str:
    v = _num(value)
    return "n/a" if v is None else f"{100 * v:.{digits}f}"


def _title(results: dict[str, Any]) -> str:
    bench = results["benchmark"]
    return {"open_llm": "Open LLM Leaderboard (v1 settings)", "ifeval": "IFEval"}.get(bench, bench)


def lm_eval_summary(results: dict[str, Any]) -> str:
    """The one-screen summary of an lm-eval run (percentages ± standard error)."""
    m, s = results["metrics"], results.get("settings", {})
    limit = f", first {s['limit']} documents per task" if s.get("limit") else ""
    lines = [f"{_title(results)} of {results['model']} (lm-evaluation-harness {results.get('lm_eval_version')}"
             f"{limit})"]
    if m.get("average") is not None:
        lines.append(f"  {'average':<16} {'':>8}  {'':<26} {_pct(m['average']):>6}  (mean of {len(m['scores'])} "
                     "headline metrics)")
    for name, task in m["tasks"].items():
        shots = f"{task['num_fewshot']}-shot" if task.get("num_fewshot") is not None else ""
        for metric, v in task["metrics"].items():
            mark = "*" if metric == task["headline"] and len(task["metrics"]) > 1 else " "
            se = "" if v["stderr"] is None else f" ± {_pct(v['stderr'])}"
            lines.append(f"  {name:<16} {shots:>8}  {metric + mark:<26} {_pct(v['value']):>6}{se:<8}  "
                         f"({task.get('num_samples')} docs)")
    if any(len(t["metrics"]) > 1 for t in m["tasks"].values()):
        lines.append("  (* the headline metric; values in %, ± one standard error)")
    return "\n".join(lines)


def lm_eval_comparison(runs: list[tuple[str, dict[str, Any]]]) -> str:
    """One Markdown table of lm-eval runs: a column per task's headline metric, and the average."""
    cols = list(dict.fromkeys((n, s["metric"], s.get("num_fewshot")) for _, r in runs
                              for n, s in r["metrics"]["scores"].items()))
    with_avg = any(r["metrics"].get("average") is not None for _, r in runs)
    head = ["model", *(["average"] if with_avg else []),
            *(f"{n} {m}" + (f" ({k}-shot)" if k is not None else "") for n, m, k in cols), "harness"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, r in runs:
        scores = r["metrics"]["scores"]
        cells = [label, *([_pct(r["metrics"].get("average"))] if with_avg else [])]
        for n, metric, _ in cols:
            s = scores.get(n, {})
            cells.append("–" if s.get("metric") != metric else
                         _pct(s.get("value")) + ("" if s.get("stderr") is None else f" ± {_pct(s['stderr'])}"))
        cells.append(str(r.get("lm_eval_version", "?")))
        lines.append("| " + " | ".join(cells) + " |")
    return "### lm-evaluation-harness (%, ± 1 SE)\n\n" + "\n".join(lines)


def lm_eval_card_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Card rows (``card_rows``' format plus the model-index fields): one per task and metric.

    Each row carries ``dataset`` (the data set's Hub id), ``dataset_config``, ``dataset_split``,
    ``dataset_args`` (``{"num_few_shot": k}``), ``metric_type`` (lm-eval's metric), ``value``
    (percent, 2 decimals) and ``source_name``/``source_url`` (the harness and its version).
    """
    version = results.get("lm_eval_version")
    datasets = results.get("settings", {}).get("datasets", {})
    rows = []
    for name, task in results["metrics"]["tasks"].items():
        dataset, config, split = (datasets.get(name) or [name, None, None])
        k = task.get("num_fewshot")
        label = task.get("label") or name
        bench = label + (f" ({k}-shot)" if k is not None else "")
        for metric, v in task["metrics"].items():
            if _num(v["value"]) is None:
                continue
            rows.append({"benchmark": bench, "metric": METRIC_NAMES.get(metric, metric),
                         "value": round(100 * v["value"], 2), "dataset": dataset, "metric_type": metric,
                         "dataset_config": config, "dataset_split": split,
                         "dataset_args": None if k is None else {"num_few_shot": k},
                         "source_name": f"lm-evaluation-harness {version} (deita-hf eval)",
                         "source_url": HARNESS_URL})
    return rows


def lm_eval_scores(results: dict[str, Any]) -> dict[str, float | None]:
    """The numbers a study table shows for one lm-eval run, in percent: the average (when there
    is one), then each task's headline metric; IFEval: its four accuracies.

    Example:
        >>> lm_eval_scores({"benchmark": "lm_eval:piqa", "metrics": {"average": None, "tasks": {},
        ...     "scores": {"piqa": {"metric": "acc_norm", "value": 0.5, "num_fewshot": 0}}}})
        {'piqa acc_norm %': 50.0}
    """
    m = results["metrics"]
    pct = (lambda v: None if _num(v) is None else 100 * _num(v))
    out: dict[str, float | None] = {}
    if m.get("average") is not None:
        out[f"{_title(results)} average %"] = pct(m["average"])
    for name, s in m["scores"].items():
        task = m["tasks"].get(name, {})
        if name == "ifeval" and task:
            for metric, v in task["metrics"].items():
                out[f"IFEval {metric.replace('_acc', '').replace('_level', '').replace('_', ' ')} %"] = pct(v["value"])
        else:
            out[f"{task.get('label') or name} {s['metric']} %"] = pct(s["value"])
    return out
