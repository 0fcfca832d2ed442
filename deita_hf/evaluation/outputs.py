"""The output folder of an evaluation run: generators with their cache, files, ``results.json``.

A run folder holds ``run.json`` (what is evaluated; written first), ``cache/`` (the generation
cache of the model and the judge: a re-run asks nothing twice), the answers and judgments
(JSON Lines), ``results.json``, ``eval_results.json`` (rows for a model card's evaluation
table, the format :func:`deita_hf.training.model_card.load_eval_results` reads) and a figure.

Example:
    >>> import tempfile
    >>> from deita_hf.evaluation.outputs import read_results
    >>> read_results(tempfile.mkdtemp())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    deita_hf.errors.InputNotFoundError: ... holds no results.json: ...
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from deita_hf.errors import ConfigError, FolderKindError, InputNotFoundError
from deita_hf.generation import Generator, build_generator

__all__ = ["CHAT_TEMPLATES", "RESULTS_FILE", "RUN_FILE", "Run", "check_previous_run", "finish_run", "json_ready", "read_results",
           "resolve_chat_template", "start_run", "write_results"]

RESULTS_FILE = "results.json"
RUN_FILE = "run.json"
CARD_ROWS_FILE = "eval_results.json"
FIGURES = {"mt_bench": "mt_bench.png", "mt_bench_pair": "mt_bench_pair.png", "win_rate": "win_rate.png"}
#: the figure of an lm-eval run (open_llm, ifeval, lm_eval:TASK,...)
LM_EVAL_FIGURE = "lm_eval.png"
#: named chat templates for ``--chat-template`` (a file path is read instead)
CHAT_TEMPLATES = ("vicuna_v1.1",)


def json_ready(value: Any) -> Any:
    """``value`` with NaN/inf floats as None (strict JSON), recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    return value


@dataclass
class Run:
    """An evaluation run in progress.

    Attributes:
        dir: the output folder.
        benchmark: ``"mt_bench"``, ``"mt_bench_pair"`` or ``"win_rate"``.
        model: the generator of the model under test (None when its answers were given).
        judge: the judge's generator.
        started: ISO time of the start.
        model_spec: the model's name in the results (its spec, or ``answers:NAME``).
    """

    dir: Path
    benchmark: str
    model: Generator | None
    judge: Generator
    started: str
    model_spec: str = ""

    def write_json(self, name: str, data: Any) -> Path:
        """Write ``data`` as indented JSON (atomically: a temporary file, then a rename)."""
        return _write_json(self.dir / name, data)

    def write_jsonl(self, name: str, rows: list[dict[str, Any]]) -> Path:
        """Write one JSON object per line (atomically)."""
        path = self.dir / name
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(json_ready(row), ensure_ascii=False) + "\n" for row in rows)
        os.replace(tmp, path)
        return path


def resolve_chat_template(value: str | os.PathLike | None) -> str | None:
    """The Jinja text of ``--chat-template``: a name of :data:`CHAT_TEMPLATES` or a file.

    Args:
        value: ``"vicuna_v1.1"`` (FastChat's Vicuna v1.1, DEITA's SFT format), a ``.jinja``
            (or any text) file holding a template, a JSON file with a ``chat_template`` key
            (``tokenizer_config.json``, ``chat_template.json``), or None.

    Returns:
        The template, or None for None.

    Raises:
        InputNotFoundError: neither a known name nor an existing file.
        ConfigError: the file is empty, its JSON has no ``chat_template`` string, or the
            template does not render a user/assistant chat (a Jinja syntax error, or its own
            ``raise_exception``): checked here, before any model loads.

    Example:
        >>> resolve_chat_template("vicuna_v1.1").startswith("{{ bos_token }}")
        True
    """
    if value is None:
        return None
    if str(value) == "vicuna_v1.1":
        from deita_hf.training.chat_template import VICUNA_V1_1_TEMPLATE

        return VICUNA_V1_1_TEMPLATE
    path = Path(value)
    if not path.is_file():
        raise InputNotFoundError(f"--chat-template {str(value)!r} is neither a known template "
                                 f"({', '.join(CHAT_TEMPLATES)}) nor a file holding a Jinja template.")
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        try:
            text = json.loads(text).get("chat_template")
        except (ValueError, AttributeError):
            text = None
        if not isinstance(text, str):
            raise ConfigError(f"--chat-template {str(value)!r}: a JSON file must hold a 'chat_template' string.")
    if not text.strip():
        raise ConfigError(f"--chat-template {str(value)!r} is empty.")
    _check_renders(text, str(value))
    return text


#: what a chat template must render (MT-Bench's and AlpacaEval's chats: user/assistant turns)
_PROBE_CHAT = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"},
               {"role": "user", "content": "Bye"}]


def _check_renders(template: str, source: str) -> None:
    """Render a two-turn chat with transformers' own Jinja environment (as
    ``apply_chat_template`` does); a syntax error or the template's ``raise_exception`` is one
    line naming the file."""
    import jinja2
    from transformers.utils.chat_template_utils import render_jinja_template

    try:
        render_jinja_template([_PROBE_CHAT], chat_template=template, add_generation_prompt=True,
                              bos_token="<s>", eos_token="</s>")
    except jinja2.TemplateSyntaxError as err:
        raise ConfigError(f"--chat-template {source!r}: Jinja syntax error on line {err.lineno}: "
                          f"{err.message}.") from None
    except jinja2.TemplateError as err:
        raise ConfigError(f"--chat-template {source!r} does not render a user/assistant chat: "
                          f"{err}.") from None


def _generator(spec: Generator | str | os.PathLike, cache: Path, kwargs: dict[str, Any] | None,
               chat_template: str | None = None) -> Generator:
    if isinstance(spec, Generator):
        if chat_template is not None:
            raise ConfigError("chat_template applies to a model given as a spec; give a built generator its "
                              "chat_template yourself.")
        return spec
    kwargs = dict(kwargs or {})
    if chat_template is not None:
        if str(spec).startswith("openai:"):
            raise ConfigError(f"--chat-template applies to local models (hf:, vllm:); {str(spec)!r} is a server "
                              "that renders chats with its own template (set it there, e.g. vLLM's "
                              "--chat-template).")
        kwargs["chat_template"] = chat_template
    return build_generator(spec, cache_dir=cache, **kwargs)


def start_run(output_dir: str | os.PathLike, benchmark: str, model: Generator | str | None,
              judge: Generator | str, *, overwrite: bool = False,
              generator_kwargs: dict[str, Any] | None = None, extra: dict[str, Any] | None = None,
              chat_template: str | None = None, answers_name: str | None = None) -> Run:
    """Open (or resume) a run folder and build the generators (with ``DIR/cache``).

    Args:
        output_dir: the folder (created).
        benchmark: ``"mt_bench"``, ``"mt_bench_pair"`` or ``"win_rate"``.
        model: generator or spec of the model under test; None when its answers are given.
        judge: generator or spec of the judge.
        overwrite: accept a folder whose ``run.json`` names another model or benchmark.
        generator_kwargs: ``{"model": {...}, "judge": {...}}`` for ``build_generator``.
        extra: more identity fields for ``run.json`` (e.g. the reference data set).
        chat_template: a Jinja template replacing the model's own (model given as a spec).
        answers_name: the model's name when its answers are given (``model`` None).

    Returns:
        The :class:`Run`.

    Raises:
        FolderKindError: the folder holds a run of another model/benchmark (without ``overwrite``).
        ConfigError: a bad spec, neither a model nor its answers, or (model answers to generate)
            a remote judge that does not answer or refuses its key (one ``GET /models``).
    """
    out = Path(output_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--output {str(out)!r} is a file; pass a folder.")
    if (model is None) == (answers_name is None):
        raise ConfigError("Give the model to evaluate or its answers (--answers FILE), not both or neither.")
    if model is None and chat_template is not None:
        raise ConfigError("chat_template renders the model's chats; with given answers nothing is generated.")
    out.mkdir(parents=True, exist_ok=True)
    kwargs = generator_kwargs or {}
    model_gen = None if model is None else _generator(model, out / "cache", kwargs.get("model"), chat_template)
    judge_gen = _generator(judge, out / "cache", kwargs.get("judge"))
    if model_gen is not None and hasattr(judge_gen, "check_reachable"):
        judge_gen.check_reachable("--judge")  # before the model answers every question
    # what the cache keys on (an endpoint's URL may change between runs; its model may not)
    name = f"answers:{answers_name}" if model_gen is None else f"{model_gen.backend}:{model_gen.model}"
    identity = {"benchmark": benchmark, "model": name, **(extra or {})}
    if chat_template is not None:
        identity["chat_template_sha256"] = hashlib.sha256(chat_template.encode()).hexdigest()
    check_previous_run(out, identity, overwrite=overwrite)
    run = Run(out, benchmark, model_gen, judge_gen, datetime.now(timezone.utc).isoformat(timespec="seconds"),
              model_spec=name if model_gen is None else model_gen.spec)
    run.write_json(RUN_FILE, {**identity, "judge": judge_gen.spec, "started": run.started,
                              "model_generator": None if model_gen is None else model_gen.describe(),
                              "judge_generator": judge_gen.describe()})
    return run


def finish_run(run: Run, *, metrics: dict[str, Any], judge_report: dict[str, Any], settings: dict[str, Any],
               extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write ``results.json``, ``eval_results.json`` and the figure; return the results.

    Args:
        run: the run.
        metrics: the benchmark's aggregate numbers.
        judge_report: judge failures and disagreement.
        settings: the settings that produced the numbers.
        extra: more top-level fields (e.g. the reference data set).

    Returns:
        The ``results.json`` contents (NaN written as null).
    """
    from deita_hf import __version__

    files = {"answers": "answers.jsonl", "judgments": "judgments.jsonl", "figure": FIGURES[run.benchmark]}
    if run.benchmark == "mt_bench_pair":
        files["baseline_answers"] = "baseline_answers.jsonl"
    results = {"benchmark": run.benchmark, "model": run.model_spec, "judge": run.judge.spec, **(extra or {}),
               "metrics": metrics, "judge_report": judge_report, "settings": settings,
               "started": run.started, "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "deita_hf_version": __version__, "files": files}
    return write_results(run.dir, results)


def write_results(folder: str | os.PathLike, results: dict[str, Any]) -> dict[str, Any]:
    """Write a run's figure, ``eval_results.json`` and ``results.json`` (last) into ``folder``.

    Args:
        folder: the run folder (exists).
        results: the ``results.json`` contents (``files.figure`` names the figure).

    Returns:
        ``results`` with NaN as None.
    """
    from deita_hf.evaluation.card import card_rows
    from deita_hf.evaluation.figures import write_run_figure

    folder = Path(folder)
    results = json_ready(results)
    write_run_figure(results, folder / results["files"]["figure"])
    _write_json(folder / CARD_ROWS_FILE, card_rows(results))
    _write_json(folder / RESULTS_FILE, results)
    return results


def _write_json(path: Path, data: Any) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(json_ready(data), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_results(folder: str | os.PathLike) -> dict[str, Any]:
    """The ``results.json`` of a finished run folder.

    Raises:
        InputNotFoundError: the folder holds no ``results.json`` (not run, or not finished).
    """
    path = Path(folder) / RESULTS_FILE
    if not path.is_file():
        raise InputNotFoundError(f"{str(folder)!r} holds no {RESULTS_FILE}: it is not a finished "
                                 "`deita-hf eval` folder (re-run the command that writes it).")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise ConfigError(f"{path} is not valid JSON ({err}); re-run `deita-hf eval`.") from err


def check_previous_run(out: Path, identity: dict[str, Any], *, overwrite: bool) -> None:
    """Refuse an output folder that holds another evaluation (its ``run.json`` names another
    benchmark, model or settings), unless ``overwrite``.

    Args:
        out: the evaluation folder.
        identity: what identifies this run (``benchmark``, ``model``, ...).
        overwrite: reuse the folder whatever it holds.

    Raises:
        FolderKindError: the folder's run differs in any of ``identity``'s keys.
    """
    previous = out / RUN_FILE
    if not previous.is_file() or overwrite:
        return
    try:
        old = json.loads(previous.read_text(encoding="utf-8"))
    except ValueError:
        old = {}
    differs = {k: (old.get(k), v) for k, v in identity.items() if old.get(k) != v}
    if differs:
        what = "; ".join(f"{k}: {a!r} there, {b!r} now" for k, (a, b) in differs.items())
        raise FolderKindError(f"{str(out)!r} holds another evaluation ({what}). Use another "
                              "--output folder, or pass --overwrite to reuse it.")
