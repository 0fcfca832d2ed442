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
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping

__all__ = ["ShardProgress"]


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
        """What was already done, or None for a fresh run.

        Returns:
            ``"resuming: K of N shards already scored (R of T rows); M to score"``, or
            ``"already complete: N shards, T rows; nothing to score"``.
        """
        if not self.done:
            return None
        n = len(self.shard_rows)
        if len(self.done) == n:
            return f"already complete: {n} shards, {self.total:,} rows; nothing to score"
        return (f"resuming: {len(self.done)} of {n} shards already scored ({self.rows_done:,} of "
                f"{self.total:,} rows); {n - len(self.done)} to score")

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
