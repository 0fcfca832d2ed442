"""Run a study: every arm's select -> train -> evaluate, resumably, then the comparison.

Example (plain text: it trains and evaluates models):

    from deita_hf.study import load_study, run_study
    results = run_study(load_study("recipes/study/deita-paper.yaml"), "out/study")
    [(arm["name"], arm["score"]) for arm in results["arms"]]
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

from deita_hf.errors import ConfigError
from deita_hf.pipeline.config import SelectionConfig
from deita_hf.study import stages
from deita_hf.study.config import StudyConfig

__all__ = ["ArmPlan", "plan_study", "run_study"]

#: the copy of the study file written into OUTPUT (also what marks OUTPUT as a study folder)
STUDY_FILE = "study.yaml"


@dataclasses.dataclass
class ArmPlan:
    """One arm's folders, commands and stage keys (computed before anything runs)."""

    name: str
    folder: Path
    selection: SelectionConfig
    sft: dict[str, Any]
    keys: dict[str, str]


def _say(message: str) -> None:
    print(f"deita-hf study: {message}", file=sys.stderr, flush=True)


def _check_output(output: Path) -> None:
    if output.is_file():
        raise ConfigError(f"--output {str(output)!r} is a file; pass a folder.")
    if output.is_dir() and any(output.iterdir()) and not (output / STUDY_FILE).is_file():
        raise ConfigError(f"--output {str(output)!r} holds files but no {STUDY_FILE}: it is not "
                          f"a deita-hf study folder. Choose a new or empty folder.")


def plan_study(cfg: StudyConfig, output: str | Path, *, progress: bool = True) -> list[ArmPlan]:
    """Check every arm and compute its commands and stage keys; nothing runs or loads.

    Args:
        cfg: the study.
        output: the study folder.
        progress: show progress bars in the stages.

    Returns:
        One :class:`ArmPlan` per arm, in order.

    Raises:
        ConfigError: a bad ``deita-hf select`` argument or strategy spec of an arm, or an unknown
            recipe key (each names the arm or key).
    """
    output = Path(output)
    _check_output(output)
    plans = []
    from deita_hf.study.config import LM_EVAL_FIELDS

    ev = {k: v for k, v in dataclasses.asdict(cfg.evaluation).items()
          if k not in LM_EVAL_FIELDS or v != LM_EVAL_FIELDS[k]}
    for arm in cfg.arms:
        folder = output / "arms" / arm.name
        config = stages.select_config(cfg, arm, folder / "selection")
        sft = stages.sft_config(cfg, folder / "selection", folder / "model")
        selection = stages.stage_key({"config": config.to_dict(changed_only=True),
                                      "stats": [cfg.stats_complexity_scorer,
                                                cfg.stats_quality_scorer]})
        model = stages.stage_key({"selection": selection, "sft": sft,
                                  "launcher": [cfg.sft.launcher, cfg.sft.accelerate_args]})
        evaluation = stages.stage_key({"model": model, "evaluation": ev})
        plans.append(ArmPlan(arm.name, folder, config, sft,
                             {"selection": selection, "model": model, "eval": evaluation}))
    return plans


def _run_arm(cfg: StudyConfig, plan: ArmPlan, progress: bool) -> dict[str, Any]:
    import yaml

    record = stages.ArmRecord(plan.folder, plan.name)
    done = record.finished("selection", plan.keys["selection"])
    if done:
        _say(f"arm {plan.name}: selection finished before, kept")
    else:
        _say(f"arm {plan.name}: selecting (strategy {plan.selection.strategy})")
        record.start("selection", plan.keys["selection"])
        stages.select(plan.selection, progress=progress)
        stats = stages.selection_stats(cfg, plan.folder / "selection", progress=progress)
        done = record.finish("selection", plan.keys["selection"], stats=stats)
    stats = done["stats"]
    if record.finished("model", plan.keys["model"]):
        _say(f"arm {plan.name}: model trained before, kept")
    else:
        config_path = plan.folder / "sft.yaml"
        config_path.write_text(yaml.safe_dump(plan.sft, sort_keys=False), encoding="utf-8")
        resumed = record.start("model", plan.keys["model"])
        _say(f"arm {plan.name}: training ({cfg.sft.launcher}, {config_path})"
             + (", resuming" if resumed else ""))
        stages.train(cfg, config_path)
        record.finish("model", plan.keys["model"], config=str(config_path))
    done = record.finished("eval", plan.keys["eval"])
    if done:
        _say(f"arm {plan.name}: evaluated before, kept")
    else:
        _say(f"arm {plan.name}: evaluating ({', '.join(cfg.evaluation.benchmarks)})")
        record.start("eval", plan.keys["eval"])
        out = stages.evaluate(cfg, plan.folder / "model", plan.folder / "eval", progress=progress)
        done = record.finish("eval", plan.keys["eval"], metric=out["metric"],
                             score=out["score"], metrics=out["results"]["metrics"],
                             scores=out["scores"], benchmark_metrics=out["metrics"])
    arm = next(a for a in cfg.arms if a.name == plan.name)
    return {"name": plan.name, "strategy": arm.strategy, "description": arm.description,
            "tables": list(arm.tables), "selection": stats, "metric": done["metric"],
            "score": done["score"], "metrics": done["metrics"],
            "scores": done.get("scores") or {done["metric"]: done["score"]},
            "folders": {s: str(plan.folder / s) for s in stages.STAGES}}


def run_study(cfg: StudyConfig, output: str | Path, *, progress: bool = True,
              study_file: str | None = None) -> dict[str, Any]:
    """Run every arm (finished stages are kept), then write the comparison and the study card.

    Args:
        cfg: the study (:func:`~deita_hf.study.config.load_study`).
        output: the study folder: ``arms/<name>/{selection,model,eval}``, ``results.json``,
            ``results.md``, ``results.png``, ``README.md`` and a copy of the study.
        progress: show progress bars.
        study_file: the study file's path, for the card's reproduce command.

    Returns:
        The ``results.json`` contents: ``study`` (the config), ``arms`` (per arm: strategy,
        selection statistics, metric, score, folders) and ``files``.

    Raises:
        ConfigError: a bad study (checked for every arm before the first one runs).
        InputNotFoundError: the pool names a local file or folder that is not there.
    """
    import yaml

    from deita_hf.study.report import write_report

    from deita_hf.errors import InputNotFoundError
    from deita_hf.study.config import missing_pool

    output = Path(output)
    if missing_pool(cfg):
        raise InputNotFoundError(missing_pool(cfg))
    plans = plan_study(cfg, output, progress=progress)
    output.mkdir(parents=True, exist_ok=True)
    (output / STUDY_FILE).write_text(yaml.safe_dump(dataclasses.asdict(cfg), sort_keys=False),
                                     encoding="utf-8")
    arms = [_run_arm(cfg, plan, progress) for plan in plans]
    return write_report(cfg, output, arms, study_file=study_file)
