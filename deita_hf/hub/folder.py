"""Folders in the Hugging Face Hub dataset layout: parquet shards plus a README whose YAML
``configs`` and ``dataset_info`` make ``datasets.load_dataset(folder)`` find them.

Every folder deita_hf writes (``deita-hf score``, ``select`` and ``preference`` outputs) goes
through here, and so does every read of one: :func:`write_folder` (complete folders, written
into a temporary sibling and renamed into place, under a lock) and :func:`read_folder`. ``dataset_info`` (features, row count, sizes) is read back from the written
parquet files, because ``datasets`` keys its cache of a local folder on the folder name and the
README's ``configs``/``dataset_info`` only: without it, a folder rewritten under the same name
would load the rows cached from its previous contents.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from datasets import Dataset, load_dataset
    >>> root = Path(tempfile.mkdtemp())
    >>> _ = write_parquet(Dataset.from_dict({"a": [1, 2, 3]}), root / DATA_DIR)
    >>> write_readme(root, "# Three rows\\n").name
    'README.md'
    >>> load_dataset(str(root), split="train")["a"][:]
    [1, 2, 3]
"""

from __future__ import annotations

import errno
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "DATA_DIR",
    "FIGURES_DIR",
    "FOLDER_KINDS",
    "KILL_ENV",
    "clean_leftovers",
    "POOL_DIR",
    "folder_kind",
    "read_folder",
    "read_settings",
    "write_folder",
    "write_settings",
    "PREFERENCE_FILE",
    "EVOL_FILE",
    "RANK_FILE",
    "SCORE_FILE",
    "SELECTION_FILE",
    "config_dir",
    "config_info",
    "layout_card_data",
    "write_parquet",
    "write_readme",
]

#: folder of the default config's parquet shards
DATA_DIR = "data"
#: folder of the whole scored pool (config "pool") of a selection
POOL_DIR = "pool"
#: folder of a selection's figures
FIGURES_DIR = "figures"
#: settings written by ``deita-hf select`` / :func:`deita_hf.hub.save_selection`
SELECTION_FILE = "deita_selection.json"
#: settings written by ``deita-hf preference``
PREFERENCE_FILE = "deita_preference.json"
#: settings and progress of ``deita-hf score``
SCORE_FILE = "deita_score.json"
#: settings written by ``deita-hf evol``
EVOL_FILE = "deita_evol.json"
#: settings written by ``deita-hf rank``
RANK_FILE = "deita_rank.json"

#: folder kind -> its settings file
FOLDER_KINDS = {"selection": SELECTION_FILE, "scores": SCORE_FILE, "preference": PREFERENCE_FILE,
                "evol": EVOL_FILE, "rank": RANK_FILE}

_MAX_SHARD_BYTES = 500 * 1024 * 1024


def config_dir(config: str) -> str:
    """The folder of a config's shards: ``data`` for ``"default"``, else the config's own name.

    Example:
        >>> config_dir("default"), config_dir("pool"), config_dir("scorer")
        ('data', 'pool', 'scorer')
    """
    import re

    from deita_hf.errors import ConfigError

    if config == "default":
        return DATA_DIR
    if not isinstance(config, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", config) \
            or config in (DATA_DIR, FIGURES_DIR):
        raise ConfigError(f"Bad config name {config!r}: use letters, digits, '_' or '-', starting "
                          f"with a letter (not {DATA_DIR!r} or {FIGURES_DIR!r}).")
    return config


def write_parquet(ds, folder: str | os.PathLike, *, max_shard_bytes: int = _MAX_SHARD_BYTES) -> int:
    """Write ``ds`` as ``train-0000i-of-0000n.parquet`` shards of at most ~``max_shard_bytes``,
    replacing any parquet files already in ``folder`` (``load_dataset`` would read them too).

    Args:
        ds: the ``datasets.Dataset``.
        folder: the config's folder (created if missing).
        max_shard_bytes: target in-memory size of one shard.

    Returns:
        The number of shards written.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.parquet"):
        stale.unlink()
    nbytes = ds.data.nbytes * len(ds) / max(ds.data.num_rows, 1)
    n = max(1, math.ceil(nbytes / max_shard_bytes))
    for i in range(n):
        shard = ds.shard(num_shards=n, index=i, contiguous=True)
        shard.to_parquet(str(folder / f"train-{i:05d}-of-{n:05d}.parquet"))
    return n


def config_info(folder: str | os.PathLike):
    """Features, row count and sizes of the parquet files in ``folder``, read from their metadata.

    Args:
        folder: a config's folder of ``*.parquet`` shards.

    Returns:
        A ``datasets.DatasetInfo`` with one ``train`` split (``num_bytes``: uncompressed size).

    Raises:
        FileNotFoundError: the folder holds no parquet file.
    """
    import pyarrow.parquet as pq
    from datasets import DatasetInfo, Features, SplitDict, SplitInfo

    files = sorted(Path(folder).glob("*.parquet"))
    if not files:
        raise FileNotFoundError(f"No parquet files in {str(folder)!r}.")
    metas = [pq.ParquetFile(f).metadata for f in files]
    rows = sum(m.num_rows for m in metas)
    nbytes = sum(m.row_group(i).total_byte_size for m in metas for i in range(m.num_row_groups))
    splits = SplitDict()
    splits.add(SplitInfo(name="train", num_bytes=nbytes, num_examples=rows))
    return DatasetInfo(
        features=Features.from_arrow_schema(pq.read_schema(files[0])), splits=splits,
        dataset_size=nbytes, download_size=sum(f.stat().st_size for f in files),
    )


def layout_card_data(configs: Mapping[str, str], infos: Mapping[str, Any], **fields: Any):
    """Card metadata with ``configs`` (``{name: "folder/train-*"}``, "default" marked default),
    their ``dataset_info`` (``{name: DatasetInfo}``), and any other ``DatasetCardData`` fields.
    """
    from datasets.info import DatasetInfosDict
    from huggingface_hub import DatasetCardData

    data = DatasetCardData(
        **fields,
        configs=[
            {"config_name": name, **({"default": True} if name == "default" else {}),
             "data_files": [{"split": "train", "path": path}]}
            for name, path in configs.items()
        ],
    )
    DatasetInfosDict(dict(infos)).to_dataset_card_data(data)
    return data


def write_readme(root: str | os.PathLike, body: str, *, configs: Mapping[str, str] | None = None,
                 **fields: Any) -> Path:
    """Write ``root/README.md``: YAML ``configs`` + ``dataset_info`` of the written shards, then
    ``body``.

    Args:
        root: the dataset folder.
        body: the card's Markdown body.
        configs: ``{config name: "folder/train-*"}`` (default: ``{"default": "data/train-*"}``);
            each folder must already hold its parquet shards.
        **fields: other ``huggingface_hub.DatasetCardData`` fields (``tags``, ``license``, ...).

    Returns:
        The README's path.
    """
    from huggingface_hub import DatasetCard

    root = Path(root)
    configs = dict(configs or {"default": f"{DATA_DIR}/train-*"})
    infos = {name: config_info(root / path.rsplit("/", 1)[0]) for name, path in configs.items()}
    data = layout_card_data(configs, infos, **fields)
    DatasetCard(f"---\n{data.to_yaml()}\n---\n\n{body}").save(root / "README.md")
    return root / "README.md"


# -- settings files ----------------------------------------------------------------------------
def _json_safe(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN/inf: written as null, never as a bare NaN token
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars
        return _json_safe(value.item())
    return value


def write_settings(root: str | os.PathLike, name: str, settings: Mapping[str, Any]) -> Path:
    """Write ``root/name`` as strict JSON (non-finite numbers become ``null``).

    Raises:
        ConfigError: a value is not JSON-serialisable (the message says which).
    """
    import json

    from deita_hf.errors import ConfigError

    path = Path(root) / name
    try:
        text = json.dumps(_json_safe(settings), indent=2, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"The settings for {name} are not JSON-serialisable: {err}. Convert "
                          f"numpy values and paths to plain numbers and strings.") from err
    path.write_text(text + "\n", encoding="utf-8")
    return path


def folder_kind(root: str | os.PathLike) -> str | None:
    """The kind (a key of :data:`FOLDER_KINDS`) of a folder deita_hf wrote, else None."""
    for kind, name in FOLDER_KINDS.items():
        if (Path(root) / name).is_file():
            return kind
    return None


def read_settings(root: str | os.PathLike) -> tuple[str | None, dict[str, Any]]:
    """``(kind, settings)`` of a folder deita_hf wrote (``(None, {})`` for any other folder)."""
    import json

    kind = folder_kind(root)
    if kind is None:
        return None, {}
    path = Path(root) / FOLDER_KINDS[kind]
    return kind, json.loads(path.read_text(encoding="utf-8"))


# -- the one reader ----------------------------------------------------------------------------
def read_folder(root: str | os.PathLike, config: str = "default", *,
                allow_partial: bool = False):
    """Read one config of a Hub-layout folder deita_hf wrote, as a ``datasets.Dataset``.

    Args:
        root: the folder.
        config: ``"default"`` (``data/``) or another config name, read from the folder of
            that name (``"pool"``: a selection's ``pool/``; ``"scorer"``: a rank folder's
            ``scorer/``).
        allow_partial: read an unfinished ``deita-hf score`` run (only the resume path does).

    Returns:
        The rows, in the order they were written.

    Raises:
        IncompleteFolderError: the folder is an unfinished ``deita-hf score`` run.
        InputNotFoundError: the config's parquet files are missing.
    """
    from datasets import load_dataset

    from deita_hf.errors import IncompleteFolderError, InputNotFoundError

    root = Path(root)
    kind, settings = read_settings(root)
    if kind == "scores" and not settings.get("complete", False) and not allow_partial:
        raise IncompleteFolderError(
            f"{str(root)!r} is an unfinished `deita-hf score` run; re-run the same command to "
            f"finish it (or pass --overwrite to start over).")
    sub = config_dir(config)
    files = sorted(str(p) for p in (root / sub).glob("*.parquet"))
    if not files:
        raise InputNotFoundError(f"{str(root)!r} has no {config!r} rows ({sub}/*.parquet); it is "
                                 f"not a complete deita_hf folder.")
    return load_dataset("parquet", data_files=files, split="train")


# -- the one writer of complete folders --------------------------------------------------------
class _Lock:
    """An exclusive lock beside a folder: the file ``.NAME.lock``, holding the owner's pid.

    Where ``fcntl`` exists the file is also ``flock``-ed while held, so the kernel releases the
    lock when its process dies (a SIGKILL leaves the file, which the next run simply locks
    again); elsewhere the file is created exclusively and a file whose pid is gone
    (:meth:`_stale`) is taken over.
    """

    def __init__(self, root: Path, name: str | None = None):
        self.path = Path(root).parent / f".{name or Path(root).name}.lock"
        self.target = Path(root)
        self._fd: int | None = None

    def _in_use(self) -> Exception:
        from deita_hf.errors import FolderInUseError

        try:
            holder = f" (pid {int(self.path.read_text() or '0')})"
        except (OSError, ValueError):
            holder = ""
        return FolderInUseError(
            f"{str(self.target)!r} is in use by another deita-hf process{holder}: {self.path} is "
            f"held. Wait for that run to finish; a lock left by a process that is gone is taken "
            f"over automatically.")

    def __enter__(self) -> _Lock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = self._acquire()
        except OSError as err:  # read-only, missing permissions, a file system refusing
            raise _not_writable(self.target, err) from err
        os.ftruncate(self._fd, 0)
        os.write(self._fd, str(os.getpid()).encode())
        return self

    def _acquire(self) -> int:
        try:
            import fcntl
        except ImportError:  # no flock: an exclusive file, taken over when its pid is gone
            fcntl = None
        for _ in range(20):
            if fcntl is None:
                try:
                    return os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
                except FileExistsError:
                    if not self._stale():
                        raise self._in_use() from None
                    self.path.unlink(missing_ok=True)
                    continue
            fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise self._in_use() from None
            try:  # the holder may have released (unlinked) the file between open and flock
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                return fd
            os.close(fd)
        raise self._in_use()

    def _stale(self) -> bool:
        """True when the lock file names a process that no longer exists."""
        try:
            pid = int(self.path.read_text() or "0")
        except (OSError, ValueError):
            return False
        if pid <= 0:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False

    def __exit__(self, *exc: Any) -> None:
        self.path.unlink(missing_ok=True)
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


#: errors of a write that the user fixes by choosing another folder
_WRITE_ERRNOS = (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT)


def _not_writable(root: Path, err: OSError) -> Exception:
    from deita_hf.errors import ConfigError

    return ConfigError(f"--output {str(root)!r} cannot be written ({type(err).__name__}: "
                       f"{err.strerror or err}). Choose a folder you can write to.")


def _check_writable(root: Path) -> None:
    """Refuse an output whose folder (or nearest existing parent) cannot be written: checked by
    creating and removing a probe file there (permissions alone say nothing for root, or on a
    read-only mount)."""
    import tempfile

    from deita_hf.errors import ConfigError

    parent = root.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigError(f"--output {str(root)!r}: {str(parent)!r} is not a folder.")
    try:
        fd, probe = tempfile.mkstemp(dir=parent, prefix=".deita-hf-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise ConfigError(f"--output {str(root)!r} cannot be written: {str(parent)!r} refuses new "
                          f"files ({type(err).__name__}: {err.strerror or err}). Choose a folder "
                          f"you can write to.") from err


#: testing hook: ``DEITA_HF_TEST_KILL_AT="POINT[#N]:SIGNAL"`` makes the process send itself
#: SIGNAL (``KILL``, ``INT``, ``STOP``, ...) the N-th time (default 1st) it reaches POINT, a
#: name passed to :func:`_kill_point` (``write.config``: one config's parquet files are in the
#: temporary sibling; ``write.tmp``: the new folder is complete in its temporary
#: sibling; ``write.swap``: between the renames; ``write.done``: renamed into place, the old
#: folder not yet deleted; ``score.shard``: a shard of ``deita-hf score`` is finished;
#: ``score.assembled``: the output is written, the partial folder not yet removed). Used by
#: ``tests/robustness`` to interrupt a run at a chosen point; unset, it costs one dict lookup.
KILL_ENV = "DEITA_HF_TEST_KILL_AT"
_kill_counts: dict[str, int] = {}


def _kill_point(name: str) -> None:
    spec = os.environ.get(KILL_ENV)
    if not spec:
        return
    import signal

    where, _, sig = spec.rpartition(":")
    point, _, nth = where.partition("#")
    if point != name:
        return
    _kill_counts[name] = _kill_counts.get(name, 0) + 1
    if _kill_counts[name] == int(nth or 1):
        os.kill(os.getpid(), getattr(signal, f"SIG{sig.upper().removeprefix('SIG')}"))


def check_output(root: str | os.PathLike, kind: str, *, overwrite: bool) -> Path:
    """Refuse an output folder that must not be replaced; returns it as a ``Path``.

    A missing or empty folder is fine. A folder of the same kind is replaced only with
    ``overwrite``; a folder of another kind, or with files deita_hf did not make, only with
    ``overwrite`` too (the message says what it holds). The current folder, its parents and the
    home folder are never replaced.

    Raises:
        OutputExistsError: the folder holds files and ``overwrite`` is False.
        FolderKindError: the path is a file, or a folder that must never be replaced.
    """
    from deita_hf.errors import FolderKindError, OutputExistsError

    root = Path(root)
    if root.exists() and not root.is_dir():
        raise FolderKindError(f"--output {str(root)!r} is a file; pass a folder path.")
    _check_writable(root)
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
    with _Lock(root):
        _recover(root)
        check_output(root, kind, overwrite=overwrite)
        tmp = root.parent / f".{root.name}.tmp-{os.getpid()}"
        try:
            tmp.mkdir(parents=True)
        except OSError as err:
            raise _not_writable(root, err) from err
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
                _kill_point("write.config")
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
            _kill_point("write.tmp")
            _swap(tmp, root)
        except BaseException as err:
            shutil.rmtree(tmp, ignore_errors=True)
            if isinstance(err, OSError) and err.errno in _WRITE_ERRNOS:
                raise _not_writable(root, err) from err
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
        with _Lock(root):
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
        _kill_point("write.done")
        return
    if _exchange(tmp, root):  # tmp now holds the old folder
        old = tmp
    else:
        old = root.parent / f".{root.name}.old-{os.getpid()}"
        os.replace(root, old)
        try:
            _kill_point("write.swap")
            os.replace(tmp, root)
        except BaseException:
            if not root.exists():
                os.replace(old, root)
            raise
    try:
        _kill_point("write.done")
    finally:
        shutil.rmtree(old, ignore_errors=True)
