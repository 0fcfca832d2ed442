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

    Where ``fcntl`` exists the file is also ``flock``-ed while held, so the kernel releases the
    lock when its process dies (a SIGKILL leaves the file, which the next run simply locks
    again); elsewhere the file is created exclusively and a file whose pid is gone
    (:meth:`_stale`) is taken over.

    ``wait``: seconds to keep trying while another process holds the lock (default 0: fail at
    once with :class:`~deita_hf.errors.FolderInUseError`); processes that each hold the lock
    only briefly (the array tasks of one ``deita-hf score`` run) wait for each other.
    """

    def __init__(self, root: Path, name: str | None = None, *, wait: float = 0.0):
        self.path = Path(root).parent / f".{name or Path(root).name}.lock"
        self.target = Path(root)
        self.wait = float(wait)
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

    def __enter__(self) -> FolderLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = self._acquire()
        except OSError as err:  # read-only, missing permissions, a file system refusing
            raise not_writable(self.target, err) from err
        os.ftruncate(self._fd, 0)
        os.write(self._fd, str(os.getpid()).encode())
        return self

    def _acquire(self) -> int:
        import time

        deadline = time.monotonic() + self.wait
        while True:
            try:
                return self._try_acquire()
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise self._in_use() from None
                time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))

    def _try_acquire(self) -> int:
        """The locked file descriptor; BlockingIOError while another process holds the lock."""
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
                        raise BlockingIOError(self.path) from None
                    self.path.unlink(missing_ok=True)
                    continue
            fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise
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
WRITE_ERRNOS = (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT)


def not_writable(root: Path, err: OSError) -> Exception:
    from deita_hf.errors import ConfigError

    return ConfigError(f"--output {str(root)!r} cannot be written ({type(err).__name__}: "
                       f"{err.strerror or err}). Choose a folder you can write to.")


def check_writable(root: Path) -> None:
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


