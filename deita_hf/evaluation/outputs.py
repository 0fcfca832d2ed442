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

import json
import math
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from deita_hf.errors import ConfigError, FolderKindError, InputNotFoundError
from deita_hf.generation import Generator, build_generator

__all__ = ["RESULTS_FILE", "RUN_FILE", "Run", "finish_run", "json_ready", "read_results", "start_run"]

RESULTS_FILE = "results.json"
RUN_FILE = "run.json"
CARD_ROWS_FILE = "eval_results.json"
FIGURES = {"mt_bench": "mt_bench.png", "win_rate": "win_rate.png"}


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
        benchmark: ``"mt_bench"`` or ``"win_rate"``.
        model: the generator of the model under test.
        judge: the judge's generator.
        started: ISO time of the start.
    """

    dir: Path
    benchmark: str
    model: Generator
    judge: Generator
    started: str

    def write_json(self, name: str, data: Any) -> Path:
        """Write ``data`` as indented JSON (atomically: a temporary file, then a rename)."""
        path = self.dir / name
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(json_ready(data), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        return path

    def write_jsonl(self, name: str, rows: list[dict[str, Any]]) -> Path:
        """Write one JSON object per line (atomically)."""
        path = self.dir / name
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(json_ready(row), ensure_ascii=False) + "\n" for row in rows)
        os.replace(tmp, path)
        return path


def _generator(spec: Generator | str | os.PathLike, cache: Path, kwargs: dict[str, Any] | None) -> Generator:
    if isinstance(spec, Generator):
        return spec
    return build_generator(spec, cache_dir=cache, **(kwargs or {}))


def start_run(output_dir: str | os.PathLike, benchmark: str, model: Generator | str, judge: Generator | str, *,
              overwrite: bool = False, generator_kwargs: dict[str, Any] | None = None,
              extra: dict[str, Any] | None = None) -> Run:
    """Open (or resume) a run folder and build the generators (with ``DIR/cache``).

    Args:
        output_dir: the folder (created).
        benchmark: ``"mt_bench"`` or ``"win_rate"``.
        model: generator or spec of the model under test.
        judge: generator or spec of the judge.
        overwrite: accept a folder whose ``run.json`` names another model or benchmark.
        generator_kwargs: ``{"model": {...}, "judge": {...}}`` for ``build_generator``.
        extra: more identity fields for ``run.json`` (e.g. the reference data set).

    Returns:
        The :class:`Run`.

    Raises:
        FolderKindError: the folder holds a run of another model/benchmark (without ``overwrite``).
        ConfigError: a bad spec.
    """
    out = Path(output_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--output {str(out)!r} is a file; pass a folder.")
    out.mkdir(parents=True, exist_ok=True)
    kwargs = generator_kwargs or {}
    model_gen = _generator(model, out / "cache", kwargs.get("model"))
    judge_gen = _generator(judge, out / "cache", kwargs.get("judge"))
    # what the cache keys on (an endpoint's URL may change between runs; its model may not)
    identity = {"benchmark": benchmark, "model": f"{model_gen.backend}:{model_gen.model}", **(extra or {})}
    previous = out / RUN_FILE
    if previous.is_file() and not overwrite:
        try:
            old = json.loads(previous.read_text(encoding="utf-8"))
        except ValueError:
            old = {}
        differs = {k: (old.get(k), v) for k, v in identity.items() if old.get(k) != v}
        if differs:
            what = "; ".join(f"{k}: {a!r} there, {b!r} now" for k, (a, b) in differs.items())
            raise FolderKindError(f"{str(out)!r} holds another evaluation ({what}). Use another "
                                  "--output folder, or pass --overwrite to reuse it.")
    run = Run(out, benchmark, model_gen, judge_gen, datetime.now(timezone.utc).isoformat(timespec="seconds"))
    run.write_json(RUN_FILE, {**identity, "judge": judge_gen.spec, "started": run.started,
                              "model_generator": model_gen.describe(), "judge_generator": judge_gen.describe()})
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
    from deita_hf.evaluation.card import card_rows
    from deita_hf.evaluation.figures import write_run_figure

    figure = FIGURES[run.benchmark]
    results = {"benchmark": run.benchmark, "model": run.model.spec, "judge": run.judge.spec, **(extra or {}),
               "metrics": metrics, "judge_report": judge_report, "settings": settings,
               "started": run.started, "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "deita_hf_version": __version__,
               "files": {"answers": "answers.jsonl", "judgments": "judgments.jsonl", "figure": figure}}
    results = json_ready(results)
    write_run_figure(results, run.dir / figure)
    run.write_json(CARD_ROWS_FILE, card_rows(results))
    run.write_json(RESULTS_FILE, results)
    return results


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
