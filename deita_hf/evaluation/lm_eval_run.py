"""Run lm-evaluation-harness benchmarks on a model loaded once: ``open_llm``, ``ifeval``, ``lm_eval:...``.

:func:`run_lm_eval` loads every task's data first (a missing data set stops before the model
loads), builds lm-eval's ``HFLM`` around the model loaded by :func:`deita_hf.runtime.load_pretrained`
(``hf:DIR`` or a folder; lm-eval's ``vllm`` model for ``vllm:DIR``), runs
``lm_eval.simple_evaluate`` once per few-shot count, and writes the run folder the other
benchmarks write: ``run.json``, ``results.json`` (every metric and its standard error, see
:mod:`deita_hf.evaluation.lm_eval_results`), ``eval_results.json`` (card rows), a figure,
``lm_eval_results.json`` (lm-eval's own output, without the per-document samples) and
``samples.jsonl`` (one line per document: task, doc id, target, filtered response, metrics).

IFEval can also score answers that exist (``answers=FILE``: IFEval's ``input_response_data``
JSON Lines, ``{"prompt", "response"}`` per line): each prompt's response is read instead of
generated, and lm-eval's own IFEval scoring runs on it.

Example (plain text: it loads a model):

    from deita_hf.evaluation.lm_eval_run import run_lm_eval
    results = run_lm_eval("hf:out/deita-6k-sft", "out/eval/open-llm", "open_llm", tasks_dir="tasks/")
    results["metrics"]["average"]
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from deita_hf.errors import ConfigError, InputNotFoundError

__all__ = ["read_ifeval_answers", "run_lm_eval"]


def read_ifeval_answers(path: str | os.PathLike) -> dict[str, str]:
    """IFEval answers that exist: JSON Lines of ``{"prompt", "response"}`` (IFEval's format).

    Returns:
        ``{prompt: response}``.

    Raises:
        InputNotFoundError: no such file.
        ConfigError: a line that is not such an object (names the line), or a prompt twice.
    """
    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError(f"--answers {str(path)!r} is not a file.")
    out: dict[str, str] = {}
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            row = None
        if not isinstance(row, dict) or not isinstance(row.get("prompt"), str) \
                or not isinstance(row.get("response"), str):
            raise ConfigError(f"{path} line {i}: expected {{\"prompt\": str, \"response\": str}} (IFEval's "
                              "input_response_data format).")
        if row["prompt"] in out:
            raise ConfigError(f"{path} line {i}: the prompt is answered twice.")
        out[row["prompt"]] = row["response"]
    return out


def _answers_lm(answers: dict[str, str], source: str) -> Any:
    from lm_eval.api.model import LM

    class AnswersLM(LM):
        """An lm-eval model whose generations are given answers, found by the document's prompt."""

        def loglikelihood(self, requests: list[Any]) -> list[Any]:
            raise ConfigError("--answers scores generation tasks (ifeval); log-likelihood tasks need MODEL.")

        loglikelihood_rolling = loglikelihood

        def generate_until(self, requests: list[Any]) -> list[str]:
            out = []
            for req in requests:
                prompt = req.doc.get("prompt") if isinstance(req.doc, dict) else None
                prompt = prompt if prompt is not None else req.args[0]
                if prompt not in answers:
                    raise ConfigError(f"--answers {source}: no response for the prompt {prompt[:80]!r}; the file "
                                      "needs one line per prompt of the task.")
                out.append(answers[prompt])
            return out

    return AnswersLM()


def _build_lm(model: str, *, batch_size: int, dtype: str | None, device: str | None,
              max_length: int | None) -> tuple[Any, str]:
    spec = str(model)
    prefix, sep, rest = spec.partition(":")
    if sep and prefix == "openai":
        raise ConfigError(f"MODEL {spec!r}: lm-eval benchmarks score the model's log-likelihoods, which an "
                          "OpenAI-compatible server does not give here; pass hf:DIR, vllm:DIR or a model folder.")
    if sep and prefix == "vllm":
        try:
            from lm_eval.models.vllm_causallms import VLLM
        except ImportError as err:
            raise ConfigError(f"MODEL {spec!r} needs vLLM ({err}): pip install 'deita_hf[vllm]', or pass hf:DIR.") \
                from None
        kwargs = {"pretrained": rest, "dtype": dtype or "auto", "batch_size": batch_size}
        if max_length is not None:
            kwargs["max_length"] = max_length
        return VLLM(**kwargs), f"vllm:{rest}"
    name = rest if sep and prefix == "hf" else spec
    if not (sep and prefix == "hf") and not Path(name).is_dir():
        raise ConfigError(f"MODEL {spec!r}: give hf:DIR_OR_ID, vllm:DIR_OR_ID or a local model folder.")
    from lm_eval.models.huggingface import HFLM

    from deita_hf.runtime import load_pretrained

    hf_model, tokenizer = load_pretrained("AutoModelForCausalLM", name, revision=None, device=device, dtype=dtype,
                                          trust_remote_code=False, what="the model under test",
                                          hint="pass a causal-LM folder or Hub id")
    kwargs = {"pretrained": hf_model, "tokenizer": tokenizer, "batch_size": batch_size}
    if max_length is not None:
        kwargs["max_length"] = max_length
    return HFLM(**kwargs), f"hf:{name}"


def _check_folder(out: Path, identity: dict[str, Any], overwrite: bool) -> None:
    from deita_hf.evaluation.outputs import check_previous_run

    if out.exists() and not out.is_dir():
        raise ConfigError(f"--output {str(out)!r} is a file; pass a folder.")
    check_previous_run(out, identity, overwrite=overwrite)


def _sample_rows(raw: dict[str, Any]) -> list[dict[str, Any]]:
    from deita_hf.evaluation.outputs import json_ready

    rows = []
    for task, docs in raw.get("samples", {}).items():
        for s in docs:
            metrics = {k: s[k] for k in raw.get("higher_is_better", {}).get(task, {}) if k in s}
            rows.append(json_ready({"task": task, "doc_id": s.get("doc_id"), "target": s.get("target"),
                                    "response": s.get("filtered_resps"), "metrics": metrics}))
    return rows


def _merge(raws: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for raw in raws:
        for key in ("results", "groups", "group_subtasks", "configs", "versions", "n-shot", "higher_is_better",
                    "n-samples", "samples"):
            merged.setdefault(key, {}).update(raw.get(key) or {})
        for key in ("lm_eval_version", "transformers_version", "config"):
            merged.setdefault(key, raw.get(key))
    return merged


def _dataset(task: Any, raw: dict[str, Any]) -> list[Any]:
    if task.dataset is not None:
        return list(task.dataset)
    cfg = raw.get("configs", {}).get(task.name, {})
    path = cfg.get("dataset_path")
    if not path or path in ("json", "csv", "parquet", "arrow", "text") or Path(str(path)).exists():
        path = task.name  # a local copy: name the task, not this machine's files
    return [path, cfg.get("dataset_name"), cfg.get("test_split") or cfg.get("validation_split")]


def run_lm_eval(model: str | os.PathLike | None, output_dir: str | os.PathLike, benchmark: str, *,
                tasks_dir: str | os.PathLike | None = None, num_fewshot: int | None = None, batch_size: int = 8,
                dtype: str | None = None, device: str | None = None, max_length: int | None = None,
                limit: int | None = None, apply_chat_template: bool = False,
                answers: str | os.PathLike | None = None, overwrite: bool = False,
                progress: bool = True) -> dict[str, Any]:
    """Run an lm-eval benchmark on one model and write the run folder.

    Args:
        model: ``hf:DIR_OR_ID``, ``vllm:DIR_OR_ID`` or a model folder (None with ``answers``).
        output_dir: the run folder (created).
        benchmark: ``"open_llm"``, ``"ifeval"`` or ``"lm_eval:TASK[,TASK...]"``.
        tasks_dir: lm-eval's include path (task YAMLs; local copies of the data sets).
        num_fewshot: ``lm_eval:`` only: the few-shot count of every task (None: each task's).
        batch_size, dtype, device, max_length: how the model runs (dtype/device as the other
            commands: None = bf16/fp16 on CUDA, fp32 on CPU; CUDA when available).
        limit: smoke run: the first ``limit`` documents of each task (lm-eval's ``limit``).
        apply_chat_template: render prompts with the tokenizer's chat template (lm-eval's flag).
        answers: IFEval answers that exist (``{"prompt", "response"}`` JSON Lines) instead of MODEL.
        overwrite: reuse a folder that holds another run.
        progress: show lm-eval's progress bars.

    Returns:
        The ``results.json`` contents (``benchmark``, ``model``, ``metrics``, ``settings``,
        ``lm_eval_version``, ``files``, ...).

    Raises:
        ConfigError: a bad benchmark, model spec or answers file, lm-eval not installed, an
            unknown task, or a data set that cannot be loaded (before the model loads).
        FolderKindError: the folder holds another run (without ``overwrite``).
    """
    from deita_hf import __version__
    from deita_hf.evaluation.lm_eval_results import lm_eval_metrics
    from deita_hf.evaluation.lm_eval_tasks import load_lm_eval_tasks, parse_lm_eval_benchmark, require_lm_eval
    from deita_hf.evaluation.outputs import LM_EVAL_FIGURE, _write_json, write_results

    if (model is None) == (answers is None):
        raise ConfigError("Give MODEL (its answers are generated) or --answers FILE, not both or neither.")
    if batch_size < 1 or (limit is not None and limit < 1) or (max_length is not None and max_length < 2):
        raise ConfigError(f"--batch-size and --limit must be >= 1 and --max-length >= 2 (got {batch_size}, "
                          f"{limit}, {max_length}).")
    tasks = parse_lm_eval_benchmark(benchmark, num_fewshot)
    if answers is not None and any(t.name != "ifeval" for t in tasks):
        raise ConfigError("--answers scores existing IFEval answers: use it with --benchmark ifeval.")
    answer_map = read_ifeval_answers(answers) if answers is not None else None
    lm_eval = require_lm_eval()
    out = Path(output_dir)
    name = f"answers:{Path(answers).name}" if answers is not None else str(model)
    identity = {"benchmark": benchmark, "model": name, "tasks_dir": None if tasks_dir is None else str(tasks_dir),
                "num_fewshot": num_fewshot, "limit": limit, "apply_chat_template": apply_chat_template}
    _check_folder(out, identity, overwrite)
    manager, loaded = load_lm_eval_tasks(tasks, tasks_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    _write_json(out / "run.json", {**identity, "started": started})
    if answer_map is not None:
        lm, spec = _answers_lm(answer_map, str(answers)), name
    else:
        lm, spec = _build_lm(str(model), batch_size=batch_size, dtype=dtype, device=device, max_length=max_length)
    quiet = not progress and "TQDM_DISABLE" not in os.environ
    if quiet:
        os.environ["TQDM_DISABLE"] = "1"
    raws = []
    try:
        for shots in dict.fromkeys(t.num_fewshot for t in tasks):
            objs = [obj for t in tasks if t.num_fewshot == shots for obj in loaded[t.name]]
            raws.append(lm_eval.simple_evaluate(model=lm, tasks=objs, num_fewshot=shots, task_manager=manager,
                                                limit=limit, log_samples=True,
                                                apply_chat_template=apply_chat_template))
    finally:
        if quiet:
            del os.environ["TQDM_DISABLE"]
    raw = _merge(raws)
    metrics = lm_eval_metrics(raw, [(t.name, t.metric, t.num_fewshot) for t in tasks],
                              average=benchmark == "open_llm")
    datasets = {}
    for t in tasks:
        metrics["tasks"][t.name]["label"] = t.label or t.name
        datasets[t.name] = _dataset(t, raw)
    files = {"lm_eval": "lm_eval_results.json", "samples": "samples.jsonl", "figure": LM_EVAL_FIGURE}
    with open(out / files["samples"], "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(row, ensure_ascii=False, default=str) + "\n" for row in _sample_rows(raw))
    _write_json(out / files["lm_eval"], json.loads(json.dumps({k: v for k, v in raw.items() if k != "samples"},
                                                               default=str)))
    settings = {"tasks": [t.name for t in tasks], "num_fewshot": {t.name: t.num_fewshot for t in tasks},
                "tasks_dir": identity["tasks_dir"], "limit": limit, "batch_size": batch_size,
                "dtype": dtype, "device": device, "apply_chat_template": apply_chat_template,
                "datasets": datasets, "model_config": json.loads(json.dumps(raw.get("config") or {}, default=str))}
    results = {"benchmark": benchmark, "model": spec, "judge": None, "metrics": metrics, "settings": settings,
               "lm_eval_version": raw.get("lm_eval_version") or lm_eval.__version__, "started": started,
               "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "deita_hf_version": __version__, "files": files}
    return write_results(out, results)
