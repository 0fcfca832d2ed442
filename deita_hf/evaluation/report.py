"""Text for people: the one-screen summary of a run, and the comparison of several runs.

Example:
    >>> print(format_summary({"benchmark": "win_rate", "model": "hf:m", "judge": "openai:u#j",
    ...     "reference": "ref.jsonl", "metrics": {"win_rate": 62.5, "standard_error": 5.0,
    ...     "lc_win_rate": 58.0, "lc_standard_error": 0.6, "lc_estimator": "length_controlled_v1",
    ...     "num_pairs": 4, "num_wins": 2, "num_ties": 1, "num_losses": 1, "pair_rule": "mean"},
    ...     "judge_report": {"num_missing": 0, "num_judgments": 8, "num_missing_pairs": 0,
    ...     "num_flipped": 1, "num_disagreements": 2, "num_reasked": 0}}))
    Win rate of hf:m vs ref.jsonl (judge openai:u#j, 4 pairs judged in both orders, mean pair rule)
      win rate      62.5% ± 5.0 (SE)   wins 2, ties 1, losses 1
      LC win rate   58.0% ± 0.6 (SE)   (length_controlled_v1)
      judge: 0 of 8 verdicts missing, 0 pairs missing; 1 pairs flipped between orders (2 disagree); 0 re-asked
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from deita_hf.errors import ConfigError
from deita_hf.evaluation.card import short_spec

__all__ = ["compare_runs", "comparison_table", "format_summary"]


def _f(value: Any, spec: str = ".2f") -> str:
    return format(value, spec) if isinstance(value, (int, float)) and math.isfinite(value) else "n/a"


def _lc_label(estimator: str | None) -> str:
    if estimator == "length_controlled_minimal":
        return "length_controlled_minimal: length only, no instruction difficulty; SE 0 by construction"
    return estimator or "not computed"


def _lc_line(m: dict[str, Any]) -> str:
    """The summary's LC line; a rate that could not be computed says why, not "n/a% ± n/a"."""
    lc = m.get("lc_win_rate")
    if isinstance(lc, (int, float)) and math.isfinite(lc):
        return (f"  LC win rate   {_f(lc, '.1f')}% ± {_f(m.get('lc_standard_error'), '.1f')} (SE)"
                f"   ({_lc_label(m.get('lc_estimator'))})")
    if not m.get("lc_estimator"):
        return "  LC win rate   not computed"
    return (f"  LC win rate   not computed ({m['lc_estimator']}: "
            f"{m.get('lc_note') or 'no estimate'})")


def _pct(value: Any) -> Any:
    return 100 * value if isinstance(value, (int, float)) and math.isfinite(value) else value


def _is_lm_eval(results: dict[str, Any]) -> bool:
    return results.get("lm_eval_version") is not None and "scores" in results.get("metrics", {})


def format_summary(results: dict[str, Any]) -> str:
    """A few lines that say what a run measured and how far to trust it.

    Args:
        results: ``results.json`` contents.

    Returns:
        The summary text (no trailing newline).
    """
    m, j = results["metrics"], results.get("judge_report", {})
    if _is_lm_eval(results):
        from deita_hf.evaluation.lm_eval_results import lm_eval_summary

        return lm_eval_summary(results)
    if results["benchmark"] == "mt_bench":
        n = results.get("settings", {}).get("num_questions", "?")
        turns = ", ".join(f"{k.replace('_', ' ')}: {_f(v['score'])}" for k, v in m.get("per_turn", {}).items())
        lines = [f"MT-Bench of {results['model']} (judge {results['judge']}, {n} questions)",
                 f"  score        {_f(m['score'])}  ({turns})"]
        for cat, v in m.get("per_category", {}).items():
            lines.append(f"  {cat:<12} {_f(v['score'])}" + (f"  ({v['num_missing']} missing)" if v["num_missing"] else ""))
        lines.append(f"  judge: {j.get('num_missing', 0)} of {j.get('num_judgments', 0)} ratings missing "
                     f"(not averaged); {j.get('num_reasked', 0)} re-asked")
        return "\n".join(lines)
    if results["benchmark"] == "mt_bench_pair":
        n = results.get("settings", {}).get("num_questions", "?")
        lines = [f"MT-Bench pairwise of {results['model']} vs {results.get('baseline_model')} (judge "
                 f"{results['judge']}, {n} questions, both orders, {m.get('pair_rule')} pair rule)",
                 f"  win rate adjusted  {_f(_pct(m.get('win_rate_adjusted')), '.1f')}%   (ties count 1/2)",
                 f"  win {m.get('win')}, tie {m.get('tie')}, loss {m.get('loss')}   (win rate "
                 f"{_f(_pct(m.get('win_rate')), '.1f')}%, loss rate {_f(_pct(m.get('loss_rate')), '.1f')}%)"]
        for key, v in m.get("per_turn", {}).items():
            lines.append(f"  {key.replace('_', ' '):<12} win rate adjusted {_f(_pct(v['win_rate_adjusted']), '.1f')}%")
        lines.append(f"  judge: {j.get('num_missing', 0)} of {j.get('num_games', 0)} verdicts missing, "
                     f"{j.get('num_missing_pairs', 0)} turns left out; {j.get('num_disagreements', 0)} turns where "
                     f"the orders disagree; {j.get('num_reasked', 0)} re-asked")
        return "\n".join(lines)
    ref = results.get("reference_model") or results.get("reference")
    lines = [
        (f"Win rate of {results['model']} vs {ref} (judge {results['judge']}, {m['num_pairs']} pairs "
         f"judged in both orders, {m.get('pair_rule', 'mean')} pair rule)"),
        (f"  win rate      {_f(m['win_rate'], '.1f')}% ± {_f(m['standard_error'], '.1f')} (SE)   "
         f"wins {m['num_wins']}, ties {m['num_ties']}, losses {m['num_losses']}"),
        _lc_line(m),
        (f"  judge: {j.get('num_missing', 0)} of {j.get('num_judgments', 0)} verdicts missing, "
         f"{j.get('num_missing_pairs', 0)} pairs missing; {j.get('num_flipped', 0)} pairs flipped between "
         f"orders ({j.get('num_disagreements', 0)} disagree); {j.get('num_reasked', 0)} re-asked"),
    ]
    return "\n".join(lines)


def comparison_table(runs: list[tuple[str, dict[str, Any]]]) -> str:
    """Markdown tables comparing runs (one per benchmark present).

    Args:
        runs: ``(label, results)`` pairs.

    Returns:
        The tables, as Markdown.
    """
    parts = []
    mt = [(label, r) for label, r in runs if r["benchmark"] == "mt_bench"]
    if mt:
        cats = list(dict.fromkeys(c for _, r in mt for c in r["metrics"].get("per_category", {})))
        head = ["model", "score", "turn 1", "turn 2", *cats, "questions", "missing", "judge"]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for label, r in mt:
            m = r["metrics"]
            turn = [_f(m.get("per_turn", {}).get(f"turn_{t}", {}).get("score")) for t in (1, 2)]
            per = [_f(m.get("per_category", {}).get(c, {}).get("score")) for c in cats]
            cells = [label, _f(m.get("score")), *turn, *per, str(r.get("settings", {}).get("num_questions", "?")),
                     str(m.get("num_missing", 0)), short_spec(r.get("judge", "?"))]
            lines.append("| " + " | ".join(cells) + " |")
        parts.append("### MT-Bench\n\n" + "\n".join(lines))
    wr = [(label, r) for label, r in runs if r["benchmark"] == "win_rate"]
    if wr:
        head = ["model", "win rate %", "LC win rate %", "LC estimator", "wins/ties/losses", "pairs", "flipped",
                "missing pairs", "reference", "judge"]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for label, r in wr:
            m = r["metrics"]
            cells = [label, f"{_f(m.get('win_rate'), '.1f')} ± {_f(m.get('standard_error'), '.1f')}",
                     f"{_f(m.get('lc_win_rate'), '.1f')} ± {_f(m.get('lc_standard_error'), '.1f')}",
                     str(m.get("lc_estimator") or "-"),
                     f"{m.get('num_wins')}/{m.get('num_ties')}/{m.get('num_losses')}", str(m.get("num_pairs")),
                     str(m.get("num_flipped", 0)), str(m.get("num_missing_pairs", 0)),
                     str(r.get("reference_model") or r.get("reference")), short_spec(r.get("judge", "?"))]
            lines.append("| " + " | ".join(cells) + " |")
        parts.append("### Pairwise win rate\n\n" + "\n".join(lines))
    pair = [(label, r) for label, r in runs if r["benchmark"] == "mt_bench_pair"]
    if pair:
        head = ["model", "win rate adjusted %", "turn 1", "turn 2", "win/tie/loss", "pair rule", "baseline", "judge"]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for label, r in pair:
            m = r["metrics"]
            turn = [_f(_pct(m.get("per_turn", {}).get(f"turn_{t}", {}).get("win_rate_adjusted")), ".1f")
                    for t in (1, 2)]
            cells = [label, _f(_pct(m.get("win_rate_adjusted")), ".1f"), *turn,
                     f"{m.get('win')}/{m.get('tie')}/{m.get('loss')}", str(m.get("pair_rule")),
                     str(r.get("baseline_model")), short_spec(r.get("judge", "?"))]
            lines.append("| " + " | ".join(cells) + " |")
        parts.append("### MT-Bench pairwise\n\n" + "\n".join(lines))
    lm = [(label, r) for label, r in runs if _is_lm_eval(r)]
    if lm:
        from deita_hf.evaluation.lm_eval_results import lm_eval_comparison

        parts.append(lm_eval_comparison(lm))
    return "\n\n".join(parts)


def compare_runs(folders: list[str | os.PathLike], output: str | os.PathLike, *,
                 labels: list[str] | None = None) -> dict[str, Any]:
    """Compare finished ``deita-hf eval`` folders ("DEITA 6K vs random 6K vs full pool").

    Args:
        folders: run folders (each with a ``results.json``).
        output: folder for ``comparison.md``, ``comparison.json`` and ``comparison.png``.
        labels: one name per folder (default: the folder names).

    Returns:
        ``{"table": markdown, "files": [paths], "runs": [{"label", "folder", "results"}]}``.

    Raises:
        ConfigError: no folder, or labels that do not match the folders.
        InputNotFoundError: a folder holds no ``results.json``.
    """
    from deita_hf.evaluation.figures import comparison_figure
    from deita_hf.evaluation.outputs import json_ready, read_results

    if not folders:
        raise ConfigError("--compare needs at least one evaluation folder.")
    labels = labels or [Path(f).resolve().name for f in folders]
    if len(labels) != len(folders):
        raise ConfigError(f"--labels gives {len(labels)} names for {len(folders)} folders.")
    runs = [(label, read_results(folder)) for label, folder in zip(labels, folders)]
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    table = comparison_table(runs)
    (out / "comparison.md").write_text(f"## Evaluation comparison\n\n{table}\n", encoding="utf-8")
    summary = [{"label": label, "folder": str(folder), "benchmark": r["benchmark"], "model": r["model"],
                "judge": r.get("judge"), "metrics": r["metrics"]} for (label, r), folder in zip(runs, folders)]
    (out / "comparison.json").write_text(json.dumps(json_ready(summary), indent=2) + "\n", encoding="utf-8")
    figure = comparison_figure(runs, out / "comparison.png")
    return {"table": table, "files": [str(out / "comparison.md"), str(out / "comparison.json"), str(figure)],
            "runs": summary}
