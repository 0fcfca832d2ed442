"""What ``deita-hf select --strategy rds:target=PATH --embedder rds:MODEL`` does before it
selects: the target's embeddings, from the same embedder as the pool's.

- ``target=PATH`` names rows in any format :func:`~deita_hf.data.loading.load_pool` reads
  (the authors' target files are ``messages`` rows; a ``task`` column splits them into the
  tasks RDS+ takes turns over). Rows that already hold the ``embedding`` column are used as
  they are; otherwise they are embedded with the embedder that embeds the pool
  (:func:`embed_target`), so pool and target vectors come from one model and one pooling.
- :func:`check_rds_plan` refuses, before anything loads, a missing target file, and a pool
  that would be embedded by something other than RDS+'s embedder (``rds:MODEL``), since the
  method's similarities are defined on those vectors.

Example:
    >>> from deita_hf.errors import ConfigError
    >>> from deita_hf.pipeline.rds_target import check_rds_plan
    >>> try:
    ...     check_rds_plan({"target": "missing.jsonl"}, None, pool_has_embeddings=True)
    ... except ConfigError as err:
    ...     print(str(err).split(". ")[0])
    --strategy rds:target=missing.jsonl: no such file or folder
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from deita_hf.errors import ConfigError

if TYPE_CHECKING:
    from datasets import Dataset

__all__ = ["check_rds_plan", "embed_target"]


def check_rds_plan(kwargs: dict[str, Any], embedder_spec: str | None, *,
                   pool_has_embeddings: bool) -> None:
    """Refuse a ``rds`` run that cannot work, before any model loads.

    Args:
        kwargs: the strategy's arguments.
        embedder_spec: the spec that will embed the pool (None: the pool has its column).
        pool_has_embeddings: whether the pool already has the embedding column.

    Raises:
        ConfigError: no ``target=``, a local target path that does not exist, or a pool that
            would be embedded by another kind of embedder than ``rds:MODEL``.
    """
    from deita_hf.components import parse_spec
    from deita_hf.pipeline.less_target import check_target

    check_target(kwargs, "rds")
    if not pool_has_embeddings and embedder_spec is not None \
            and parse_spec("embedding", embedder_spec).kind != "rds":
        raise ConfigError(f"Strategy 'rds' compares RDS+ embeddings, but the pool would be "
                          f"embedded by {embedder_spec!r}. Pass --embedder rds:MODEL (a base "
                          f"causal LM, e.g. rds:meta-llama/Llama-2-7b-hf), or a pool that "
                          f"already has its embeddings.")


def embed_target(kwargs: dict[str, Any], embedder: Any, *, progress: bool = True
                 ) -> tuple[dict[str, Any], str]:
    """The ``rds`` strategy's arguments with the target's embeddings ready.

    Args:
        kwargs: the strategy's arguments (``target`` a path or a ``Dataset``).
        embedder: the component that embedded the pool (None: the pool came with its column).
        progress: show progress bars.

    Returns:
        ``(kwargs, source)``: ``target`` replaced by the rows with embeddings, and where the
        target came from (for the settings).

    Raises:
        ConfigError: the target has no embeddings and no embedder is given to compute them.
    """
    from datasets import Dataset

    from deita_hf.components import apply_components, describe_component
    from deita_hf.data.loading import load_pool

    target = kwargs["target"]
    source = "<Dataset>" if isinstance(target, Dataset) else str(target)
    rows = target if isinstance(target, Dataset) else load_pool(target)
    column = kwargs.get("target_column") or kwargs.get("embedding_column") or "embedding"
    if column not in rows.column_names:
        if embedder is None:
            raise ConfigError(
                f"--strategy rds:target={source}: the target rows have no {column!r} column, and "
                f"the pool came with its embeddings, so nothing here can embed the target the "
                f"same way. Embed the target with the embedder that made the pool's "
                f"(RdsEmbedder(MODEL), column {column!r}) and pass that file.")
        print(f"deita-hf select: embedding the {len(rows)} RDS target rows ({source}) with "
              f"{describe_component(embedder)}", file=sys.stderr)
        rows = apply_components(rows, [embedder], progress=progress, label="rds target")
        if column != embedder.column:
            rows = rows.rename_column(embedder.column, column)
    return {**kwargs, "target": rows}, source
