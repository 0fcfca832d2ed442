"""Pipelines that run components over a pool: score, embed, select, sample preference pairs.

- :mod:`~deita_hf.pipeline.selector`: :class:`DatasetSelector` (the Python API behind
  ``deita-hf select``).
- :mod:`~deita_hf.pipeline.sharded`: :func:`score_in_shards` (resumable, multi-process scoring,
  Slurm array tasks), on :mod:`~deita_hf.pipeline.score_run` (the partial folder every engine
  shares).
- :mod:`~deita_hf.pipeline.ray_engine`: :func:`score_on_ray` (the same run on a Ray cluster;
  worker placement in :mod:`~deita_hf.pipeline.engine_plan`).
- :mod:`~deita_hf.pipeline.preference`: :func:`build_preference_dataset` (DPO sets).

Example:
    >>> from deita_hf.pipeline import DatasetSelector
    >>> DatasetSelector(threshold=0.8).threshold
    0.8
"""

from deita_hf.pipeline.preference import build_preference_dataset
from deita_hf.pipeline.ray_engine import score_on_ray
from deita_hf.pipeline.selector import DatasetSelector
from deita_hf.pipeline.sharded import score_in_shards

__all__ = ["DatasetSelector", "build_preference_dataset", "score_in_shards", "score_on_ray"]
