"""Answers that already exist: FastChat ``model_answer/*.jsonl`` and AlpacaEval ``model_outputs.json``.

``deita-hf eval --answers FILE`` judges a model's existing answers instead of generating them:

- MT-Bench (FastChat's layout, one JSON object per line): ``question_id`` and ``choices`` (the
  first choice's ``turns``: one answer per turn), as FastChat's ``gen_model_answer.py`` and
  ``deita-hf eval`` write them (``answers.jsonl``). The model's name is its ``model_id`` when
  the file has one, else the file name without ``.jsonl`` (FastChat's convention).
- Win rate (AlpacaEval's layout): a JSON array (``model_outputs.json``) or JSON Lines of
  ``instruction`` and ``output`` (``generator`` names the model; ``dataset`` is kept). Outputs
  are matched to the reference by instruction (as ``alpaca_eval`` merges them).

Example:
    >>> import json, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "model_outputs.json"
    >>> _ = path.write_text(json.dumps([{"instruction": "Hi?", "output": "Hello.", "generator": "m"}]))
    >>> read_model_outputs(path)
    ('m', {'Hi?': 'Hello.'})
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from deita_hf.errors import InputError, InputNotFoundError

__all__ = ["answers_for_questions", "read_fastchat_answers", "read_model_outputs", "read_records",
           "write_json_array"]


def _read_text(file: Path, what: str) -> str:
    """The text of ``file``, gunzipped when its name ends in ``.gz``."""
    if not file.name.lower().endswith(".gz"):
        return file.read_text(encoding="utf-8")
    import gzip

    try:
        with gzip.open(file, "rt", encoding="utf-8") as fh:
            return fh.read()
    except (OSError, EOFError) as err:
        raise InputError(f"{what} {str(file)!r} is not a readable gzip file ({err}).") from err


def read_records(path: str | os.PathLike, what: str = "--answers") -> list[dict[str, Any]]:
    """The JSON objects of a ``.json`` array or a JSON Lines file (either gzipped when the
    name ends in ``.gz``).

    Args:
        path: the file.
        what: the flag named in errors.

    Returns:
        The records.

    Raises:
        InputNotFoundError: no such file.
        InputError: a line or the file is not JSON, or a record is not an object.
    """
    file = Path(path)
    if not file.is_file():
        raise InputNotFoundError(f"{what} {str(path)!r} is not a file.")
    text = _read_text(file, what)
    if text.lstrip().startswith("["):
        try:
            records = json.loads(text)
        except ValueError as err:
            raise InputError(f"{what} {str(path)!r} is not valid JSON ({err}).") from err
        where = [f"item {i}" for i in range(len(records))]
    else:
        records, where = [], []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except ValueError as err:
                raise InputError(f"{what} {str(path)!r}, line {number}: not JSON ({err}).") from err
            where.append(f"line {number}")
    for record, place in zip(records, where):
        if not isinstance(record, dict):
            raise InputError(f"{what} {str(path)!r}, {place}: expected a JSON object, got {type(record).__name__}.")
    if not records:
        raise InputError(f"{what} {str(path)!r} holds no answers.")
    return records


def _name(records: list[dict[str, Any]], key: str, path: Path) -> str:
    names = {r.get(key) for r in records}
    if len(names) == 1 and isinstance(next(iter(names)), str) and next(iter(names)).strip():
        return str(next(iter(names)))
    return path.name.removesuffix(".gz").removesuffix(".jsonl").removesuffix(".json")


def read_fastchat_answers(path: str | os.PathLike) -> tuple[str, dict[int, list[str]]]:
    """A model's MT-Bench answers in FastChat's ``model_answer`` layout.

    Args:
        path: the JSON Lines file.

    Returns:
        ``(model name, {question_id: [turn answers]})``.

    Raises:
        InputError: a line lacks ``question_id``/``choices`` (an AlpacaEval file is named as
            such), or two records answer the same ``question_id`` (FastChat's loader would
            silently keep the last; which one to judge is the user's call).
    """
    records = read_records(path)
    answers: dict[int, list[str]] = {}
    where: dict[int, int] = {}
    for i, r in enumerate(records):
        if "choices" not in r and "instruction" in r:
            raise InputError(f"--answers {str(path)!r} is in AlpacaEval's layout (instruction, output); MT-Bench "
                             "needs FastChat's model_answer layout (question_id, choices[0].turns).")
        try:
            turns = r["choices"][0]["turns"]
            qid = int(r["question_id"])
        except (KeyError, IndexError, TypeError, ValueError):
            raise InputError(f"--answers {str(path)!r}, record {i}: FastChat answers need 'question_id' and "
                             f"'choices': [{{'turns': [...]}}]; it has {sorted(r)}.") from None
        if not isinstance(turns, list) or not all(isinstance(t, str) for t in turns):
            raise InputError(f"--answers {str(path)!r}, question {qid}: 'turns' must be a list of strings.")
        if qid in where:
            raise InputError(f"--answers {str(path)!r}: question_id {qid} is answered twice (records "
                             f"{where[qid]} and {i}); keep one answer per question.")
        answers[qid], where[qid] = list(turns), i
    return _name(records, "model_id", Path(path)), answers


def answers_for_questions(answers: dict[int, list[str]], questions: list[dict[str, Any]],
                          source: str) -> list[list[str]]:
    """The given answers of the picked questions, in their order (every turn needed).

    Raises:
        InputError: a question has no answer, or fewer answers than turns (names them).
    """
    missing = [q["question_id"] for q in questions if q["question_id"] not in answers]
    if missing:
        raise InputError(f"--answers {source!r} has no answer to {len(missing)} of the {len(questions)} "
                         f"questions (question_id {missing[:10]}).")
    short = [q["question_id"] for q in questions if len(answers[q["question_id"]]) < len(q["turns"])]
    if short:
        raise InputError(f"--answers {source!r}: questions {short[:10]} have fewer answers than turns.")
    return [list(answers[q["question_id"]][:len(q["turns"])]) for q in questions]


def read_model_outputs(path: str | os.PathLike) -> tuple[str, dict[str, str]]:
    """A model's outputs in AlpacaEval's layout, by instruction.

    Args:
        path: ``model_outputs.json`` (a JSON array) or JSON Lines with ``instruction`` and
            ``output`` (an ``input`` column is appended to the instruction after a blank line,
            as for the reference).

    Returns:
        ``(model name, {instruction: output})``; the name is the one ``generator`` when
        present, else the file name.

    Raises:
        InputError: a record lacks ``instruction``/``output``, or one instruction has two
            different outputs (a FastChat file is named as such).
    """
    records = read_records(path)
    outputs: dict[str, str] = {}
    for i, r in enumerate(records):
        if "choices" in r and "question_id" in r:
            raise InputError(f"--answers {str(path)!r} is in FastChat's model_answer layout; the win rate needs "
                             "AlpacaEval's (instruction, output), e.g. model_outputs.json.")
        instruction, output = r.get("instruction"), r.get("output")
        if not isinstance(instruction, str) or not isinstance(output, str):
            raise InputError(f"--answers {str(path)!r}, record {i}: 'instruction' and 'output' must be strings; "
                             f"it has {sorted(r)}.")
        extra = r.get("input")
        if isinstance(extra, str) and extra.strip():
            instruction = f"{instruction}\n\n{extra}"
        if outputs.get(instruction, output) != output:
            raise InputError(f"--answers {str(path)!r}: the instruction of record {i} has two different outputs.")
        outputs[instruction] = output
    return _name(records, "generator", Path(path)), outputs


def write_json_array(path: str | os.PathLike, rows: list[dict[str, Any]]) -> Path:
    """Write ``rows`` as one JSON array (``indent=2``; AlpacaEval's ``model_outputs.json`` and
    ``annotations.json`` layout), atomically.

    Args:
        path: the file to write (its folder is created).
        rows: the records.

    Returns:
        ``Path(path)``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path
