"""One overall progress bar for a sharded score run (rows, shards, ETA), and the line that says
what a resumed run had already done.

The per-component bars of :func:`~deita_hf.components.apply_components` show one shard; this
bar counts the rows of every shard this process owns, starting at the rows of the shards
already written (a resumed run), so its rate and ETA are the run's.

Example:
    >>> bar = ShardProgress({0: 100, 1: 100, 2: 50}, done=[0], disable=True)
    >>> bar.resume_line()
    'resuming: 1 of 3 shards already scored (100 of 250 rows); 2 to score'
    >>> bar.update(1); bar.rows_done
    200
    >>> bar.close()
    >>> bar.counts.scored_shards, bar.counts.found_rows
    (2, 100)
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["ShardCounts", "ShardProgress"]


@dataclass
class ShardCounts:
    """The shards (and rows) a score run is responsible for, and how many of them it found
    already scored; the rest it scored itself. The engines fill it (``counts=``).

    Example:
        >>> c = ShardCounts()
        >>> c.record({0: 3, 1: 3, 2: 1}, done=[0])
        >>> c.scored_shards, c.scored_rows, c.resume_line()
        (2, 4, 'resuming: 1 of 3 shards already scored (3 of 7 rows); 2 to score')
    """

    shards: int = 0
    rows: int = 0
    found_shards: int = 0
    found_rows: int = 0
    #: this call wrote the output folder (False: it was already complete, or another array
    #: task writes it)
    written: bool = False

    def record(self, shard_rows: Mapping[int, int], done: Iterable[int]) -> None:
        """Record the run's shards and those already scored when it started.

        Args:
            shard_rows: shard index -> its number of rows (the shards of this run or task).
            done: the shards already scored.
        """
        found = {i for i in done if i in shard_rows}
        self.shards, self.rows = len(shard_rows), sum(shard_rows.values())
        self.found_shards, self.found_rows = len(found), sum(shard_rows[i] for i in found)

    @property
    def scored_shards(self) -> int:
        """Shards this run scored."""
        return self.shards - self.found_shards

    @property
    def scored_rows(self) -> int:
        """Rows this run scored."""
        return self.rows - self.found_rows

    def resume_line(self) -> str | None:
        """What was already done, or None for a fresh run.

        Returns:
            ``"resuming: K of N shards already scored (R of T rows); M to score"``, or
            ``"already complete: N shards, T rows; nothing to score"``.
        """
        if not self.found_shards:
            return None
        n = self.shards
        if self.found_shards == n:
            return f"already complete: {n} shards, {self.rows:,} rows; nothing to score"
        return (f"resuming: {self.found_shards} of {n} shards already scored "
                f"({self.found_rows:,} of {self.rows:,} rows); {self.scored_shards} to score")


class ShardProgress:
    """A tqdm bar over the rows of a run's shards, with the shards in its postfix.

    Args:
        shard_rows: shard index -> its number of rows (the shards this process scores).
        done: the shards already written (a resumed run); their rows start the bar.
        desc: the bar's label.
        disable: no bar (``progress=False``); :meth:`resume_line` still works.
    """

    def __init__(self, shard_rows: Mapping[int, int], done: Iterable[int] = (), *,
                 desc: str = "deita-hf score", disable: bool = False) -> None:
        from tqdm.auto import tqdm

        self.shard_rows = dict(shard_rows)
        self.done = {i for i in done if i in self.shard_rows}
        self.rows_done = sum(self.shard_rows[i] for i in self.done)
        self.total = sum(self.shard_rows.values())
        self.counts = ShardCounts()  # what was found already scored when the bar started
        self.counts.record(self.shard_rows, self.done)
        self._bar = tqdm(total=self.total, initial=self.rows_done, unit="rows", desc=desc,
                         disable=disable, file=sys.stderr, dynamic_ncols=True)
        self._postfix()
        line = self.resume_line()
        if line and not disable:
            self._bar.write(f"{desc}: {line}", file=sys.stderr)

    def _postfix(self) -> None:
        self._bar.set_postfix_str(f"shards {len(self.done)}/{len(self.shard_rows)}",
                                  refresh=False)

    def resume_line(self) -> str | None:
        """What was already done when the bar started, or None for a fresh run (see
        :meth:`ShardCounts.resume_line`)."""
        return self.counts.resume_line()

    def update(self, shard: int) -> None:
        """Count ``shard`` as written.

        Args:
            shard: the shard's index.
        """
        if shard in self.done or shard not in self.shard_rows:
            return
        self.done.add(shard)
        self.rows_done += self.shard_rows[shard]
        self._bar.update(self.shard_rows[shard])
        self._postfix()

    def close(self) -> None:
        """Close the bar."""
        self._bar.close()
