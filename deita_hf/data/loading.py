"""Load a pool of conversations from wherever users keep it.

Example:
    >>> from deita_hf.data.loading import load_pool
    >>> len(load_pool("examples/pool.jsonl"))
    471
    >>> ds = load_pool("out/deita-6k")              # doctest: +SKIP
    >>> ds = load_pool("hkust-nlp/deita-6k-v0")     # doctest: +SKIP
"""

from __future__ import annotations

import glob
import os
import re
from pathlib import Path

from datasets import Dataset, DatasetDict, load_dataset, load_from_disk

from deita_hf.errors import InputError, InputNotFoundError
from deita_hf.runtime import offline_reason

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
    raise InputError(
        f"Cannot read {str(path)!r}: unknown file type. Accepted files: "
        f"{', '.join(sorted(FILE_BUILDERS))}; or pass a save_to_disk folder, a Hub-layout "
        f"folder or a Hub dataset id."
    )


def _first_bad_line(path: Path) -> str | None:
    """For a JSON Lines file: where the first unreadable line is, or None."""
    import gzip
    import json

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            number, seen = 0, False
            for number, raw in enumerate(fh, 1):
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as err:
                    return f"line {number} is not UTF-8 ({err.reason} at byte {err.start})"
                if not text.strip():
                    continue
                seen = True
                try:
                    value = json.loads(text)
                except json.JSONDecodeError as err:
                    return f"line {number} is not valid JSON ({err.msg}, column {err.colno})"
                if not isinstance(value, dict):
                    return f"line {number} is a JSON {type(value).__name__}, not an object"
            if number == 0 or not seen:
                return "it holds only blank lines, no rows"
    except (OSError, EOFError) as err:
        return f"it cannot be read ({err})"
    return None


def _load_file(path: Path) -> Dataset:
    """One file as a Dataset; unreadable files raise an InputError naming file and line."""
    builder = _builder_for(path)
    if path.stat().st_size == 0:
        raise InputError(f"{str(path)!r} is empty: there are no rows to read.")
    try:
        ds = load_dataset(builder, data_files=str(path), split="train")
    except Exception as err:  # noqa: BLE001 - translated into a message with file and line
        where = _first_bad_line(path) if builder == "json" else None
        cause = err.__cause__ or err.__context__ or err  # datasets wraps the reader's error
        detail = where or f"{type(cause).__name__}: {cause}"
        hint = " (one JSON object per line for .jsonl)" if builder == "json" else ""
        raise InputError(f"Cannot read {str(path)!r}: {detail}. Fix the file{hint} and run "
                         f"again.") from err
    if len(ds) == 0:
        raise InputError(f"{str(path)!r} holds no rows.")
    if builder == "json":
        _check_utf8(ds, path)
    return ds


def _check_utf8(ds: Dataset, path: Path) -> None:
    """Refuse text that is not UTF-8 now, not at the first ``map`` (Arrow's JSON reader keeps
    such bytes as they are, and decoding them later fails far from the file)."""
    import pyarrow as pa

    try:
        ds.data.table.validate(full=True)
    except pa.ArrowInvalid as err:
        where = _first_bad_line(path) or f"its text is not valid UTF-8 ({err})"
        raise InputError(f"Cannot read {str(path)!r}: {where}. Save the file as UTF-8 and run "
                         f"again.") from err


def _pick_split(dd: DatasetDict, split: str, source: str) -> Dataset:
    if split not in dd:
        raise InputError(
            f"{source!r} has splits {sorted(dd)}, not {split!r}; pass split=<one of these>."
        )
    return dd[split]


def _check_unfinished(path: Path, text: str) -> None:
    """Refuse a path whose deita_hf output is not in place: an unfinished ``deita-hf score``
    run (no folder yet, or an empty one), or a write killed between its two renames."""
    from deita_hf.errors import IncompleteFolderError

    if path.is_dir() and any(path.iterdir()):
        return
    partial = path.parent / f".{path.name}.partial"
    if (partial / "deita_score.json").is_file():
        raise IncompleteFolderError(
            f"{text!r} is an unfinished `deita-hf score` run (its shards are in {str(partial)!r}); "
            f"re-run the same command to finish it.")
    if not path.exists() and path.name and path.parent.is_dir():
        old = [p for p in path.parent.glob(f".{glob.escape(path.name)}.old-*")
               if p.name.rsplit("-", 1)[-1].isdigit()]
        if old:
            raise IncompleteFolderError(
                f"{text!r} is missing: a deita-hf write was interrupted while replacing it, and the "
                f"previous folder is {str(old[0])!r}. Re-run the command that writes it (it puts "
                f"the previous folder back first), or rename that folder to {text!r}.")


#: a selection settings file's role -> (its column key, the default column)
_SELECTION_ROLES = {"complexity": ("complexity_column", "complexity"),
                    "quality": ("quality_column", "quality"),
                    "embedder": ("embedding_column", "embedding")}


def _with_folder_provenance(ds: Dataset, folder: Path) -> Dataset:
    """Attach what a deita_hf folder's settings say computed its columns
    (:mod:`deita_hf.data.provenance`): the components of a ``deita-hf score`` folder
    (``deita_score.json``, with its engine and input), or the scorers a selection recorded."""
    from deita_hf.data.provenance import with_provenance
    from deita_hf.folder.layout import read_settings

    kind, settings = read_settings(folder)
    columns: dict[str, dict] = {}
    if kind == "scores":
        for record in settings.get("components") or ():
            if not isinstance(record, dict):
                continue
            for column in record.get("columns") or [record.get("column")]:
                if column in ds.column_names:
                    columns[column] = record
        run = {"folder": str(folder), "engine": settings.get("engine"),
               "input": settings.get("input")}
        run.update({k: settings[k] for k in ("preset", "max_length") if k in settings})
        return with_provenance(ds, columns, score_run=run)
    if kind == "selection":
        for role, record in (settings.get("scorers") or {}).items():
            key, default = _SELECTION_ROLES.get(role, (None, None))
            column = (settings.get(key) or default) if key else None
            if (isinstance(record, dict) and record.get("kind") != "precomputed"
                    and column in ds.column_names):
                columns[column] = record
        if columns or settings.get("score_run"):
            return with_provenance(ds, columns, score_run=settings.get("score_run"))
    return ds


def load_pool(source: str | os.PathLike, *, split: str = "train") -> Dataset:
    """Load a dataset from a file, a folder or the Hub.

    Args:
        source: a ``.json``/``.jsonl``/``.json(l).gz``/``.parquet``/``.csv`` file; a folder made
            by ``save_to_disk`` (a ``Dataset`` or ``DatasetDict``); a folder in the Hub layout
            (e.g. the output of ``deita-hf select``); or a Hub dataset id.
        split: the split to return from folders, DatasetDicts and Hub repos.

    Returns:
        The ``Dataset``. Read from a ``deita-hf score`` or ``deita-hf select`` folder, it
        carries what computed its score and embedding columns
        (:func:`deita_hf.data.provenance.column_provenance`).

    Raises:
        FileNotFoundError: ``source`` looks like a local path but does not exist.
        ValueError: unknown file type or missing split.
    """
    path = Path(source)
    text = str(source)
    if path.is_file():
        return _load_file(path)
    _check_unfinished(path, text)
    if path.is_dir():
        from deita_hf.folder.layout import folder_kind, read_folder

        if folder_kind(path) is not None:  # a folder deita_hf wrote: the one reader
            return _with_folder_provenance(read_folder(path), path)
        if (path / "state.json").is_file() or (path / "dataset_dict.json").is_file():
            loaded = load_from_disk(str(path))
            return loaded if isinstance(loaded, Dataset) else _pick_split(loaded, split, text)
        try:
            loaded = load_dataset(str(path))
        except Exception as err:  # noqa: BLE001 - no data files, unreadable files
            raise InputError(
                f"Cannot read the folder {text!r} as a dataset ({type(err).__name__}: {err}). "
                f"Pass a folder written by deita-hf or save_to_disk, a folder of "
                f"{'/'.join(sorted(FILE_BUILDERS))} files, or one file.") from err
        return _pick_split(loaded, split, text)
    is_hub_id = re.fullmatch(r"[\w.-]+(/[\w.-]+)?", text) is not None
    if not is_hub_id or text.startswith(".") or text.lower().endswith(tuple(FILE_BUILDERS)):
        raise InputNotFoundError(
            f"{text!r} does not exist. Pass an existing file or folder, or a Hub dataset id "
            f"like 'user/name'."
        )
    try:
        loaded = load_dataset(text)
    except Exception as err:  # network or auth errors from the Hub
        offline = offline_reason("datasets")
        raise InputError(
            f"Could not load {text!r} as a Hub dataset id ({type(err).__name__}: {err}). "
            f"{f'The Hub is unreachable here: {offline}. ' if offline else ''}"
            f"Check the id and your network/token, or pass a local file or folder."
        ) from err
    return _pick_split(loaded, split, text)
