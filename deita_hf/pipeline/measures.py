"""The generic measures of a selection run (``scorers=["ifd:MODEL", ...]``, ``--scorer SPEC``):
built once from their specs, then each adds its column(s) to the pool before the strategy runs.

Example:
    >>> from datasets import Dataset
    >>> measures = build_scorers(["random:3"], {})
    >>> [m.column for m in measures], measure_columns(measures[0])
    (['random'], ['random'])
    >>> pool = apply_scorers(Dataset.from_dict({"instruction": ["a", "b"]}), measures,
    ...                      progress=False)
    >>> pool.column_names
    ['instruction', 'random']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from deita_hf.errors import ConfigError

if TYPE_CHECKING:
    from datasets import Dataset

__all__ = ["apply_scorers", "build_scorers", "measure_columns"]


def build_scorers(specs: Sequence[str] | None, options: dict[str, Any]) -> list[Any]:
    """The generic measure components of the ``scorers`` specs (models load lazily).

    Args:
        specs: the specs (None or empty: none).
        options: component options (``SelectionConfig.component_options()``).

    Returns:
        The components, in order.

    Raises:
        ConfigError: a bad spec, or two specs writing the same column.
    """
    if not specs:
        return []
    from deita_hf.components import SCORER_ROLE, build_component, parse_spec

    parsed = [parse_spec(SCORER_ROLE, spec) for spec in specs]  # all checked before any builds
    built = [build_component(SCORER_ROLE, p, **options) for p in parsed]
    columns = [c for m in built for c in measure_columns(m)]
    if len(set(columns)) != len(columns):
        raise ConfigError(f"Two scorers (--scorer) write the same column: {columns}.")
    return built


def measure_columns(measure: Any) -> list[str]:
    """Every column a measure writes (an InsTag tagger writes several)."""
    from deita_hf.components import component_columns

    return component_columns(measure)


def apply_scorers(pool: Dataset, measures: Sequence[Any], *, progress: bool = True,
                  output: str | None = None,
                  say: Callable[[str], None] | None = None) -> Dataset:
    """Add each measure's column to the pool (refusing to replace a column of the pool).

    LESS scorers are prepared on the whole pool first (their warm-up runs, or is reused from
    ``.NAME.less`` beside ``output``; see :mod:`deita_hf.pipeline.less_target`); one whose
    columns the pool already has leaves them as they are and only computes the target's
    features (the strategy checks that the ids match).

    Args:
        pool: the loaded pool.
        measures: :func:`build_scorers` output.
        progress: show progress bars.
        output: the output folder (where LESS warm-ups are kept beside; None: the scorer's
            default cache).
        say: where the one-line progress notes go (default: nowhere).

    Returns:
        The pool with the columns added.

    Raises:
        ConfigError: the pool already has a measure's column.
    """
    if not measures:
        return pool
    from deita_hf.components import apply_components, describe_component
    from deita_hf.pipeline.less_target import prepare_less, reuses_pool_features

    say = say or (lambda _: None)
    todo = []
    for m in measures:
        clash = [c for c in measure_columns(m) if c in pool.column_names]
        if reuses_pool_features(pool, m):
            say(f"using the pool's {m.column!r} column; {describe_component(m)} computes the "
                f"target's features")
            continue
        if clash:
            raise ConfigError(f"The pool already has a {clash[0]!r} column, which --scorer "
                              f"{describe_component(m)} would replace; drop the scorer to use "
                              f"the column, or remove it from the pool.")
        say(f"computing {describe_component(m)}")
        todo.append(m)
    prepare_less(pool, measures, output, progress=progress)
    return apply_components(pool, todo, progress=progress, label="deita-hf select")
