"""The dataset card's Hub metadata, as the Hub's card conventions name it: ``size_categories``
(the Hub's buckets), ``task_categories``, ``annotations_creators``, ``source_datasets`` (Hub
dataset ids only) and the run's ``created_at`` / ``deita_hf_version``.

Example:
    >>> size_category(6000), TASK_CATEGORIES, ANNOTATIONS_CREATORS
    ('1K<n<10K', ('text-generation',), ('machine-generated',))
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["ANNOTATIONS_CREATORS", "TASK_CATEGORIES", "hub_sources", "is_hub_id",
           "run_metadata", "size_category"]

#: the Hub's task category of instruction-tuning conversations
TASK_CATEGORIES: tuple[str, ...] = ("text-generation",)
#: the scores, embeddings and the choice of rows are computed by models
ANNOTATIONS_CREATORS: tuple[str, ...] = ("machine-generated",)

_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")

_SIZE_BOUNDS = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"),
                (1_000_000_000, "100M<n<1B"), (10**10, "1B<n<10B"), (10**11, "10B<n<100B"),
                (10**12, "100B<n<1T"))


def size_category(n: int) -> str:
    """The Hub's ``size_categories`` value for ``n`` rows.

    Example:
        >>> size_category(6000)
        '1K<n<10K'
    """
    for bound, name in _SIZE_BOUNDS:
        if n < bound:
            return name
    return "n>1T"


def is_hub_id(name: Any) -> bool:
    """Whether ``name`` is a Hub dataset id (``owner/name``) and not a local path.

    Example:
        >>> is_hub_id("tatsu-lab/alpaca"), is_hub_id("data/pool.jsonl"), is_hub_id("dolly")
        (True, False, False)
    """
    from pathlib import Path

    text = str(name or "")
    return (_HUB_ID.fullmatch(text) is not None and not Path(text).exists()
            and not text.lower().endswith((".json", ".jsonl", ".parquet", ".csv", ".gz")))


def hub_sources(settings: Mapping[str, Any], given: Sequence[str] | None,
                column_values: Sequence[str] | None) -> list[str] | None:
    """The card's ``source_datasets``: Hub dataset ids only.

    Args:
        settings: the selection's settings (its ``input``: a pool read from a Hub id is one).
        given: the ids the user named (each must be a Hub id).
        column_values: the pool's ``source`` column values (those that are Hub ids are kept).

    Returns:
        The ids, or None when there is none.

    Raises:
        ConfigError: a given value is not a Hub dataset id.

    Example:
        >>> hub_sources({"input": "tatsu-lab/alpaca"}, None, ["dolly", "org/lima"])
        ['tatsu-lab/alpaca', 'org/lima']
        >>> hub_sources({"input": "pool.jsonl"}, None, ["dolly"]) is None
        True
    """
    from deita_hf.errors import ConfigError

    if given:
        for value in given:
            if not is_hub_id(value):
                raise ConfigError(
                    f"source_datasets={value!r} is not a Hub dataset id: the card's "
                    f"source_datasets lists Hub ids ('owner/name'); leave local paths out.")
        return list(dict.fromkeys(given))
    found = [str(settings.get("input"))] if is_hub_id(settings.get("input")) else []
    found += [v for v in (column_values or ()) if is_hub_id(v)]
    return list(dict.fromkeys(found)) or None


def run_metadata(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The settings with ``created_at`` (UTC, ISO 8601) and ``deita_hf_version`` filled when
    missing (``created_at`` from a ``created`` key when there is one).

    Example:
        >>> run_metadata({"created": "2026-01-02T03:04:05+00:00"})["created_at"]
        '2026-01-02T03:04:05+00:00'
    """
    from datetime import datetime, timezone

    from deita_hf import __version__

    out = dict(settings)
    if not out.get("created_at"):
        out["created_at"] = out.get("created") or datetime.now(timezone.utc).isoformat(
            timespec="seconds")
    out.setdefault("deita_hf_version", __version__)
    return out
