"""The study file: one YAML whose keys are the field names of :class:`StudyConfig`.

A study names a pool, a budget, the arms (a selection strategy and its scorers each), one SFT
recipe and one evaluation. Unknown keys are an error naming the key and where it is; values
are type-checked; everything is checked before the first arm runs.

Example:
    >>> cfg = study_from_dict({
    ...     "name": "demo", "pool": "pool.jsonl", "budget": 20,
    ...     "arms": [{"name": "random", "strategy": "random:seed=0"}],
    ...     "sft": {"recipe": "sft.yaml", "overrides": {"max_steps": 1}},
    ...     "evaluation": {"judge": "openai:http://127.0.0.1:8000/v1#judge", "questions": 2}})
    >>> cfg.arms[0].strategy, cfg.sft.launcher, cfg.evaluation.benchmark
    ('random:seed=0', 'python', 'mt_bench')
    >>> study_from_dict({"name": "x", "pool": "p", "budget": 1, "arm": []})
    Traceback (most recent call last):
    ...
    deita_hf.errors.ConfigError: study: unknown key 'arm'; accepted: name, pool, budget, arms, sft, evaluation, description, split, preset, complexity_scorer, quality_scorer, embedder, select_args, stats_complexity_scorer, stats_quality_scorer, tables
"""

from __future__ import annotations

import dataclasses
import os
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deita_hf.errors import ConfigError

__all__ = ["ArmConfig", "EvaluationConfig", "SFTConfig", "StudyConfig", "load_study",
           "study_from_dict"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _f(help: str, default: Any = dataclasses.MISSING, factory: Any = dataclasses.MISSING) -> Any:
    if factory is not dataclasses.MISSING:
        return field(default_factory=factory, metadata={"help": help})
    return field(default=default, metadata={"help": help})


@dataclass
class ArmConfig:
    """One arm: how its rows are selected (the flags of ``deita-hf select``)."""

    name: str = _f("the arm's folder name under OUTPUT/arms (letters, digits, '.', '_', '-')")
    strategy: str = _f("selection strategy spec (deita-hf select --strategy)", "deita")
    description: str | None = _f("what the arm stands for, e.g. the paper's row name", None)
    tables: list[str] = _f("the study tables (keys of StudyConfig.tables) this arm is in", factory=list)
    complexity_scorer: str | None = _f("--complexity-scorer (default: the study's)", None)
    quality_scorer: str | None = _f("--quality-scorer (default: the study's)", None)
    embedder: str | None = _f("--embedder (default: the study's)", None)
    scorers: list[str] = _f("--scorer specs: generic measure columns to compute first", factory=list)
    score_column: str | None = _f("--score-column: a ready score column", None)
    threshold: float | None = _f("--threshold (deita only)", None)
    select_args: list[str] = _f("more deita-hf select flags, after the study's", factory=list)


@dataclass
class SFTConfig:
    """The one SFT recipe every arm trains with."""

    recipe: str = _f("recipe YAML (TRL ScriptArguments/SFTConfig/ModelConfig + RecipeArguments)")
    overrides: dict[str, Any] = _f("recipe keys to replace, e.g. {max_steps: 1}", factory=dict)
    launcher: str = _f("'python' (in this process) or 'accelerate' (accelerate launch)", "python")
    accelerate_args: list[str] = _f("accelerate launch flags, e.g. [--config_file, "
                                    "recipes/accelerate_configs/zero3.yaml]", factory=list)


@dataclass
class EvaluationConfig:
    """The one evaluation every arm's model gets (deita_hf.evaluation)."""

    judge: str = _f("the judge's generator spec (openai:URL#MODEL, hf:DIR, vllm:DIR)")
    benchmark: str = _f("'mt_bench' or 'win_rate'", "mt_bench")
    questions: int | None = _f("a subset: N MT-Bench questions / N reference instructions", None)
    reference: str | None = _f("win_rate: the reference outputs (instruction, output)", None)
    max_new_tokens: int = _f("tokens per answer (FastChat: 1024)", 1024)
    judge_max_tokens: int = _f("tokens per judge reply (FastChat: 2048)", 2048)
    retries: int = _f("judge re-asks for a reply without a rating", 2)
    batch_size: int = _f("inputs per batch for hf: models", 8)
    concurrency: int = _f("requests in flight for openai: specs", 8)


@dataclass
class StudyConfig:
    """A controlled study: the same pool, budget, training and evaluation for every arm."""

    name: str = _f("the study's name (the card's title)")
    pool: str = _f("the pool: a file, folder or Hub dataset id (deita-hf select INPUT)")
    budget: int = _f("rows each arm selects (deita-hf select --budget)")
    arms: list[ArmConfig] = _f("the arms, in the order they run", factory=list)
    sft: SFTConfig | None = _f("the SFT recipe", None)
    evaluation: EvaluationConfig | None = _f("the evaluation", None)
    description: str | None = _f("a paragraph for the study card", None)
    split: str = _f("split of the pool (deita-hf select --split)", "train")
    preset: str | None = _f("--preset for every arm", None)
    complexity_scorer: str | None = _f("--complexity-scorer for arms that give none", None)
    quality_scorer: str | None = _f("--quality-scorer for arms that give none", None)
    embedder: str | None = _f("--embedder for arms that give none", None)
    select_args: list[str] = _f("deita-hf select flags for every arm, e.g. [--batch-size, '16']",
                                factory=list)
    stats_complexity_scorer: str | None = _f(
        "score every selection's rows with this complexity scorer for the comparison's mean "
        "DEITA score (None: the selection's own columns, when it has both)", None)
    stats_quality_scorer: str | None = _f("the quality scorer of that mean DEITA score", None)
    tables: dict[str, str] = _f("table key -> title; arms list their tables", factory=dict)


_NESTED = {"arms": ArmConfig, "sft": SFTConfig, "evaluation": EvaluationConfig}


def _type_ok(value: Any, hint: Any) -> bool:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return any(_type_ok(value, a) for a in args)
    if hint is type(None):
        return value is None
    if origin is list:
        return isinstance(value, list) and all(_type_ok(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict) and all(isinstance(k, str) for k in value)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint) if isinstance(hint, type) else True


def _coerce(value: Any, hint: Any) -> Any:
    """Numbers where strings are expected (``select_args: [--batch-size, 16]``) become strings."""
    def number(v: Any) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    if str in typing.get_args(hint) or hint is str:
        return str(value) if number(value) else value
    if typing.get_origin(hint) is list and typing.get_args(hint)[0] is str \
            and isinstance(value, list):
        return [str(v) if number(v) else v for v in value]
    return value


def _build(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping of {cls.__name__} keys, got {data!r}.")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            raise ConfigError(f"{where}: unknown key {key!r}; accepted: {', '.join(fields)}")
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for name, f in fields.items():
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(f"{where}: missing key {name!r} ({f.metadata['help']}).")
            continue
        value = data[name]
        if name in _NESTED and cls is StudyConfig:
            sub = _NESTED[name]
            if name == "arms":
                if not isinstance(value, list):
                    raise ConfigError(f"{where}.arms: expected a list of arms, got {value!r}.")
                value = [_build(sub, a, f"{where}.arms[{i}]") for i, a in enumerate(value)]
            else:
                value = _build(sub, value, f"{where}.{name}")
        else:
            value = _coerce(value, hints[name])
        if not _type_ok(value, hints[name]):
            raise ConfigError(f"{where}.{name}: {value!r} is not a {hints[name]} "
                              f"({f.metadata['help']}).")
        values[name] = value
    return cls(**values)


def _check(cfg: StudyConfig) -> None:
    if cfg.budget < 1:
        raise ConfigError(f"study.budget must be >= 1, got {cfg.budget}.")
    if not cfg.arms:
        raise ConfigError("study.arms: give at least one arm.")
    if cfg.sft is None or cfg.evaluation is None:
        raise ConfigError("study: 'sft' (the recipe) and 'evaluation' (the judge) are required.")
    names = [a.name for a in cfg.arms]
    for arm in cfg.arms:
        if not _NAME.match(arm.name):
            raise ConfigError(f"study.arms: name {arm.name!r} must be letters, digits, '.', '_' "
                              f"or '-' (it names a folder).")
        unknown = [t for t in arm.tables if t not in cfg.tables]
        if unknown:
            raise ConfigError(f"arm {arm.name!r}: tables {unknown} are not in study.tables "
                              f"({sorted(cfg.tables)}).")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"study.arms: the names {dupes} are used twice.")
    if cfg.sft.launcher not in ("python", "accelerate"):
        raise ConfigError(f"study.sft.launcher must be 'python' or 'accelerate', got "
                          f"{cfg.sft.launcher!r}.")
    ev = cfg.evaluation
    if ev.benchmark not in ("mt_bench", "win_rate"):
        raise ConfigError(f"study.evaluation.benchmark must be 'mt_bench' or 'win_rate', got "
                          f"{ev.benchmark!r}.")
    if (ev.benchmark == "win_rate") != (ev.reference is not None):
        raise ConfigError("study.evaluation.reference is needed by win_rate, and only by it.")
    if ev.questions is not None and ev.questions < 1:
        raise ConfigError(f"study.evaluation.questions must be >= 1, got {ev.questions}.")
    if (cfg.stats_complexity_scorer is None) != (cfg.stats_quality_scorer is None):
        raise ConfigError("study.stats_complexity_scorer and stats_quality_scorer go together.")


def study_from_dict(data: dict[str, Any]) -> StudyConfig:
    """Build and check a :class:`StudyConfig` from the YAML's mapping.

    Args:
        data: the parsed YAML.

    Returns:
        The checked config (the recipe file's existence is checked by :func:`load_study`).

    Raises:
        ConfigError: an unknown or missing key, or a value of the wrong type (names the key).
    """
    cfg = _build(StudyConfig, data, "study")
    _check(cfg)
    return cfg


def load_study(path: str | os.PathLike) -> StudyConfig:
    """Read and check a study YAML.

    Args:
        path: the YAML file.

    Returns:
        The checked :class:`StudyConfig`; a relative ``sft.recipe`` that is not found from the
        current folder is looked up next to the study file.

    Raises:
        InputNotFoundError: no such file.
        ConfigError: bad YAML, keys or values (the message names the key).
    """
    import yaml

    from deita_hf.errors import InputNotFoundError

    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError(f"Study file {str(path)!r} not found.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    cfg = study_from_dict(data if data is not None else {})
    recipe = Path(cfg.sft.recipe)
    if not recipe.is_absolute() and not recipe.is_file() and (path.parent / recipe).is_file():
        cfg.sft.recipe = str(path.parent / recipe)
    if not Path(cfg.sft.recipe).is_file():
        raise ConfigError(f"study.sft.recipe: {cfg.sft.recipe!r} is not a file.")
    return cfg
