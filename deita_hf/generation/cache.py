"""On-disk cache of generations: one SQLite file, safe to share between processes.

A key is the sha256 of the canonical JSON of (backend, model, sampling parameters, input), so
a cached text is reused only for the very same request. Failures are never stored.

Example:
    >>> import tempfile, os
    >>> from deita_hf.generation import GenerationCache, GenerationParams, cache_key
    >>> key = cache_key("openai", "my-model", GenerationParams(), "Say hi.")
    >>> len(key)
    64
    >>> with GenerationCache(os.path.join(tempfile.mkdtemp(), "gen.sqlite")) as cache:
    ...     cache.put(key, "hi")
    ...     list(cache.get_many([key, "0" * 64]).values()), len(cache)
    (['hi'], 1)
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from deita_hf.generation.params import GenerationParams

__all__ = ["CACHE_FILENAME", "GenerationCache", "cache_key"]

#: file name of the cache inside a generator's ``cache_dir``
CACHE_FILENAME = "generations.sqlite"

_SCHEMA = "CREATE TABLE IF NOT EXISTS generations (key TEXT PRIMARY KEY, text TEXT NOT NULL, created REAL)"
_CHUNK = 500  # keys per SELECT (SQLite's default bound-parameter limit is 999 on old builds)


def cache_key(backend: str, model: str, params: GenerationParams | Mapping[str, Any],
              item: str | Sequence[Mapping[str, str]]) -> str:
    """The cache key of one request.

    Args:
        backend: backend name (``"transformers"``, ``"vllm"``, ``"openai"``).
        model: model path, Hub id or served model name.
        params: the sampling parameters (or their ``to_dict()``).
        item: a raw prompt string or a list of ``{"role", "content"}`` messages.

    Returns:
        64 hex characters: sha256 of the canonical JSON (sorted keys, no spaces, UTF-8) of
        ``{"backend", "model", "params", "input"}``; stable across runs, processes and machines.

    Example:
        >>> from deita_hf.generation import GenerationParams, cache_key
        >>> cache_key("hf", "m", GenerationParams(), "x") == cache_key("hf", "m", GenerationParams(), "y")
        False
    """
    p = params.to_dict() if isinstance(params, GenerationParams) else dict(params)
    if not isinstance(item, str):
        item = [{"role": m["role"], "content": m["content"]} for m in item]
    payload = {"backend": backend, "model": model, "params": p, "input": item}
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class GenerationCache:
    """Key -> generated text, in one SQLite file (WAL mode; several processes may share it).

    The connection opens lazily and again after a ``fork`` or unpickling (a pickled cache
    holds only its path), so a generator holding a cache works in ``Dataset.map(num_proc=)``.

    Args:
        path: the SQLite file (created with its parent folders).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._pid = -1
        self._lock = threading.Lock()

    def _db(self) -> sqlite3.Connection:
        if self._conn is None or self._pid != os.getpid():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), timeout=60.0, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(_SCHEMA)
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    def get_many(self, keys: Iterable[str]) -> dict[str, str]:
        """Look keys up.

        Args:
            keys: cache keys (see :func:`cache_key`).

        Returns:
            ``{key: text}`` for the keys that are cached (missing keys are absent).
        """
        keys = list(dict.fromkeys(keys))
        found: dict[str, str] = {}
        with self._lock:
            db = self._db()
            for start in range(0, len(keys), _CHUNK):
                chunk = keys[start:start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = db.execute(f"SELECT key, text FROM generations WHERE key IN ({marks})", chunk)
                found.update(rows.fetchall())
        return found

    def get(self, key: str) -> str | None:
        """The cached text of ``key``, or None."""
        return self.get_many([key]).get(key)

    def put(self, key: str, text: str) -> None:
        """Store (or replace) one text; committed at once, so a killed run keeps it.

        Args:
            key: cache key.
            text: the generated text (a string; failures are not cached).
        """
        if not isinstance(text, str):
            raise TypeError(f"GenerationCache stores strings only, got {type(text).__name__}.")
        with self._lock:
            self._db().execute("INSERT OR REPLACE INTO generations (key, text, created) VALUES (?, ?, ?)",
                               (key, text, time.time()))

    def __len__(self) -> int:
        with self._lock:
            return self._db().execute("SELECT COUNT(*) FROM generations").fetchone()[0]

    def close(self) -> None:
        """Close the connection (it reopens on the next use)."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def __enter__(self) -> GenerationCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"])

    def __repr__(self) -> str:
        return f"GenerationCache({str(self.path)!r})"
