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
    >>> study_from_dict({"name": "x", "pool": "p", "budget": 1, "arm": []})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    deita_hf.errors.ConfigError: study: unknown key 'arm'; accepted: name, pool, budget, arms, ...
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
           "missing_pool", "study_from_dict"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass
class ArmConfig:
    """One arm: how its rows are selected (the flags of ``deita-hf select``)."""

    name: str = field(
        metadata={"help": "the arm's folder name under OUTPUT/arms (letters, digits, '.', '_', "
                          "'-')"})
    strategy: str = field(default="deita",
        metadata={"help": "selection strategy spec (deita-hf select --strategy)"})
    description: str | None = field(default=None,
        metadata={"help": "what the arm stands for, e.g. the paper's row name"})
    tables: list[str] = field(default_factory=list,
        metadata={"help": "the study tables (keys of StudyConfig.tables) this arm is in"})
    complexity_scorer: str | None = field(default=None,
        metadata={"help": "--complexity-scorer (default: the study's)"})
    quality_scorer: str | None = field(default=None,
        metadata={"help": "--quality-scorer (default: the study's)"})
    embedder: str | None = field(default=None,
        metadata={"help": "--embedder (default: the study's)"})
    scorers: list[str] = field(default_factory=list,
        metadata={"help": "--scorer specs: generic measure columns to compute first"})
    score_column: str | None = field(default=None,
        metadata={"help": "--score-column: a ready score column"})
    threshold: float | None = field(default=None, metadata={"help": "--threshold (deita only)"})
    select_args: list[str] = field(default_factory=list,
        metadata={"help": "more deita-hf select flags, after the study's"})


@dataclass
class SFTConfig:
    """The one SFT recipe every arm trains with."""

    recipe: str = field(
        metadata={"help": "recipe YAML (TRL ScriptArguments/SFTConfig/ModelConfig + "
                          "RecipeArguments)"})
    overrides: dict[str, Any] = field(default_factory=dict,
        metadata={"help": "recipe keys to replace, e.g. {max_steps: 1}"})
    launcher: str = field(default="python",
        metadata={"help": "'python' (in this process) or 'accelerate' (accelerate launch)"})
    accelerate_args: list[str] = field(default_factory=list,
        metadata={"help": "accelerate launch flags, e.g. [--config_file, "
                          "recipes/accelerate_configs/zero3.yaml]"})


@dataclass
class EvaluationConfig:
    """The one evaluation every arm's model gets (deita_hf.evaluation)."""

    judge: str | None = field(default=None,
        metadata={"help": "the judge's generator spec (openai:URL#MODEL, hf:DIR, vllm:DIR); needed "
                          "by mt_bench and win_rate"})
    benchmark: str | list[str] = field(default="mt_bench",
        metadata={"help": "'mt_bench', 'win_rate', 'open_llm', 'ifeval', 'lm_eval:TASK[,TASK...]', or "
                          "a list of them (every arm gets each; the report shows them side by side)"})
    questions: int | None = field(default=None,
        metadata={"help": "a subset: N MT-Bench questions / N reference instructions"})
    reference: str | None = field(default=None,
        metadata={"help": "win_rate: the reference outputs (instruction, output)"})
    max_new_tokens: int = field(default=1024,
        metadata={"help": "tokens per answer (FastChat: 1024)"})
    judge_max_tokens: int = field(default=2048,
        metadata={"help": "tokens per judge reply (FastChat: 2048)"})
    retries: int = field(default=2, metadata={"help": "judge re-asks for a reply without a rating"})
    batch_size: int = field(default=8, metadata={"help": "inputs per batch for hf: models"})
    concurrency: int = field(default=8, metadata={"help": "requests in flight for openai: specs"})
    tasks_dir: str | None = field(default=None,
        metadata={"help": "lm-eval benchmarks: lm-eval's include path (task YAMLs; local copies of "
                          "the data sets, offline)"})
    limit: int | None = field(default=None,
        metadata={"help": "lm-eval benchmarks: the first N documents of each task (a smoke run)"})
    dtype: str | None = field(default=None,
        metadata={"help": "lm-eval benchmarks: bfloat16 | float16 | float32 (default: bf16/fp16 on "
                          "CUDA, fp32 on CPU)"})
    device: str | None = field(default=None,
        metadata={"help": "lm-eval benchmarks: torch device (default: cuda if available)"})
    apply_chat_template: bool = field(default=False,
        metadata={"help": "lm-eval benchmarks: render prompts with the model's chat template"})

    @property
    def benchmarks(self) -> list[str]:
        """The benchmarks, as a list."""
        return [self.benchmark] if isinstance(self.benchmark, str) else list(self.benchmark)


#: EvaluationConfig fields added for the lm-eval benchmarks: left out of the stage key at their
#: defaults, so studies evaluated before they existed keep their finished evaluations
LM_EVAL_FIELDS = {"tasks_dir": None, "limit": None, "dtype": None, "device": None,
                  "apply_chat_template": False}
JUDGED = ("mt_bench", "win_rate")


@dataclass
class StudyConfig:
    """A controlled study: the same pool, budget, training and evaluation for every arm."""

    name: str = field(metadata={"help": "the study's name (the card's title)"})
    pool: str = field(
        metadata={"help": "the pool: a file, folder or Hub dataset id (deita-hf select INPUT)"})
    budget: int = field(metadata={"help": "rows each arm selects (deita-hf select --budget)"})
    arms: list[ArmConfig] = field(default_factory=list,
        metadata={"help": "the arms, in the order they run"})
    sft: SFTConfig | None = field(default=None, metadata={"help": "the SFT recipe"})
    evaluation: EvaluationConfig | None = field(default=None, metadata={"help": "the evaluation"})
    description: str | None = field(default=None,
        metadata={"help": "a paragraph for the study card"})
    split: str = field(default="train",
        metadata={"help": "split of the pool (deita-hf select --split)"})
    preset: str | None = field(default=None, metadata={"help": "--preset for every arm"})
    complexity_scorer: str | None = field(default=None,
        metadata={"help": "--complexity-scorer for arms that give none"})
    quality_scorer: str | None = field(default=None,
        metadata={"help": "--quality-scorer for arms that give none"})
    embedder: str | None = field(default=None,
        metadata={"help": "--embedder for arms that give none"})
    select_args: list[str] = field(default_factory=list,
        metadata={"help": "deita-hf select flags for every arm, e.g. [--batch-size, '16']"})
    stats_complexity_scorer: str | None = field(default=None,
        metadata={"help": "score every selection's rows with this complexity scorer for the "
                          "comparison's mean DEITA score (None: the selection's own columns, "
                          "when it has both)"})
    stats_quality_scorer: str | None = field(default=None,
        metadata={"help": "the quality scorer of that mean DEITA score"})
    tables: dict[str, str] = field(default_factory=dict,
        metadata={"help": "table key -> title; arms list their tables"})


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
    if hint is bool:
        return isinstance(value, bool)
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
    _check_benchmarks(ev)
    if ev.questions is not None and ev.questions < 1:
        raise ConfigError(f"study.evaluation.questions must be >= 1, got {ev.questions}.")
    if (cfg.stats_complexity_scorer is None) != (cfg.stats_quality_scorer is None):
        raise ConfigError("study.stats_complexity_scorer and stats_quality_scorer go together.")


def _check_benchmarks(ev: EvaluationConfig) -> None:
    from deita_hf.evaluation.lm_eval_tasks import is_lm_eval_benchmark, parse_lm_eval_benchmark

    names = ev.benchmarks
    if not names or len(set(names)) != len(names):
        raise ConfigError(f"study.evaluation.benchmark: give one benchmark or a list without repeats, got "
                          f"{ev.benchmark!r}.")
    for name in names:
        if name not in JUDGED and not is_lm_eval_benchmark(name):
            raise ConfigError(f"study.evaluation.benchmark: {name!r} is not one of mt_bench, win_rate, "
                              "open_llm, ifeval, lm_eval:TASK[,TASK...].")
        if is_lm_eval_benchmark(name):
            parse_lm_eval_benchmark(name)
    judged = [n for n in names if n in JUDGED]
    if judged and not ev.judge:
        raise ConfigError(f"study.evaluation.judge: {', '.join(judged)} needs a judge (openai:URL#MODEL, "
                          "hf:DIR, vllm:DIR).")
    if ("win_rate" in names) != (ev.reference is not None):
        raise ConfigError("study.evaluation.reference is needed by win_rate, and only by it.")
    lm_set = [k for k, v in LM_EVAL_FIELDS.items() if getattr(ev, k) != v]
    if lm_set and not any(is_lm_eval_benchmark(n) for n in names):
        raise ConfigError(f"study.evaluation: {', '.join(lm_set)} are for the lm-eval benchmarks (open_llm, "
                          "ifeval, lm_eval:...).")
    if ev.limit is not None and ev.limit < 1:
        raise ConfigError(f"study.evaluation.limit must be >= 1, got {ev.limit}.")


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


#: suffixes of data files (a ``pool:`` with one is a file, not a Hub dataset id)
_DATA_SUFFIXES = (".json", ".jsonl", ".gz", ".parquet", ".csv", ".arrow")


def _resolve(value: str, base: Path) -> str:
    """A relative path of the study file resolved against the study file's folder when it is
    there; else kept as given (a path from the current folder, or a Hub id)."""
    path = Path(value).expanduser()
    if path.is_absolute():
        return str(path)
    return os.path.normpath(base / path) if (base / path).exists() else value


def missing_pool(cfg: StudyConfig) -> str | None:
    """Why ``cfg.pool`` cannot be read, or None: a pool that names a local file or folder (a
    data-file suffix, ``./``, ``../``, an absolute path, or more than one ``/``) and is not
    there. A Hub dataset id (``org/name``) is not checked (no network here).

    Args:
        cfg: a study from :func:`load_study` (its paths resolved).

    Returns:
        One line naming the pool and where it was looked for, or None.

    Example:
        >>> cfg = study_from_dict({"name": "x", "pool": "no/such/pool.jsonl", "budget": 1,
        ...     "arms": [{"name": "a"}], "sft": {"recipe": "r.yaml"},
        ...     "evaluation": {"judge": "openai:URL#j"}})
        >>> missing_pool(cfg).startswith("study.pool: 'no/such/pool.jsonl' is not a file")
        True
    """
    pool = cfg.pool
    if Path(pool).expanduser().exists():
        return None
    local = (pool.lower().endswith(_DATA_SUFFIXES) or pool.startswith((".", "/", "~"))
             or pool.count("/") > 1 or os.sep != "/" and os.sep in pool)
    if not local:
        return None
    return (f"study.pool: {pool!r} is not a file or folder (relative paths are looked up next "
            f"to the study file, then in the current folder {os.getcwd()}); build the pool "
            f"first or fix the path.")


def load_study(path: str | os.PathLike) -> StudyConfig:
    """Read and check a study YAML.

    Relative paths in it (``pool``, ``sft.recipe``, ``evaluation.reference``) are resolved
    against the study file's folder when they are there, else against the current folder (a
    ``pool`` may also be a Hub dataset id).

    Args:
        path: the YAML file.

    Returns:
        The checked :class:`StudyConfig`, its paths resolved.

    Raises:
        InputNotFoundError: no such file.
        ConfigError: bad YAML, keys or values (the message names the key), or no recipe file.
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
    base = path.parent
    cfg.pool = _resolve(cfg.pool, base)
    cfg.sft.recipe = _resolve(cfg.sft.recipe, base)
    if cfg.evaluation.reference is not None:
        cfg.evaluation.reference = _resolve(cfg.evaluation.reference, base)
    if not Path(cfg.sft.recipe).is_file():
        raise ConfigError(f"study.sft.recipe: {cfg.sft.recipe!r} is not a file (looked next to "
                          f"the study file and in the current folder).")
    return cfg
