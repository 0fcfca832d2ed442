"""The study's comparison: ``results.json``, ``results.md``, ``results.png`` and ``README.md``.

One table per study table (``StudyConfig.tables``; one table of every arm when there are none):
arm, strategy, rows selected, mean DEITA score and mean length of the selection, and the score:
every benchmark's numbers side by side (``arm["scores"]``, label -> value: MT-Bench score, win
rate, the Open LLM average and its four tasks, IFEval's accuracies, ...). The figure draws the
first benchmark's score per arm, each bar labelled with its selection's statistics.

Example:
    >>> arms = [{"name": "random", "strategy": "random:seed=0", "description": None,
    ...          "tables": [], "metric": "MT-Bench score", "score": 4.5,
    ...          "selection": {"rows": 20, "mean_deita_score": None, "mean_chars": 512.0}}]
    >>> print(comparison_tables({}, arms))
    | arm | strategy | rows | mean DEITA score | mean length (chars) | MT-Bench score |
    |---|---|---:|---:|---:|---:|
    | random | `random:seed=0` | 20 | – | 512 | 4.50 |
"""

from __future__ import annotations

import dataclasses
import json
import math
import shlex
from pathlib import Path
from typing import Any

from deita_hf.study.config import StudyConfig

__all__ = ["comparison_figure", "comparison_tables", "write_report"]


def _num(value: Any, digits: int = 2) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return "–"
    return f"{value:,.{digits}f}"


def _table(arms: list[dict[str, Any]]) -> str:
    metrics = list(dict.fromkeys(k for a in arms for k in (a.get("scores") or {a["metric"]: a.get("score")})))
    metrics = metrics or ["score"]
    lines = [f"| arm | strategy | rows | mean DEITA score | mean length (chars) | {' | '.join(metrics)} |",
             "|---|---|---:|---:|---:|" + "---:|" * len(metrics)]
    for arm in arms:
        sel = arm["selection"]
        name = arm["name"] + (f" ({arm['description']})" if arm.get("description") else "")
        lines.append(f"| {name} | `{arm['strategy']}` | {sel.get('rows', '–')} | "
                     f"{_num(sel.get('mean_deita_score'))} | {_num(sel.get('mean_chars'), 0)} | "
                     + " | ".join(_num((arm.get("scores") or {arm["metric"]: arm.get("score")}).get(m))
                                  for m in metrics) + " |")
    return "\n".join(lines)


def comparison_tables(tables: dict[str, str], arms: list[dict[str, Any]]) -> str:
    """Markdown tables comparing the arms.

    Args:
        tables: table key -> title (``StudyConfig.tables``); empty: one table of every arm.
        arms: the arms' results (``results.json["arms"]``).

    Returns:
        The Markdown: one ``### title`` section per table, or one bare table.
    """
    if not tables:
        return _table(arms)
    parts = []
    for key, title in tables.items():
        members = [a for a in arms if key in a.get("tables", ())]
        if members:
            parts.append(f"### {title}\n\n{_table(members)}")
    rest = [a for a in arms if not a.get("tables")]
    if rest:
        parts.append(f"### Other arms\n\n{_table(rest)}")
    return "\n\n".join(parts)


def comparison_figure(arms: list[dict[str, Any]], path: str | Path, *, title: str = "") -> Path:
    """A bar per arm (its score), labelled with rows, mean DEITA score and mean length.

    Args:
        arms: the arms' results.
        path: the PNG file to write.
        title: the figure's title.

    Returns:
        ``Path(path)``.
    """
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    scores = [a["score"] if isinstance(a.get("score"), (int, float)) else float("nan")
              for a in arms]
    fig, ax = plt.subplots(figsize=(max(5.0, 1.3 * len(arms) + 2), 4.6))
    bars = ax.bar(range(len(arms)), scores, color="tab:blue")
    top = max([s for s in scores if math.isfinite(s)] or [1.0])
    for bar, arm, score in zip(bars, arms, scores):
        sel = arm["selection"]
        label = (f"{_num(score)}\n{sel.get('rows', '?')} rows\n"
                 f"DEITA {_num(sel.get('mean_deita_score'))}\n"
                 f"{_num(sel.get('mean_chars'), 0)} chars")
        y = score if math.isfinite(score) else 0.0
        ax.text(bar.get_x() + bar.get_width() / 2, y + 0.02 * top, label, ha="center",
                va="bottom", fontsize=7)
    ax.set_xticks(range(len(arms)))
    ax.set_xticklabels([a["name"] for a in arms], rotation=25, ha="right")
    ax.set_ylabel(arms[0]["metric"] if arms else "score")
    ax.set_ylim(0, top * 1.45)
    ax.set_title(title or "Score per arm", fontsize=10)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _card(cfg: StudyConfig, arms: list[dict[str, Any]], tables: str, reproduce: str) -> str:
    ev, sft = cfg.evaluation, cfg.sft
    overrides = ", ".join(f"`{k}={v}`" for k, v in sft.overrides.items()) or "none"
    subset = f", {ev.questions} questions" if ev.questions else ""
    how = ", ".join(ev.benchmarks) + (f", judge `{ev.judge}`" if ev.judge else "")
    if ev.tasks_dir:
        subset += f", lm-eval tasks from `{ev.tasks_dir}`"
    if ev.limit:
        subset += f", first {ev.limit} documents per lm-eval task"
    lines = [
        f"# {cfg.name}", "",
        *([cfg.description.strip(), ""] if cfg.description else []),
        (f"A controlled data-selection study run by `deita-hf study`: every arm selects "
         f"**{cfg.budget:,} rows** from the same pool (`{cfg.pool}`, split `{cfg.split}`), trains "
         f"with the same SFT recipe (`{sft.recipe}`, overrides {overrides}, launcher "
         f"`{sft.launcher}`) and is evaluated the same way ({how}"
         f"{subset}). Only the selection differs."), "",
        "## Results", "", tables, "",
        "Mean DEITA score: Σ over turns of complexity × quality of the selected rows, "
        + (f"scored for every arm by `{cfg.stats_complexity_scorer}` × "
           f"`{cfg.stats_quality_scorer}`." if cfg.stats_complexity_scorer else
           "from each selection's own columns (– where the arm computed none)."), "",
        "![Score per arm](results.png)", "",
        "## Arms", "",
        "| arm | strategy | selection (card) | model | evaluation |",
        "|---|---|---|---|---|",
    ]
    for arm in arms:
        base = f"arms/{arm['name']}"
        lines.append(f"| {arm['name']} | `{arm['strategy']}` | [{base}/selection]"
                     f"({base}/selection/README.md) | [{base}/model]({base}/model/README.md) | "
                     f"[{base}/eval]({base}/eval/results.json) |")
    lines += ["", ("Each arm's `arm.json` records its finished stages; `sft.yaml` is the exact "
                   "recipe it trained with, and its selection card holds the `deita-hf select` "
                   "command that made it."), "", "## How to reproduce", "", "```bash",
              reproduce, "```", ""]
    return "\n".join(lines)


def write_report(cfg: StudyConfig, output: Path, arms: list[dict[str, Any]], *,
                 study_file: str | None = None) -> dict[str, Any]:
    """Write ``results.json``, ``results.md``, ``results.png`` and the study card ``README.md``.

    Args:
        cfg: the study.
        output: the study folder.
        arms: the arms' results, in order.
        study_file: the study file's path, for the reproduce command.

    Returns:
        The ``results.json`` contents.
    """
    output = Path(output)
    tables = comparison_tables(cfg.tables, arms)
    reproduce = shlex.join(["deita-hf", "study", study_file or "study.yaml",
                            "--output", str(output)])
    (output / "results.md").write_text(f"## {cfg.name}\n\n{tables}\n", encoding="utf-8")
    comparison_figure(arms, output / "results.png", title=cfg.name)
    (output / "README.md").write_text(_card(cfg, arms, tables, reproduce), encoding="utf-8")
    files = [str(output / n) for n in ("results.json", "results.md", "results.png", "README.md")]
    results = {"study": dataclasses.asdict(cfg), "arms": arms, "files": files,
               "command": reproduce}
    (output / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n",
                                         encoding="utf-8")
    return results
