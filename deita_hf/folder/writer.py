"""The one writer of complete Hub-layout folders: :func:`write_folder` writes into a temporary
sibling, swaps it into place atomically when complete, under a lock, and recovers from a run
that was killed half-way; :func:`check_output` refuses folders that must not be replaced.

The layout's pieces and the one reader live in :mod:`deita_hf.folder.layout` (re-exported here).

Example (see :func:`write_folder` for a whole write):
    >>> import tempfile
    >>> check_output(Path(tempfile.mkdtemp()) / "new", "selection", overwrite=False).name
    'new'
"""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from deita_hf.folder.guard import (
    KILL_ENV,
    WRITE_ERRNOS,
    FolderLock,
    check_writable,
    kill_point,
    not_writable,
)
from deita_hf.folder.layout import (
    DATA_DIR,
    EVOL_FILE,
    FIGURES_DIR,
    FOLDER_KINDS,
    POOL_DIR,
    PREFERENCE_FILE,
    RANK_FILE,
    SCORE_FILE,
    SELECTION_FILE,
    config_dir,
    config_info,
    folder_kind,
    layout_card_data,
    read_folder,
    read_settings,
    write_parquet,
    write_readme,
    write_settings,
)

__all__ = [
    "DATA_DIR",
    "EVOL_FILE",
    "FIGURES_DIR",
    "FOLDER_KINDS",
    "KILL_ENV",
    "POOL_DIR",
    "PREFERENCE_FILE",
    "RANK_FILE",
    "SCORE_FILE",
    "SELECTION_FILE",
    "check_output",
    "clean_leftovers",
    "config_dir",
    "config_info",
    "folder_kind",
    "layout_card_data",
    "read_folder",
    "read_settings",
    "write_folder",
    "write_parquet",
    "write_readme",
    "write_settings",
]


# -- the one writer of complete folders --------------------------------------------------------
def check_output(root: str | os.PathLike, kind: str, *, overwrite: bool) -> Path:
    """Refuse an output folder that must not be replaced; returns it as a ``Path``.

    A missing or empty folder is fine. A folder of the same kind is replaced only with
    ``overwrite``; a folder of another kind, or with files deita_hf did not make, only with
    ``overwrite`` too (the message says what it holds). The current folder, its parents and the
    home folder are never replaced.

    Raises:
        OutputExistsError: the folder holds files and ``overwrite`` is False.
        FolderKindError: the path is a file, or a folder that must never be replaced.
        ConfigError: the folder (or its nearest existing parent) refuses new files (a probe
            file is created and removed: permissions alone say nothing for root, or on a
            read-only mount).
    """
    from deita_hf.errors import FolderKindError, OutputExistsError

    root = Path(root)
    if root.exists() and not root.is_dir():
        raise FolderKindError(f"--output {str(root)!r} is a file; pass a folder path.")
    check_writable(root)  # the folder itself when it exists: it is written into or emptied
    if not root.is_dir() or not any(root.iterdir()):
        return root
    resolved = root.resolve()
    cwd = Path.cwd().resolve()
    if resolved in (cwd, *cwd.parents, Path.home().resolve()):
        raise FolderKindError(f"Refusing to write into {str(root)!r}: it is the current folder, "
                              f"one of its parents or the home folder. Use a folder of its own.")
    found = folder_kind(root)
    if not overwrite:
        what = (f"a deita-hf {found} folder" if found else "files deita-hf did not write")
        extra = "" if found in (None, kind) else f", not a {kind} folder"
        raise OutputExistsError(f"--output {str(root)!r} is not empty: it holds {what}{extra}. Choose "
                                f"another folder, or pass --overwrite (overwrite=True) to replace "
                                f"it once the new {kind} folder is complete.")
    return root


def write_folder(
    root: str | os.PathLike,
    kind: str,
    configs: Mapping[str, Any],
    settings: Mapping[str, Any],
    *,
    body: str | Any,
    overwrite: bool = False,
    extra: Any = None,
    **card_fields: Any,
) -> Path:
    """Write a complete Hub-layout folder atomically: parquet configs, settings, README.

    Everything is written into a temporary sibling, then renamed into place; an existing folder
    (``overwrite``) is replaced only after the new one is complete, so an interrupted run
    leaves either the old folder or the new one, never a mix. A lock file beside the folder
    makes a concurrent writer fail with :class:`~deita_hf.errors.FolderInUseError`.

    Args:
        root: the output folder.
        kind: a key of :data:`FOLDER_KINDS` (names the settings file).
        configs: config name -> ``Dataset`` (or a list of finished parquet files, hard-linked
            (else copied) in as its shards; the caller removes the sources afterwards); ``"default"`` goes to ``data/``, any other to the folder of its name
            (``"pool"`` to ``pool/``), see :func:`config_dir`.
        settings: written as the kind's settings file (strict JSON).
        body: the README's Markdown body, or a callable ``body(tmp_root, infos) -> str`` called
            after the parquet files and ``extra`` are written (``infos``: config ->
            ``DatasetInfo``), returning either the body or a full README text starting with
            ``---``.
        overwrite: replace an existing folder (see :func:`check_output`).
        extra: a callable ``extra(tmp_root)`` that writes more files (figures).
        **card_fields: ``DatasetCardData`` fields for the YAML header (``tags``, ``license``).

    Returns:
        The folder's path.

    Example:
        >>> import tempfile
        >>> from datasets import Dataset
        >>> out = Path(tempfile.mkdtemp()) / "prefs"
        >>> _ = write_folder(out, "preference", {"default": Dataset.from_dict({"a": [1]})},
        ...                  {"size": 1}, body="# One pair\\n")
        >>> sorted(p.name for p in out.iterdir())
        ['README.md', 'data', 'deita_preference.json']
        >>> read_folder(out)["a"][:]
        [1]
    """
    import shutil

    from huggingface_hub import DatasetCard

    root = Path(root)
    dirs = {name: config_dir(name) for name in configs}
    with FolderLock(root):
        _recover(root)
        check_output(root, kind, overwrite=overwrite)
        tmp = root.parent / f".{root.name}.tmp-{os.getpid()}"
        try:
            tmp.mkdir(parents=True)
        except OSError as err:
            raise not_writable(root, err) from err
        try:
            for name, ds in configs.items():
                if isinstance(ds, (list, tuple)):  # finished parquet files, linked into place
                    (tmp / dirs[name]).mkdir(parents=True)
                    for i, src in enumerate(ds):
                        dst = tmp / dirs[name] / f"train-{i:05d}-of-{len(ds):05d}.parquet"
                        try:  # a hard link: the sources stay until the folder is in place
                            os.link(src, dst)
                        except OSError:
                            shutil.copyfile(src, dst)
                else:
                    write_parquet(ds, tmp / dirs[name])
                kill_point("write.config")
            write_settings(tmp, FOLDER_KINDS[kind], settings)
            if extra is not None:
                extra(tmp)
            paths = {name: f"{dirs[name]}/train-*" for name in configs}
            infos = {name: config_info(tmp / dirs[name]) for name in configs}
            text = body(tmp, infos) if callable(body) else body
            if text.startswith("---"):
                DatasetCard(text).save(tmp / "README.md")
            else:
                data = layout_card_data(paths, infos, **card_fields)
                DatasetCard(f"---\n{data.to_yaml()}\n---\n\n{text}").save(tmp / "README.md")
            kill_point("write.tmp")
            _swap(tmp, root)
        except BaseException as err:
            shutil.rmtree(tmp, ignore_errors=True)
            if isinstance(err, OSError) and err.errno in WRITE_ERRNOS:
                raise not_writable(root, err) from err
            raise
    return root


def _siblings(root: Path, kind: str) -> list[Path]:
    """Leftovers of interrupted writes of ``root``: ``.NAME.tmp-PID`` or ``.NAME.old-PID``."""
    import glob

    prefix = f".{root.name}.{kind}-"
    return sorted(p for p in root.parent.glob(f"{glob.escape(prefix)}*")
                  if p.name[len(prefix):].isdigit())


def _recover(root: Path) -> None:
    """Under the lock: undo what an interrupted (killed) write left beside ``root``.

    A write killed between the two renames of :func:`_swap` (where no atomic exchange exists)
    left no ``root`` and the previous folder as ``.NAME.old-PID``: it is put back. Temporary
    folders of killed writers are removed (only the lock holder writes them).
    """
    import shutil

    old = _siblings(root, "old")
    if old and not root.exists():
        os.replace(old[-1], root)
        old = old[:-1]
    for leftover in (*old, *_siblings(root, "tmp")):
        shutil.rmtree(leftover, ignore_errors=True)


def clean_leftovers(root: str | os.PathLike) -> None:
    """Remove what interrupted writes left beside ``root`` (see :func:`_recover`), under its
    lock; nothing happens while another process holds the lock."""
    from deita_hf.errors import DeitaError

    root = Path(root)
    if not (_siblings(root, "tmp") or _siblings(root, "old")):
        return
    try:
        with FolderLock(root):
            _recover(root)
    except DeitaError:
        pass


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``).

    Returns:
        False where the system or the file system does not support it (nothing was changed).
    """
    import sys

    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _swap(tmp: Path, root: Path) -> None:
    """Put ``tmp`` in place of ``root``, then delete the old folder.

    An existing ``root`` is exchanged with ``tmp`` in one step where the system allows it (so
    ``root`` always exists); elsewhere with two renames, the old folder kept as
    ``.NAME.old-PID`` in between (an interrupted swap is put back here, a killed one by the
    next writer, see :func:`_recover`).
    """
    import shutil

    if not root.exists():
        os.replace(tmp, root)
        kill_point("write.done")
        return
    if _exchange(tmp, root):  # tmp now holds the old folder
        old = tmp
    else:
        old = root.parent / f".{root.name}.old-{os.getpid()}"
        os.replace(root, old)
        try:
            kill_point("write.swap")
            os.replace(tmp, root)
        except BaseException:
            if not root.exists():
                os.replace(old, root)
            raise
    try:
        kill_point("write.done")
    finally:
        shutil.rmtree(old, ignore_errors=True)
