"""Pipelines that run components over a pool: score, embed, select, sample preference pairs.

- :mod:`~deita_hf.pipeline.selector`: :class:`DatasetSelector` (the Python API behind
  ``deita-hf select``).
- :mod:`~deita_hf.pipeline.sharded`: :func:`score_in_shards` (resumable, multi-process scoring).
- :mod:`~deita_hf.pipeline.preference`: :func:`build_preference_dataset` (DPO sets).

Example:
    >>> from deita_hf.pipeline import DatasetSelector
    >>> DatasetSelector(threshold=0.8).threshold
    0.8
"""

from deita_hf.pipeline.preference import build_preference_dataset
from deita_hf.pipeline.selector import DatasetSelector
from deita_hf.pipeline.sharded import score_in_shards

__all__ = ["DatasetSelector", "build_preference_dataset", "score_in_shards"]
