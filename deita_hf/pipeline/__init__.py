"""Pipelines that run components over a pool: score, embed, select, sample preference pairs.

- :mod:`~deita_hf.pipeline.config`: :class:`SelectionConfig` and :class:`ScoreConfig`, the
  typed options of ``deita-hf select``/``score`` (also read from ``--config`` YAML).
- :mod:`~deita_hf.pipeline.run_select`: :func:`run_selection`, the one selection flow behind
  ``deita-hf select`` and the study; :mod:`~deita_hf.pipeline.run_score`: :func:`run_scoring`,
  one interface over every scoring engine, returning a :class:`ScoreResult`.
- :mod:`~deita_hf.pipeline.selector`: :class:`DatasetSelector` (score, embed and select in a
  few lines).
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

from deita_hf.pipeline.config import ScoreConfig, SelectionConfig
from deita_hf.pipeline.preference import build_preference_dataset
from deita_hf.pipeline.ray_engine import score_on_ray
from deita_hf.pipeline.run_score import ScoreResult, run_scoring
from deita_hf.pipeline.run_select import SelectionRun, run_selection
from deita_hf.pipeline.selector import DatasetSelector
from deita_hf.pipeline.sharded import score_in_shards

__all__ = ["DatasetSelector", "ScoreConfig", "ScoreResult", "SelectionConfig", "SelectionRun",
           "build_preference_dataset", "run_scoring", "run_selection", "score_in_shards",
           "score_on_ray"]
