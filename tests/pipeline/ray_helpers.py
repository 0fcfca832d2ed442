"""Components for the Ray tests: they log what they compute to files, so a test can count
model loads and scored rows across worker processes (pickled by value into the workers)."""

from __future__ import annotations

import os
import signal
from pathlib import Path


class CountingScorer:
    """Writes ``count`` = the row number; logs each ``load`` (pid) and each scored row.

    With ``kill_row`` set, the worker that first scores that row lists the finished shard
    files into ``log.finished`` and kills itself with SIGKILL (once: a marker file).
    """

    column = "count"

    def __init__(self, log: str | os.PathLike, kill_row: int | None = None,
                 shards: str | os.PathLike | None = None) -> None:
        self.log = str(log)
        self.kill_row = kill_row
        self.shards = None if shards is None else str(shards)

    def describe(self) -> dict:
        return {"name": "counting", "kind": "test", "column": self.column}

    def load(self) -> None:
        with open(self.log + ".loads", "a", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()}\n")

    def __call__(self, batch: dict, indices: list[int]) -> dict:
        with open(self.log, "a", encoding="utf-8") as fh:
            fh.write("".join(f"{i}\n" for i in indices))
        if self.kill_row is not None and self.kill_row in indices:
            try:
                os.close(os.open(self.log + ".killed", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                pass  # killed once already: this is the retry
            else:
                names = sorted(p.name for p in Path(self.shards).glob("shard-*.parquet"))
                Path(self.log + ".finished").write_text("\n".join(names), encoding="utf-8")
                os.kill(os.getpid(), signal.SIGKILL)
        return {self.column: [float(i) for i in indices]}


def read_ints(path: str | os.PathLike) -> list[int]:
    text = Path(path).read_text(encoding="utf-8") if Path(path).is_file() else ""
    return [int(x) for x in text.split()]


class AlwaysKilled(CountingScorer):
    """Kills its worker (SIGKILL) every time it is given ``kill_row``, logging each kill: a
    crash that repeats, such as running out of memory."""

    def __call__(self, batch: dict, indices: list[int]) -> dict:
        if self.kill_row in indices:
            with open(self.log + ".kills", "a", encoding="utf-8") as fh:
                fh.write(f"{os.getpid()}\n")
            os.kill(os.getpid(), signal.SIGKILL)
        return {self.column: [float(i) for i in indices]}
