"""The three stages of one arm: select (:func:`deita_hf.pipeline.run_selection` with the arm's
:class:`~deita_hf.pipeline.config.SelectionConfig`), train (the SFT recipe), evaluate.

Each arm lives in ``OUTPUT/arms/<name>/``: ``selection/`` (a ``deita-hf select`` folder),
``sft.yaml`` (the exact recipe it trained with), ``model/`` (the trainer's ``output_dir``),
``eval/`` (a ``deita_hf.evaluation`` run folder) and ``arm.json``, the completion record:
per stage its key (a hash of everything the stage depends on, upstream keys included), whether
it finished, when and in how long. A finished stage whose key still matches is not redone; a
stage whose key changed is redone from scratch, and so is everything after it. An interrupted
training resumes from its last checkpoint (``resolve_checkpoint``), an interrupted evaluation
from its generation cache.

Example:
    >>> stage_key({"b": 1, "a": [1, 2]}) == stage_key({"a": [1, 2], "b": 1})
    True
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from deita_hf.errors import ConfigError
from deita_hf.pipeline.config import SelectionConfig
from deita_hf.study.config import ArmConfig, StudyConfig

__all__ = ["STAGES", "ArmRecord", "evaluate", "select", "select_config", "selection_stats",
           "sft_config", "stage_key", "train"]

#: the stages of an arm, in order, with their folder names
STAGES = ("selection", "model", "eval")


def stage_key(payload: Any) -> str:
    """A short, order-independent hash of a JSON-able payload."""
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class ArmRecord:
    """``OUTPUT/arms/<name>/arm.json``: which stages finished, with which key.

    Args:
        folder: the arm's folder (created).
        name: the arm's name.
    """

    def __init__(self, folder: Path, name: str):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / "arm.json"
        self.data: dict[str, Any] = {"name": name, "stages": {}}
        if self.path.is_file():
            self.data = json.loads(self.path.read_text(encoding="utf-8"))

    def _save(self) -> None:
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.data, indent=2, default=str) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)

    def finished(self, stage: str, key: str) -> dict[str, Any] | None:
        """The stage's record if it finished with this key (and its folder is there), else None."""
        rec = self.data["stages"].get(stage)
        ok = rec and rec.get("key") == key and rec.get("done") and (self.folder / stage).is_dir()
        return rec if ok else None

    def start(self, stage: str, key: str) -> bool:
        """Mark ``stage`` as running with ``key``; a folder left by another key is removed.

        Returns:
            True when the stage's folder holds an interrupted run of the same key (resume).
        """
        target = self.folder / stage
        rec = self.data["stages"].get(stage)
        same = bool(rec) and rec.get("key") == key
        if target.exists() and not same:
            shutil.rmtree(target)
        self.data["stages"][stage] = {"key": key, "done": False, "started": time.time()}
        self._save()
        return same and target.exists()

    def finish(self, stage: str, key: str, **info: Any) -> dict[str, Any]:
        """Mark ``stage`` as finished with ``key`` (plus ``info``); returns its record."""
        rec = self.data["stages"][stage]
        rec.update(info, key=key, done=True, finished=time.time(),
                   seconds=round(time.time() - rec.get("started", time.time()), 3))
        self._save()
        return rec


def select_config(cfg: StudyConfig, arm: ArmConfig, output: Path, *,
                  overwrite: bool = False) -> SelectionConfig:
    """The :class:`~deita_hf.pipeline.config.SelectionConfig` of an arm (study defaults filled
    in), checked: its strategy and component specs parse (nothing loads).

    Raises:
        ConfigError: a bad option, strategy or component spec (naming the arm).

    Example:
        >>> from deita_hf.study.config import ArmConfig, StudyConfig
        >>> cfg = StudyConfig(name="s", pool="p.jsonl", budget=5, complexity_scorer="length")
        >>> c = select_config(cfg, ArmConfig(name="r", strategy="random"), Path("o"))
        >>> c.input, c.budget, c.strategy, c.complexity_scorer, c.output
        ('p.jsonl', 5, 'random', 'length', 'o')
    """
    from deita_hf.components import parse_spec
    from deita_hf.pipeline.config import load_config
    from deita_hf.pipeline.config_flags import options_from_flags
    from deita_hf.selection.dispatch import parse_strategy

    values: dict[str, Any] = {"input": cfg.pool, "budget": cfg.budget, "strategy": arm.strategy,
                              "split": cfg.split, "output": str(output)}
    if cfg.preset:
        values["preset"] = cfg.preset
    for key in ("complexity_scorer", "quality_scorer", "embedder"):
        spec = getattr(arm, key) or getattr(cfg, key)
        if spec:
            values[key] = spec
    if arm.scorers:
        values["scorers"] = list(arm.scorers)
    if arm.score_column:
        values["score_column"] = arm.score_column
    if arm.threshold is not None:
        values["threshold"] = arm.threshold
    try:
        for extra in (cfg.select_args, arm.select_args):  # later ones win; lists add up
            for key, value in options_from_flags(SelectionConfig, list(extra),
                                                 f"arm {arm.name!r}: select_args").items():
                values[key] = values.get(key, []) + value if isinstance(value, list) else value
        if overwrite:
            values["overwrite"] = True
        config = load_config(SelectionConfig, None, **values)
        config.check()
        parse_strategy(config.strategy)
        for role, spec in config.flag_specs().items():
            if spec is not None:
                parse_spec(role, spec)
        for spec in config.scorers:
            parse_spec("scorer", spec)
    except ConfigError as err:
        raise ConfigError(f"arm {arm.name!r}: {err}") from None
    return config


def select(config: SelectionConfig, *, progress: bool = True) -> Any:
    """Run an arm's selection with the Python API (:func:`deita_hf.pipeline.run_selection`),
    replacing an interrupted folder; returns the :class:`~deita_hf.pipeline.SelectionRun`."""
    from deita_hf.pipeline.run_select import run_selection

    return run_selection(dataclasses.replace(config, overwrite=True), progress=progress,
                         say=lambda line: print(f"deita-hf study: {line}", file=sys.stderr))


def selection_stats(cfg: StudyConfig, folder: Path, *, progress: bool = True) -> dict[str, Any]:
    """Rows, pool size, mean DEITA score and mean lengths of an arm's selection.

    The DEITA score comes from the study's ``stats_*_scorer`` (the same scorers for every arm)
    when given, else from the selection's own complexity and quality (or ready score) columns.
    """
    from deita_hf.components import apply_components, build_component
    from deita_hf.folder.selection import load_folder
    from deita_hf.folder.stats import columns_from_settings, row_values

    selected, _, settings = load_folder(folder)
    columns = columns_from_settings(settings)
    source = "the selection's columns"
    if cfg.stats_complexity_scorer:
        drop = [c for c in ("complexity", "quality", "deita_score") if c in selected.column_names]
        selected = apply_components(selected.remove_columns(drop), [
            build_component("complexity", cfg.stats_complexity_scorer),
            build_component("quality", cfg.stats_quality_scorer)], progress=progress,
            label="study statistics")
        columns = {"complexity": "complexity", "quality": "quality", "score": "deita_score",
                   "embedding": columns["embedding"]}
        source = f"{cfg.stats_complexity_scorer} x {cfg.stats_quality_scorer}"
    values = row_values(selected, columns=columns, compute_score=True, optional_score=True,
                        desc="study statistics")

    def mean(name: str) -> float | None:
        return float(values[name].mean()) if name in values and len(values[name]) else None

    return {"rows": len(selected), "pool_size": settings.get("pool_size"),
            "strategy": settings.get("strategy"), "params": settings.get("params"),
            "mean_deita_score": mean("deita_score"),
            "deita_score_from": source if "deita_score" in values else None,
            "mean_chars": mean("chars"), "mean_response_chars": mean("response_chars"),
            "mean_turns": mean("turns"), "command": settings.get("command")}


def sft_fields() -> set[str]:
    """Every key a recipe YAML may hold (TRL's three configs + ``RecipeArguments``)."""
    import trl

    from deita_hf.training import RecipeArguments

    return {f.name for cls in (trl.ScriptArguments, trl.SFTConfig, trl.ModelConfig,
                               RecipeArguments) for f in dataclasses.fields(cls)} | {"env"}


def sft_config(cfg: StudyConfig, selection: Path, model_dir: Path) -> dict[str, Any]:
    """The recipe YAML's mapping with the overrides, the arm's data and output folder.

    Raises:
        ConfigError: the recipe is not a mapping, or a key no recipe config has (named).
    """
    import yaml

    recipe = yaml.safe_load(Path(cfg.sft.recipe).read_text(encoding="utf-8")) or {}
    if not isinstance(recipe, dict):
        raise ConfigError(f"study.sft.recipe {cfg.sft.recipe!r} is not a YAML mapping.")
    merged = {**recipe, **cfg.sft.overrides, "dataset_name": str(selection),
              "output_dir": str(model_dir)}
    unknown = sorted(set(merged) - sft_fields())
    if unknown:
        raise ConfigError(f"study.sft: unknown recipe key(s) {unknown} (in {cfg.sft.recipe} or "
                          f"its overrides); keys are the fields of TRL's ScriptArguments, "
                          f"SFTConfig, ModelConfig and deita_hf's RecipeArguments.")
    return merged


def train(cfg: StudyConfig, config_path: Path) -> None:
    """Train one arm with the SFT recipe ``config_path`` (in this process, or accelerate).

    Raises:
        RuntimeError: ``accelerate launch`` failed (re-running resumes from a checkpoint).
    """
    if cfg.sft.launcher == "accelerate":
        cmd = [sys.executable, "-m", "accelerate.commands.launch", *cfg.sft.accelerate_args,
               "-m", "deita_hf.cli.main", "sft", "--config", str(config_path)]
        print(f"deita-hf study: {shlex.join(cmd)}", file=sys.stderr)
        rc = subprocess.run(cmd, check=False).returncode
        if rc != 0:
            raise RuntimeError(f"accelerate launch exited with {rc}; re-run the study to resume "
                               f"(finished stages are kept, training resumes from its last "
                               f"checkpoint).")
        return
    from deita_hf.training.run import make_stage_parser, run_stage

    parsed = make_stage_parser("sft").parse_args_and_config(args=["--config", str(config_path)])
    trainer = run_stage("sft", *parsed)
    del trainer
    gc.collect()


def _generator_kwargs(spec: str, cfg: StudyConfig) -> dict[str, Any]:
    prefix = spec.split(":", 1)[0] if ":" in spec else ""
    if prefix == "openai":
        return {"max_concurrency": cfg.evaluation.concurrency}
    return {} if prefix == "vllm" else {"batch_size": cfg.evaluation.batch_size}


def benchmark_folder(eval_dir: Path, benchmark: str, several: bool) -> Path:
    """The run folder of one benchmark: ``eval/`` itself for one, ``eval/<benchmark>/`` for several.

    Example:
        >>> benchmark_folder(Path("eval"), "lm_eval:arc_easy,piqa", True).as_posix()
        'eval/lm_eval-arc_easy-piqa'
    """
    return eval_dir / re.sub(r"[^A-Za-z0-9._-]+", "-", benchmark) if several else eval_dir


def evaluate(cfg: StudyConfig, model_dir: Path, eval_dir: Path, *,
             progress: bool = True) -> dict[str, Any]:
    """Evaluate one arm's model on every benchmark of the study.

    Returns:
        ``{"metric", "score"}`` (the first benchmark's headline), ``"scores"`` (label -> value
        for every benchmark's numbers, in order: the report's columns), ``"results"`` (the
        first benchmark's ``results.json``) and ``"metrics"`` (benchmark -> its metrics).
    """
    names = cfg.evaluation.benchmarks
    outs = [_evaluate_one(cfg, name, model_dir, benchmark_folder(eval_dir, name, len(names) > 1),
                          progress=progress) for name in names]
    scores = {label: value for out in outs for label, value in out["scores"].items()}
    return {"metric": outs[0]["metric"], "score": outs[0]["score"], "scores": scores,
            "results": outs[0]["results"],
            "metrics": {name: out["results"]["metrics"] for name, out in zip(names, outs)}}


def _evaluate_one(cfg: StudyConfig, benchmark: str, model_dir: Path, eval_dir: Path, *,
                  progress: bool = True) -> dict[str, Any]:
    from deita_hf import evaluation
    from deita_hf.evaluation.lm_eval_tasks import is_lm_eval_benchmark

    ev = cfg.evaluation
    model = f"hf:{model_dir}"
    if is_lm_eval_benchmark(benchmark):
        from deita_hf.evaluation.lm_eval_results import lm_eval_scores
        from deita_hf.evaluation.lm_eval_run import run_lm_eval

        results = run_lm_eval(model, eval_dir, benchmark, tasks_dir=ev.tasks_dir, batch_size=ev.batch_size,
                              dtype=ev.dtype, device=ev.device, limit=ev.limit,
                              apply_chat_template=ev.apply_chat_template, overwrite=True, progress=progress)
        scores = lm_eval_scores(results)
        first = next(iter(scores))
        return {"metric": first, "score": scores[first], "scores": scores, "results": results}
    common = {"questions": ev.questions, "max_new_tokens": ev.max_new_tokens,
              "judge_max_tokens": ev.judge_max_tokens, "retries": ev.retries,
              "progress": progress,
              "generator_kwargs": {"model": _generator_kwargs(model, cfg),
                                   "judge": _generator_kwargs(ev.judge, cfg)}}
    if benchmark == "mt_bench":
        results = evaluation.run_mt_bench(model, ev.judge, eval_dir, **common)
        score = results["metrics"].get("score")
        return {"metric": "MT-Bench score", "score": score, "results": results,
                "scores": {"MT-Bench score": score}}
    results = evaluation.run_win_rate(model, ev.judge, ev.reference, eval_dir, **common)
    score = results["metrics"].get("win_rate")
    return {"metric": "win rate %", "score": score, "results": results,
            "scores": {"win rate %": score}}
