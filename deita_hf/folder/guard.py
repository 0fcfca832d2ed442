"""Guards of the folder writer: an exclusive lock beside a folder, a writability check, and a
testing hook that interrupts a run at a named point.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> root = Path(tempfile.mkdtemp()) / "out"
    >>> with FolderLock(root) as lock:
    ...     lock.path.name
    '.out.lock'
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

__all__ = ["KILL_ENV", "WRITE_ERRNOS", "FolderLock", "check_writable", "kill_point", "not_writable"]


class FolderLock:
    """An exclusive lock beside a folder: the file ``.NAME.lock``, holding the owner's pid.

    The lock is a :class:`filelock.FileLock` (an ``flock`` on Unix), so the kernel releases it
    when its process dies: a SIGKILL leaves the file, which the next run simply locks again.
    The owner writes its pid into the file (for the "in use" message) and removes the file when
    it is done (``filelock`` retries a lock whose file was removed while it waited).

    ``wait``: seconds to keep trying while another process holds the lock (default 0: fail at
    once with :class:`~deita_hf.errors.FolderInUseError`); processes that each hold the lock
    only briefly (the array tasks of one ``deita-hf score`` run) wait for each other.
    """

    def __init__(self, root: Path, name: str | None = None, *, wait: float = 0.0):
        self.path = Path(root).parent / f".{name or Path(root).name}.lock"
        self.target = Path(root)
        self.wait = float(wait)
        self._lock: Any = None

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

    @staticmethod
    def _write_pid(fd: int) -> None:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)

    def __enter__(self) -> FolderLock:
        from filelock import FileLock, Timeout

        lock = FileLock(self.path, timeout=self.wait, thread_local=False,
                        on_acquired=self._write_pid)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lock.acquire(poll_interval=0.05)
        except Timeout:
            raise self._in_use() from None
        except OSError as err:  # read-only, missing permissions, a file system refusing
            raise not_writable(self.target, err) from err
        self._lock = lock
        return self

    def _stale(self) -> bool:
        """True when the lock file names a process that no longer exists (a lock file left by a
        killed run; it never blocks the next one)."""
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
        if self._lock is not None:
            self._lock.release()
            self._lock = None


#: errors of a write that the user fixes by choosing another folder
WRITE_ERRNOS = (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT)


def not_writable(root: Path, err: OSError) -> Exception:
    from deita_hf.errors import ConfigError

    return ConfigError(f"--output {str(root)!r} cannot be written ({type(err).__name__}: "
                       f"{err.strerror or err}). Choose a folder you can write to.")


def check_writable(root: Path) -> None:
    """Refuse an output that cannot be written: its nearest existing parent (the temporary
    sibling and the lock go there) and, when it exists, the folder itself (it is written into or
    emptied), each checked by creating and removing a probe file (permissions alone say nothing
    for root, or on a read-only mount)."""
    import tempfile

    from deita_hf.errors import ConfigError

    parent = root.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigError(f"--output {str(root)!r}: {str(parent)!r} is not a folder.")
    for folder in (parent, root) if root.is_dir() else (parent,):
        try:
            fd, probe = tempfile.mkstemp(dir=folder, prefix=".deita-hf-probe-")
            os.close(fd)
            os.unlink(probe)
        except OSError as err:
            why = f"{type(err).__name__}: {err.strerror or err}"
            where = (f" ({why}); nothing was computed" if folder == root else
                     f": {str(folder)!r} refuses new files ({why})")
            raise ConfigError(f"--output {str(root)!r} cannot be written{where}. Choose a "
                              f"folder you can write to.") from err


#: testing hook: ``DEITA_HF_TEST_KILL_AT="POINT[#N]:SIGNAL"`` makes the process send itself
#: SIGNAL (``KILL``, ``INT``, ``STOP``, ...) the N-th time (default 1st) it reaches POINT, a
#: name passed to :func:`kill_point` (``write.config``: one config's parquet files are in the
#: temporary sibling; ``write.tmp``: the new folder is complete in its temporary
#: sibling; ``write.swap``: between the renames; ``write.done``: renamed into place, the old
#: folder not yet deleted; ``score.shard``: a shard of ``deita-hf score`` is finished (on
#: ``--engine ray``: its result reached the driver);
#: ``score.assembled``: the output is written, the partial folder not yet removed). Used by
#: ``tests/robustness`` to interrupt a run at a chosen point; unset, it costs one dict lookup.
KILL_ENV = "DEITA_HF_TEST_KILL_AT"
_kill_counts: dict[str, int] = {}


def kill_point(name: str) -> None:
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


