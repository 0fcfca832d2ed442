"""Load a pool of conversations from wherever users keep it.

Example:
    >>> from deita_hf.io import load_pool
    >>> len(load_pool("examples/pool.jsonl"))
    471
    >>> ds = load_pool("out/deita-6k")              # doctest: +SKIP
    >>> ds = load_pool("hkust-nlp/deita-6k-v0")     # doctest: +SKIP
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from datasets import Dataset, DatasetDict, load_dataset, load_from_disk

__all__ = ["FILE_BUILDERS", "load_pool"]

#: file suffix -> ``datasets`` builder name
FILE_BUILDERS = {
    ".json": "json",
    ".jsonl": "json",
    ".json.gz": "json",
    ".jsonl.gz": "json",
    ".parquet": "parquet",
    ".csv": "csv",
}


def _builder_for(path: Path) -> str:
    name = path.name.lower()
    for suffix in sorted(FILE_BUILDERS, key=len, reverse=True):
        if name.endswith(suffix):
            return FILE_BUILDERS[suffix]
    raise ValueError(
        f"Cannot read {str(path)!r}: unknown file type. Accepted files: "
        f"{', '.join(sorted(FILE_BUILDERS))}; or pass a save_to_disk folder, a Hub-layout "
        f"folder or a Hub dataset id."
    )


def _pick_split(dd: DatasetDict, split: str, source: str) -> Dataset:
    if split not in dd:
        raise ValueError(
            f"{source!r} has splits {sorted(dd)}, not {split!r}; pass split=<one of these>."
        )
    return dd[split]


def load_pool(source: str | os.PathLike, *, split: str = "train") -> Dataset:
    """Load a dataset from a file, a folder or the Hub.

    Args:
        source: a ``.json``/``.jsonl``/``.json(l).gz``/``.parquet``/``.csv`` file; a folder made
            by ``save_to_disk`` (a ``Dataset`` or ``DatasetDict``); a folder in the Hub layout
            (e.g. the output of ``deita-hf select``); or a Hub dataset id.
        split: the split to return from folders, DatasetDicts and Hub repos.

    Returns:
        The ``Dataset``.

    Raises:
        FileNotFoundError: ``source`` looks like a local path but does not exist.
        ValueError: unknown file type or missing split.
    """
    path = Path(source)
    text = str(source)
    if path.is_file():
        return load_dataset(_builder_for(path), data_files=str(path), split="train")
    if path.is_dir():
        if (path / "state.json").is_file() or (path / "dataset_dict.json").is_file():
            loaded = load_from_disk(str(path))
            return loaded if isinstance(loaded, Dataset) else _pick_split(loaded, split, text)
        loaded = load_dataset(str(path))
        return _pick_split(loaded, split, text)
    is_hub_id = re.fullmatch(r"[\w.-]+(/[\w.-]+)?", text) is not None
    if not is_hub_id or text.startswith(".") or text.lower().endswith(tuple(FILE_BUILDERS)):
        raise FileNotFoundError(
            f"{text!r} does not exist. Pass an existing file or folder, or a Hub dataset id "
            f"like 'user/name'."
        )
    try:
        loaded = load_dataset(text)
    except Exception as err:  # network or auth errors from the Hub
        raise RuntimeError(
            f"Could not load {text!r} as a Hub dataset id ({type(err).__name__}: {err}). "
            f"Check the id and your network/token, or pass a local file or folder."
        ) from err
    return _pick_split(loaded, split, text)
