"""PNG figures of evaluation runs (matplotlib, Agg backend: no display needed).

- MT-Bench: the score per category (turn 1, turn 2 and both), with the overall score.
- Win rate: win / tie / loss counts, for the combined preference and for each order.
- MT-Bench pairwise: win / tie / loss counts against the baseline, overall and per turn.
- Comparison: several runs side by side.

Example:
    >>> import tempfile, pathlib
    >>> results = {"benchmark": "mt_bench", "model": "hf:m", "judge": "hf:j", "metrics": {"score": 6.0, "per_category": {
    ...     "writing": {"score": 7.0}, "math": {"score": 5.0}}, "per_turn": {}}}
    >>> write_run_figure(results, pathlib.Path(tempfile.mkdtemp()) / "f.png").suffix
    '.png'
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deita_hf.evaluation.card import short_spec

if TYPE_CHECKING:
    from types import ModuleType

    from matplotlib.axes import Axes

__all__ = ["comparison_figure", "write_run_figure"]


def _pyplot() -> ModuleType:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _num(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else float("nan")


def _mt_bench_axes(ax: Axes, results: dict[str, Any]) -> None:
    m = results["metrics"]
    cats = list(m.get("per_category", {}))
    x = list(range(len(cats)))
    ax.bar(x, [_num(m["per_category"][c]["score"]) for c in cats], color="tab:blue", label="both turns")
    ax.axhline(_num(m.get("score")), color="black", linestyle="--", linewidth=1,
               label=f"overall {_num(m.get('score')):.2f}")
    ax.set_xticks(x)
    ax.set_xticklabels(cats, rotation=30, ha="right")
    ax.set_ylim(0, 10)
    ax.set_ylabel("judge rating (1-10)")
    ax.legend(fontsize=8)


def _win_rate_axes(ax: Axes, results: dict[str, Any]) -> None:
    m = results["metrics"]
    rows = [("both orders", m.get("num_wins", 0), m.get("num_ties", 0), m.get("num_losses", 0))]
    for label, key in (("model shown first", "order_model_first"), ("reference shown first", "order_reference_first")):
        counts = results.get("judge_report", {}).get(key)
        if counts:
            rows.append((label, counts["wins"], counts["ties"], counts["losses"]))
    _stacked(ax, rows, "pairs (or judgments per order)")


def _stacked(ax: Axes, rows: list[tuple[str, int, int, int]], xlabel: str) -> None:
    labels = [r[0] for r in rows]
    left = [0.0] * len(rows)
    for j, (name, color) in enumerate((("win", "tab:green"), ("tie", "tab:gray"), ("loss", "tab:red"))):
        values = [r[j + 1] for r in rows]
        ax.barh(labels, values, left=left, color=color, label=name)
        left = [a + b for a, b in zip(left, values)]
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.legend(fontsize=8, loc="lower right")


def _mt_bench_pair_axes(ax: Axes, results: dict[str, Any]) -> None:
    m = results["metrics"]
    rows = [("both turns", m.get("win", 0), m.get("tie", 0), m.get("loss", 0))]
    rows += [(k.replace("_", " "), v.get("win", 0), v.get("tie", 0), v.get("loss", 0))
             for k, v in m.get("per_turn", {}).items()]
    _stacked(ax, rows, "judged turns (both orders combined)")


def _is_lm_eval(results: dict[str, Any]) -> bool:
    return results.get("lm_eval_version") is not None and "scores" in results.get("metrics", {})


def _lm_eval_axes(ax: Axes, runs: list[tuple[str, dict[str, Any]]]) -> None:
    """Grouped bars: each task's headline metric (%, ± 1 SE) per run, and the average."""
    cols = list(dict.fromkeys(n for _, r in runs for n in r["metrics"]["scores"]))
    names = (["average"] if any(r["metrics"].get("average") is not None for _, r in runs) else []) + cols
    width = 0.8 / len(runs)
    for k, (label, r) in enumerate(runs):
        scores = r["metrics"]["scores"]
        values = [100 * _num(r["metrics"].get("average")) if n == "average" else
                  100 * _num(scores.get(n, {}).get("value")) for n in names]
        errors = [0.0 if n == "average" or math.isnan(_num(scores.get(n, {}).get("stderr"))) else
                  100 * _num(scores[n]["stderr"]) for n in names]
        ax.bar([i + k * width for i in range(len(names))], values, width=width, yerr=errors, capsize=3,
               label=label)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(names))])
    ax.set_xticklabels(names, rotation=25, ha="right")
    ax.set_ylim(0, 100)
    ax.set_ylabel("% (headline metric, ± 1 SE)")
    ax.set_title("lm-evaluation-harness")
    ax.legend(fontsize=8)


def write_run_figure(results: dict[str, Any], path: str | Path) -> Path:
    """The figure of one run: per-category bars (MT-Bench) or win/tie/loss bars (win rate).

    Args:
        results: ``results.json`` contents.
        path: the PNG file to write.

    Returns:
        ``Path(path)``.
    """
    plt = _pyplot()
    path = Path(path)
    fig, ax = plt.subplots(figsize=(7, 4))
    if _is_lm_eval(results):
        _lm_eval_axes(ax, [(short_spec(results["model"]), results)])
        ax.set_title(f"{results['benchmark']}: {short_spec(results['model'])} "
                     f"(lm-evaluation-harness {results['lm_eval_version']})", fontsize=10)
    elif results["benchmark"] == "mt_bench":
        _mt_bench_axes(ax, results)
        ax.set_title(f"MT-Bench: {short_spec(results['model'])} (judge {short_spec(results['judge'])})",
                     fontsize=10)
    elif results["benchmark"] == "mt_bench_pair":
        _mt_bench_pair_axes(ax, results)
        adjusted = _num(results["metrics"].get("win_rate_adjusted")) * 100
        ax.set_title(f"MT-Bench pairwise: {short_spec(results['model'])} vs {results.get('baseline_model')} "
                     f"(judge {short_spec(results['judge'])})\nwin rate adjusted {adjusted:.1f}%", fontsize=10)
    else:
        _win_rate_axes(ax, results)
        m = results["metrics"]
        ref = results.get("reference_model") or "reference"
        ax.set_title(f"{short_spec(results['model'])} vs {ref} (judge {short_spec(results['judge'])})\n"
                     f"win rate {_num(m.get('win_rate')):.1f}%, LC {_num(m.get('lc_win_rate')):.1f}% "
                     f"({m.get('lc_estimator') or 'no length control'})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def comparison_figure(runs: list[tuple[str, dict[str, Any]]], path: str | Path) -> Path:
    """Several runs side by side: MT-Bench per category, win rates with their errors, and
    MT-Bench pairwise win rates.

    Args:
        runs: ``(label, results)`` pairs.
        path: the PNG file to write.

    Returns:
        ``Path(path)``.
    """
    plt = _pyplot()
    mt = [(label, r) for label, r in runs if r["benchmark"] == "mt_bench"]
    wr = [(label, r) for label, r in runs if r["benchmark"] == "win_rate"]
    pair = [(label, r) for label, r in runs if r["benchmark"] == "mt_bench_pair"]
    lm = [(label, r) for label, r in runs if _is_lm_eval(r)]
    panels = [p for p in (mt, wr, pair, lm) if p]
    fig, axes = plt.subplots(1, len(panels), figsize=(7 * len(panels), 4.5), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        if panel is lm:
            _lm_eval_axes(ax, lm)
            continue
        if panel is mt:
            cats = list(dict.fromkeys(c for _, r in mt for c in r["metrics"].get("per_category", {})))
            names = ["overall", *cats]
            width = 0.8 / len(mt)
            for k, (label, r) in enumerate(mt):
                per = r["metrics"].get("per_category", {})
                values = [_num(r["metrics"].get("score"))] + [_num(per.get(c, {}).get("score")) for c in cats]
                ax.bar([i + k * width for i in range(len(names))], values, width=width, label=label)
            ax.set_xticks([i + 0.4 - width / 2 for i in range(len(names))])
            ax.set_xticklabels(names, rotation=30, ha="right")
            ax.set_ylim(0, 10)
            ax.set_ylabel("MT-Bench score (1-10)")
            ax.set_title("MT-Bench")
        elif panel is pair:
            values = [100 * _num(r["metrics"].get("win_rate_adjusted")) for _, r in pair]
            ax.bar(range(len(pair)), values, color="tab:purple", label="win rate adjusted")
            ax.axhline(50, color="black", linewidth=0.8, linestyle=":")
            ax.set_xticks(range(len(pair)))
            ax.set_xticklabels([f"{label}\nvs {r.get('baseline_model')}" for label, r in pair], rotation=20,
                               ha="right")
            ax.set_ylim(0, 100)
            ax.set_ylabel("% (ties count 1/2)")
            ax.set_title("MT-Bench pairwise vs baseline")
        else:
            width = 0.38
            for k, (key, se, name) in enumerate((("win_rate", "standard_error", "win rate"),
                                                 ("lc_win_rate", "lc_standard_error",
                                                  "LC win rate (estimator: see the table)"))):
                values = [_num(r["metrics"].get(key)) for _, r in wr]
                errors = [0.0 if math.isnan(_num(r["metrics"].get(se))) else _num(r["metrics"].get(se))
                          for _, r in wr]
                ax.bar([i + k * width for i in range(len(wr))], values, width=width, yerr=errors,
                       capsize=3, label=name)
            ax.axhline(50, color="black", linewidth=0.8, linestyle=":")
            ax.set_xticks([i + width / 2 for i in range(len(wr))])
            ax.set_xticklabels([label for label, _ in wr], rotation=20, ha="right")
            ax.set_ylim(0, 100)
            ax.set_ylabel("% preferred over the reference")
            ax.set_title("Pairwise win rate (± 1 SE)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
