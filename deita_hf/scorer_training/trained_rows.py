"""Which prompts a scorer was trained on, so that ``scorer-eval --update-card`` never calls
an agreement on training rows "held-out".

``deita-hf scorer-train`` writes :data:`TRAINED_ROWS_FILE` into the scorer folder: the SHA-256
(first 16 hex digits) of every training prompt (the scorer prompt as the model saw it, label
not included). :func:`count_trained` counts how many rows of an evaluation set are among them.

Example:
    >>> import tempfile
    >>> from datasets import Dataset
    >>> folder = tempfile.mkdtemp()
    >>> _ = write_trained_rows(folder, Dataset.from_dict({"prompt": ["a", "b"], "score": [1.0, 2.0]}))
    >>> count_trained(folder, Dataset.from_dict({"prompt": ["b", "c"], "score": [2.0, 3.0]}))
    1
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from datasets import Dataset

from deita_hf.errors import InputError

__all__ = ["TRAINED_ROWS_FILE", "count_trained", "prompt_digest", "write_trained_rows"]

#: the file in a scorer folder listing its training prompts' digests
TRAINED_ROWS_FILE = "scorer_trained_rows.json"


def prompt_digest(prompt: str) -> str:
    """The first 16 hex digits of the SHA-256 of ``prompt`` (UTF-8).

    Args:
        prompt: a scorer prompt.

    Returns:
        The digest.
    """
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:16]


def write_trained_rows(model_dir: str | os.PathLike, rows: Dataset) -> Path:
    """Record the prompts of ``rows`` (scorer rows with a ``prompt`` column) as trained on.

    Args:
        model_dir: the scorer folder.
        rows: the rows trained on.

    Returns:
        The file written.
    """
    path = Path(model_dir) / TRAINED_ROWS_FILE
    digests = sorted({prompt_digest(p) for p in rows["prompt"]})
    path.write_text(json.dumps({"rows": len(rows), "hash": "sha256[:16] of the prompt",
                                "prompts": digests}) + "\n", encoding="utf-8")
    return path


def count_trained(model_dir: str | os.PathLike, rows: Dataset) -> int | None:
    """How many of ``rows`` (scorer rows) the scorer in ``model_dir`` was trained on.

    Args:
        model_dir: a scorer folder (or anything else: then nothing is known).
        rows: the evaluation rows.

    Returns:
        The count, or None when ``model_dir`` holds no :data:`TRAINED_ROWS_FILE`.

    Raises:
        InputError: the file is unreadable.
    """
    path = Path(model_dir) / TRAINED_ROWS_FILE
    if not path.is_file():
        return None
    try:
        trained = set(json.loads(path.read_text(encoding="utf-8"))["prompts"])
    except (ValueError, KeyError, TypeError) as err:
        raise InputError(f"{path} is not a list of trained prompts ({err}); delete it or "
                         f"re-train the scorer.") from err
    return sum(prompt_digest(p) in trained for p in rows["prompt"])
