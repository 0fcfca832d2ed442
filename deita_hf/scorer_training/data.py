"""Scorer training rows: read the accepted formats into one table of prompts and labels.

Three forms are accepted (``load_scorer_rows``):

- the released ShareGPT form of ``hkust-nlp/deita-complexity-scorer-data`` /
  ``deita-quality-scorer-data``: ``{"conversations": [{"from": "human", "value": PROMPT},
  {"from": "gpt", "value": "3"}]}`` (``messages`` with ``user``/``assistant`` roles also works);
- a ``deita-hf rank`` output folder (its ``scorer`` config: ``scorer/*.parquet`` in that form);
- plain rows ``{"instruction", ["output"], "score"}``: the prompt is built with
  :data:`deita_hf.scoring.prompts.COMPLEXITY_TEMPLATE` or ``QUALITY_TEMPLATE`` (``kind``).

Every row becomes ``{"instruction", "output", "prompt", "score", "seed_id", "row"}``. A prompt
in the form of the package's template is parsed back into its fields, so that over-long prompts
can be fitted like the scorers fit them (field text cut, never the template tail); a prompt in
no known form is kept as it is (``instruction`` None).

Example:
    >>> from datasets import Dataset
    >>> rows = to_scorer_rows(Dataset.from_dict({"instruction": ["Add 2 and 3."], "score": [2]}),
    ...                       "complexity")
    >>> rows[0]["prompt"].endswith("##Query: Add 2 and 3.  \\n##Complexity: "), rows[0]["score"]
    (True, 2.0)
    >>> parse_score("7", "row 4")
    Traceback (most recent call last):
    ...
    deita_hf.errors.FormatError: row 4: score '7' is outside 1..6 (DEITA scores are 1, 2, ..., 6).
"""

from __future__ import annotations

import logging
import math
import os
import re
from pathlib import Path
from typing import Any

from datasets import Dataset

from deita_hf.errors import ConfigError, FormatError
from deita_hf.scoring.prompts import COMPLEXITY_TEMPLATE, QUALITY_TEMPLATE

__all__ = ["KINDS", "RANK_CONFIG", "TEMPLATES", "load_scorer_rows", "parse_prompt", "parse_score",
           "to_scorer_rows"]

logger = logging.getLogger(__name__)

#: scorer kind -> (template, its fields)
TEMPLATES: dict[str, tuple[str, tuple[str, ...]]] = {
    "complexity": (COMPLEXITY_TEMPLATE, ("instruction",)),
    "quality": (QUALITY_TEMPLATE, ("instruction", "output")),
}
KINDS = tuple(TEMPLATES)
#: the config (folder) of a ``deita-hf rank`` output that holds scorer rows
RANK_CONFIG = "scorer"


def _pattern(template: str) -> re.Pattern:
    parts = re.split(r"\{(\w+)\}", template)
    regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.*?)" for i, p in enumerate(parts))
    return re.compile(regex + r"\Z", re.DOTALL)


_PATTERNS = {kind: _pattern(template) for kind, (template, _) in TEMPLATES.items()}


def check_kind(kind: str) -> str:
    """``kind`` if it is ``"complexity"`` or ``"quality"``; else a ConfigError."""
    if kind not in TEMPLATES:
        raise ConfigError(f"kind={kind!r}; expected one of {KINDS}.")
    return kind


def parse_prompt(prompt: str) -> tuple[str | None, dict[str, str] | None]:
    """Which template ``prompt`` was rendered from, and its fields.

    Returns:
        ``(kind, fields)``, or ``(None, None)`` for a prompt in no known form.

    Example:
        >>> parse_prompt(COMPLEXITY_TEMPLATE.format(instruction="Hi there"))
        ('complexity', {'instruction': 'Hi there'})
        >>> parse_prompt("Rate this: hi")
        (None, None)
    """
    for kind, pattern in _PATTERNS.items():
        match = pattern.match(prompt)
        if match and TEMPLATES[kind][0].format(**match.groupdict()) == prompt:
            return kind, match.groupdict()
    return None, None


def parse_score(value: Any, where: str, *, integer: bool = True) -> float:
    """A label as a float in 1..6 (an integer when ``integer``); anything else is an error.

    Args:
        value: the label (a number, or text such as ``"3"``).
        where: names the row in the error message.
        integer: require a whole number (training targets are the tokens "1".."6").

    Raises:
        FormatError: not a number, not whole (``integer``), or outside 1..6.

    Example:
        >>> parse_score(" 5 ", "row 0"), parse_score(2.5, "row 1", integer=False)
        (5.0, 2.5)
    """
    text = value.strip() if isinstance(value, str) else value
    try:
        if isinstance(text, bool) or text is None or text == "":
            raise ValueError
        number = float(text)
    except (TypeError, ValueError):
        raise FormatError(f"{where}: score {value!r} is not a number (expected 1, 2, ..., 6).") from None
    if not math.isfinite(number) or not 1.0 <= number <= 6.0:
        raise FormatError(f"{where}: score {value!r} is outside 1..6 (DEITA scores are 1, 2, ..., 6).")
    if integer and number != int(number):
        raise FormatError(f"{where}: score {value!r} is not a whole number; a scorer learns the "
                          f"tokens '1'..'6'. Round the labels first.")
    return number


def _dialogue(turns: Any, where: str) -> tuple[str, Any]:
    """``(prompt, label)`` of a two-message conversation (ShareGPT or messages form)."""
    if not isinstance(turns, list):
        raise FormatError(f"{where}: expected a list of messages, got {type(turns).__name__}.")
    msgs = []
    for t in turns:
        if not isinstance(t, dict):
            raise FormatError(f"{where}: a message is a {type(t).__name__}, not an object.")
        role = t.get("from", t.get("role"))
        text = t.get("value", t.get("content"))
        msgs.append(({"human": "user", "gpt": "assistant"}.get(role, role), text))
    if msgs and msgs[0][0] == "system":
        msgs = msgs[1:]
    if len(msgs) != 2 or msgs[0][0] != "user" or msgs[1][0] != "assistant":
        raise FormatError(f"{where}: a scorer row is one human message (the scorer prompt) and one "
                          f"gpt message (the score), got roles {[m[0] for m in msgs]}.")
    if not isinstance(msgs[0][1], str):
        raise FormatError(f"{where}: the prompt is {type(msgs[0][1]).__name__}, not text.")
    return msgs[0][1], msgs[1][1]


def _preview(text: str | None) -> str:
    text = " ".join((text or "").split())
    return repr(text[:60] + ("..." if len(text) > 60 else ""))


def to_scorer_rows(ds: Dataset, kind: str, *, integer: bool = True) -> Dataset:
    """Normalise scorer rows of any accepted form (see the module docstring).

    Args:
        ds: the rows.
        kind: ``"complexity"`` or ``"quality"``: the template of plain rows, and the kind that
            released-form prompts must have.
        integer: labels must be whole numbers (training); ``False`` accepts any number in 1..6.

    Returns:
        A Dataset with ``instruction``, ``output`` (None when not parsed), ``prompt``, ``score``
        (float), ``seed_id`` (text or None) and ``row`` (the input row index).

    Raises:
        FormatError: unknown columns, a malformed row, a bad score (naming the row), or no row of
            this ``kind``.
    """
    template, fields = TEMPLATES[check_kind(kind)]
    cols = set(ds.column_names)
    dialogue_col = next((c for c in ("conversations", "messages") if c in cols), None)
    if dialogue_col is None and not ({"instruction", "score"} <= cols):
        raise FormatError(
            f"Cannot read scorer rows from columns {sorted(cols)}: expected 'conversations' (the "
            f"released ShareGPT form: a human prompt and a gpt score), 'messages', or plain "
            f"'instruction'{', output' if kind == 'quality' else ''} and 'score'.")
    if dialogue_col is None and kind == "quality" and "output" not in cols:
        raise FormatError(f"Quality scorer rows need an 'output' column; found {sorted(cols)}.")
    out: dict[str, list] = {k: [] for k in ("instruction", "output", "prompt", "score", "seed_id", "row")}
    other, raw = 0, 0
    seeds = ds["seed_id"] if "seed_id" in cols else None
    for i, rec in enumerate(ds):
        where = f"row {i}"
        if dialogue_col is not None:
            prompt, label = _dialogue(rec[dialogue_col], where)
            found, parsed = parse_prompt(prompt)
            if found is not None and found != kind:
                other += 1
                continue
            raw += found is None
            parsed = parsed or {}
        else:
            label = rec["score"]
            parsed = {f: rec.get(f) for f in fields}
            for f in fields:
                if not isinstance(parsed[f], str):
                    raise FormatError(f"{where}: {f!r} is {type(parsed[f]).__name__}, not text.")
            prompt = template.format(**parsed)
        try:
            score = parse_score(label, where, integer=integer)
        except FormatError as err:
            raise FormatError(f"{err} (instruction {_preview(parsed.get('instruction') or prompt)})") from None
        out["instruction"].append(parsed.get("instruction"))
        out["output"].append(parsed.get("output"))
        out["prompt"].append(prompt)
        out["score"].append(score)
        out["seed_id"].append(None if seeds is None or seeds[i] is None else str(seeds[i]))
        out["row"].append(i)
    if other:
        other_kind = next(k for k in KINDS if k != kind)
        if not out["row"]:
            raise FormatError(f"All {other} rows are {other_kind}-scorer prompts, but kind is "
                              f"{kind!r}: set kind {other_kind!r} (or --kind {other_kind}).")
        logger.warning("Skipped %d %s-scorer rows (kind is %r).", other, other_kind, kind)
    if raw:
        logger.warning("%d of %d prompts are not in the form of the package's %s template; they "
                       "are used as they are.", raw, len(out["row"]), kind)
    if not out["row"]:
        raise FormatError("No scorer rows to read: the dataset is empty.")
    return Dataset.from_dict(out)


def load_scorer_rows(source: str | os.PathLike, kind: str, *, split: str = "train",
                     integer: bool = True) -> Dataset:
    """Load scorer rows from a file, a folder (a ``deita-hf rank`` output included) or the Hub.

    Args:
        source: a json/jsonl/parquet/csv file, a ``deita-hf rank`` output folder (its ``scorer``
            config is read), any folder :func:`deita_hf.data.loading.load_pool` reads, or a Hub
            dataset id (e.g. ``hkust-nlp/deita-complexity-scorer-data``).
        kind: ``"complexity"`` or ``"quality"``.
        split: the split of Hub datasets and DatasetDict folders.
        integer: labels must be whole numbers (training).

    Returns:
        The rows of :func:`to_scorer_rows`.
    """

    from deita_hf.data.loading import load_pool

    check_kind(kind)
    from deita_hf.folder.layout import folder_kind, read_folder

    if Path(source).is_dir() and folder_kind(source) == "rank":  # the one folder reader
        ds = read_folder(source, RANK_CONFIG)
    else:
        ds = load_pool(source, split=split)
    return to_scorer_rows(ds, kind, integer=integer)
