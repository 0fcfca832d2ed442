"""The random baseline: a uniform number per row that depends only on (seed, row index).

``value = (int.from_bytes(blake2b(f"{seed}:{index}", digest_size=8), "big") >> 11) / 2**53``:
uniform on [0, 1) with 53 random bits, the same for a row whatever the batch, shard, process or
machine, as long as the component receives the row's index (``Dataset.map(...,
with_indices=True)``, which :func:`~deita_hf.components.apply_components` always passes, with
the pool's row numbers for a shard).

Example:
    >>> from deita_hf.scoring import RandomScorer
    >>> out = RandomScorer(seed=1)({"instruction": ["a", "b"], "output": ["x", "y"]}, [0, 1])
    >>> [round(v, 6) for v in out["random"]]
    [0.321436, 0.562318]
    >>> RandomScorer(seed=1)({"instruction": ["b"], "output": ["y"]}, [1])["random"] == out["random"][1:]
    True
"""

from __future__ import annotations

import hashlib
from typing import Any

from deita_hf.errors import ConfigError
from deita_hf.scoring.baselines import require_batch

__all__ = ["RandomScorer", "uniform"]


def uniform(seed: int, index: int) -> float:
    """The uniform number in [0, 1) of row ``index`` under ``seed``."""
    digest = hashlib.blake2b(f"{seed}:{index}".encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") >> 11) / float(1 << 53)


class RandomScorer:
    """Random scores for the random-selection baseline; adds column ``random`` (a float per row).

    Args:
        seed: any integer; the same (seed, row index) always gives the same number.
        column: the output column.
    """

    def __init__(self, seed: int = 0, *, column: str = "random") -> None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"RandomScorer seed must be an integer, got {seed!r}.")
        self.seed, self.column = seed, column

    def __repr__(self) -> str:
        return f"RandomScorer(seed={self.seed})"

    def describe(self) -> dict[str, Any]:
        """What a dataset card records about this scorer."""
        return {"name": f"random:{self.seed}", "kind": "random", "column": self.column, "seed": self.seed}

    def __call__(self, batch: dict[str, list], indices: list[int] | None = None) -> dict[str, list]:
        """``{column: [uniform(seed, index) per row]}``; needs ``with_indices=True``.

        Raises:
            ConfigError: no indices (the numbers would depend on how the data is batched).
        """
        require_batch(batch, indices, "RandomScorer")
        if indices is None:
            raise ConfigError("RandomScorer needs the row indices: use Dataset.map(..., batched=True, "
                              "with_indices=True) or deita_hf.components.apply_components.")
        return {self.column: [uniform(self.seed, int(i)) for i in indices]}
