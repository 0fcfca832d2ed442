"""What ``deita-hf select --strategy less:target=PATH`` does before it selects: the warm-up
and the target's features.

- Every LESS scorer of ``--scorer less:MODEL`` is prepared on the whole pool first
  (:meth:`~deita_hf.scoring.less.LessGradientScorer.prepare`: its warm-up runs, or a finished
  one is reused) with its warm-ups kept in ``.NAME.less/`` beside the output folder
  (:func:`less_cache_dir`), unless its spec names a ``cache_dir`` or ``warmup_dir``. A pool
  that already has the features keeps them (:func:`reuses_pool_features`).
- ``target=PATH`` names rows in any format :func:`~deita_hf.data.loading.load_pool` reads.
  When they already hold features (the ``less_grad`` column) they are used as they are (the
  strategy checks their id); otherwise their SGD features are computed with the pool's LESS
  scorer (same warm-up, LoRA and projection) and handed to the strategy.

Example:
    >>> from deita_hf.pipeline.less_target import less_cache_dir
    >>> str(less_cache_dir("out/less-6k"))
    'out/.less-6k.less'
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deita_hf.errors import ConfigError

if TYPE_CHECKING:
    from datasets import Dataset

__all__ = ["check_target", "less_cache_dir", "prepare_less", "resolve_target",
           "reuses_pool_features"]


def less_cache_dir(output: str | os.PathLike) -> Path:
    """Where a selection into ``output`` keeps its LESS warm-ups: ``.NAME.less`` beside it.

    Args:
        output: the output folder.

    Returns:
        The cache folder.
    """
    out = Path(output)
    return out.parent / f".{out.name}.less"


def check_target(kwargs: dict[str, Any], strategy: str = "less") -> None:
    """Refuse a target-based spec (``less``, ``rds``) without ``target=``, or whose local
    target path does not exist (before anything loads).

    Args:
        kwargs: the strategy's arguments.
        strategy: the strategy's name, for the message.

    Raises:
        ConfigError: naming ``--strategy NAME:target=PATH``.
    """
    target = kwargs.get("target")
    what = ", or of rows with LESS features" if strategy == "less" else \
        ", with a `task` column for several tasks"
    if target is None:
        raise ConfigError(f"Strategy {strategy!r} needs the target rows: --strategy "
                          f"{strategy}:target=PATH (a file or folder of rows in any supported "
                          f"format{what}).")
    if isinstance(target, (str, os.PathLike)):
        path = Path(target).expanduser()
        looks_local = str(target).startswith(("/", ".", "~")) or path.suffix != ""
        if looks_local and not path.exists():
            raise ConfigError(f"--strategy {strategy}:target={target}: no such file or folder. "
                              f"Pass the target rows (e.g. MT-Bench-style prompts with answers, "
                              f"or a validation split) as a file or folder.")


def _less_scorers(measures: Sequence[Any]) -> list[Any]:
    return [m for m in measures if getattr(m, "kind", None) == "less"]


def reuses_pool_features(pool: Dataset, measure: Any) -> bool:
    """Whether ``measure`` is a LESS scorer whose feature columns the pool already has: the
    pool's are used (the strategy checks their id against the target's) and the scorer
    computes only the target's.

    Args:
        pool: the loaded pool.
        measure: a ``--scorer`` component.

    Returns:
        True to leave the pool's columns as they are.
    """
    from deita_hf.components import component_columns

    return getattr(measure, "kind", None) == "less" and all(
        c in pool.column_names for c in component_columns(measure))


def prepare_less(pool: Dataset, measures: Sequence[Any], output: str | os.PathLike | None, *,
                 progress: bool = True) -> None:
    """Prepare every LESS scorer among ``measures`` on the whole pool (warm-up or reuse).

    Args:
        pool: the whole pool.
        measures: the ``--scorer`` components (others are left alone).
        output: the output folder; warm-ups are kept beside it (None: the scorer's own
            ``cache_dir`` or its default).
        progress: show the trainer's progress.
    """
    for scorer in _less_scorers(measures):
        if not scorer.prepared:
            cache = scorer.cache_dir or (less_cache_dir(output) if output else None)
            scorer.prepare(pool, cache_dir=cache, progress=progress)


def resolve_target(kwargs: dict[str, Any], measures: Sequence[Any], *,
                   progress: bool = True) -> tuple[dict[str, Any], str]:
    """The ``less`` strategy's arguments with the target's features ready.

    Args:
        kwargs: the strategy's arguments (``target`` a path or a ``Dataset``).
        measures: the ``--scorer`` components (the pool's LESS scorer computes the target).
        progress: show progress bars.

    Returns:
        ``(kwargs, source)``: ``target`` replaced by the rows with features, and where the
        target came from (for the settings).

    Raises:
        ConfigError: the target has no features and no LESS scorer can compute them.
    """
    from datasets import Dataset

    from deita_hf.data.loading import load_pool

    target = kwargs["target"]
    source = "<Dataset>" if isinstance(target, Dataset) else str(target)
    rows = target if isinstance(target, Dataset) else load_pool(target)
    column = kwargs.get("target_column") or kwargs.get("features_column") or "less_grad"
    if column not in rows.column_names:
        scorers = _less_scorers(measures)
        if not scorers:
            raise ConfigError(
                f"--strategy less:target={source}: the target rows have no {column!r} features, "
                f"and no --scorer less:MODEL is given to compute them. Pass the --scorer "
                f"less:MODEL spec that made the pool's features (the pool's column is kept, the "
                f"finished warm-up reused; or add warmup_dir=DIR), or a target that holds features "
                f"(LessGradientScorer(...).target_features(rows)).")
        print(f"deita-hf select: computing LESS target features of {len(rows)} rows "
              f"({source})", file=sys.stderr)
        rows = scorers[0].target_features(rows, progress=progress)
        if column != scorers[0].column:
            rows = rows.rename_column(scorers[0].column, column)
    return {**kwargs, "target": rows}, source
