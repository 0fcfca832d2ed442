"""Write a DEITA selection as a folder in the Hugging Face Hub layout, and read it back.

The folder holds exactly::

    README.md                 dataset card (YAML ``configs:`` + how the rows were chosen)
    deita_selection.json      the selection settings, machine-readable
    data/train-*.parquet      the selected rows      (config "default")
    pool/train-*.parquet      the whole scored pool  (config "pool", optional)
    figures/*.png             score, similarity and length figures

so ``load_dataset(folder)`` and ``load_dataset(folder, "pool")`` work, and
:func:`deita_hf.hub.push_selection` can upload it as it is.

Example:
    >>> from deita_hf.hub import save_selection
    >>> save_selection(selected, "out/deita-6k", settings=stats, pool=pool,
    ...                include_pool=True, license="cc-by-nc-4.0")        # doctest: +SKIP
    PosixPath('out/deita-6k')
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datasets import Dataset

from deita_hf.errors import ConfigError, FolderKindError, InputError, InputNotFoundError
from deita_hf.hub.card import build_card, card_context, example_rows, hub_sources, run_metadata
from deita_hf.hub.figures import FIGURES, write_figures
from deita_hf.hub.folder import (
    DATA_DIR,
    FIGURES_DIR,
    POOL_DIR,
    SELECTION_FILE,
    read_folder,
    read_settings,
    write_folder,
)
from deita_hf.hub.run_setup import settings_with_provenance
from deita_hf.hub.stats import columns_from_settings, selection_statistics

if TYPE_CHECKING:
    from deita_hf.selection.result import SelectionStats

__all__ = [
    "DATA_DIR",
    "FIGURES_DIR",
    "LAYOUT_ENTRIES",
    "POOL_DIR",
    "SELECTION_FILE",
    "complete_folder",
    "load_folder",
    "save_selection",
]

#: every top-level entry a selection folder may hold
LAYOUT_ENTRIES: tuple[str, ...] = ("README.md", SELECTION_FILE, DATA_DIR, POOL_DIR, FIGURES_DIR)


def _default_sources(selected: Dataset, pool: Dataset | None) -> list[str] | None:
    ds = pool if pool is not None and "source" in pool.column_names else selected
    if "source" not in ds.column_names:
        return None
    return sorted({str(s) for s in ds.unique("source") if s is not None})


def _pretty_name(settings: Mapping[str, Any], n: int) -> str:
    source = settings.get("input")
    name = Path(str(source)).name if source else "a pool"
    strategy = settings.get("strategy") or "deita"
    label = "DEITA selection" if strategy == "deita" else f"{strategy} selection"
    return f"{label}: {n:,} rows from {name}"


def save_selection(
    selected: Dataset,
    output_dir: str | os.PathLike,
    *,
    stats: SelectionStats | None = None,
    settings: Mapping[str, Any] | None = None,
    pool: Dataset | None = None,
    include_pool: bool = False,
    license: str | None = None,
    source_datasets: Sequence[str] | None = None,
    pretty_name: str | None = None,
    tags: Sequence[str] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a selection as a Hub-layout folder with its card, settings and figures.

    The folder is written by :func:`deita_hf.hub.folder.write_folder`: into a temporary
    sibling, renamed into place when complete.

    Args:
        selected: the rows the selection kept (every original column plus the scores).
        output_dir: the folder to write; it must be new or empty unless ``overwrite``.
        stats: the :class:`~deita_hf.selection.SelectionStats` of the run
            (``select_deita(..., return_stats=True)``): its settings, the pool's scores and
            each kept row's highest similarity are taken from it.
        settings: more settings to record (``input``, ``scorers``, ``specs``, ...), merged over
            ``stats.to_dict()``; without ``stats`` the whole settings dict. Scorers it does not
            name (or names ``precomputed``) come from the rows' provenance
            (:func:`deita_hf.hub.run_setup.settings_with_provenance`); ``created_at`` and
            ``deita_hf_version`` are added when missing.
        pool: the whole scored pool, for pool-vs-selection statistics (and ``pool/`` with
            ``include_pool``).
        include_pool: also write the pool as the ``pool`` config (with its DEITA score).
        license: the license id for the card's YAML (e.g. ``"cc-by-nc-4.0"``).
        source_datasets: the pool's source datasets, as Hub dataset ids; default: the
            settings' ``input`` when it is a Hub id, and the ``source`` column's values that are
            Hub ids.
        pretty_name: the card's title.
        tags: extra Hub tags (``deita`` and ``data-selection`` are always added).
        overwrite: replace a non-empty ``output_dir`` once the new folder is complete.

    Returns:
        The folder's path.

    Raises:
        InputError: an empty selection or pool, ``include_pool`` without a pool.
        ConfigError: neither ``stats`` nor ``settings``; settings that are not a dict.
        OutputExistsError: ``output_dir`` is not empty and ``overwrite`` is False.

    Example:
        save_selection(selected, "out/deita-6k", stats=stats, pool=pool, include_pool=True)
    """
    if not isinstance(selected, Dataset):
        raise ConfigError(f"selected must be a datasets.Dataset, got {type(selected).__name__}.")
    if len(selected) == 0:
        raise InputError("The selection is empty (0 rows): nothing to save. Check the budget and "
                         "the similarity threshold, and that the pool has scored rows.")
    if include_pool and pool is None:
        raise InputError("include_pool=True needs the scored pool: pass pool=<Dataset>.")
    if pool is not None and len(pool) == 0:
        raise InputError("The pool is empty (0 rows); pass the scored pool or pool=None.")
    if settings is not None and not isinstance(settings, Mapping):
        raise ConfigError(f"settings must be a dict, got {type(settings).__name__}.")
    if stats is None and settings is None:
        raise ConfigError("save_selection needs stats=<SelectionStats> (from select_deita(..., "
                          "return_stats=True)) or settings=<dict>.")
    merged = {**(stats.to_dict() if stats is not None else {}), **(settings or {})}
    # the scorers the rows carry (deita_hf.data.provenance), unless the settings name them
    merged = run_metadata(settings_with_provenance(merged, selected, pool))
    sources = hub_sources(merged, source_datasets, _default_sources(selected, pool))
    # another strategy's pool scores (a top-k column, k-means weights) are not DEITA scores
    pool_scores = stats.pool_scores if stats is not None and stats.strategy == "deita" else None
    columns = columns_from_settings(merged)
    statistics = selection_statistics(selected, pool, merged, pool_scores=pool_scores)
    out = Path(output_dir)

    configs = {"default": selected}
    card_configs = [{"name": "default", "path": f"{DATA_DIR}/train-*", "rows": len(selected)}]
    if include_pool:
        pool_out = pool
        if (columns["score"] not in pool.column_names
                and "deita_score" in statistics["values"]["pool"]):
            pool_out = pool.add_column(columns["score"],
                                       statistics["values"]["pool"]["deita_score"].tolist())
        configs["pool"] = pool_out
        card_configs.append({"name": "pool", "path": f"{POOL_DIR}/train-*", "rows": len(pool)})

    name = pretty_name or _pretty_name(merged, len(selected))
    publishing = {"license": license, "source_datasets": sources, "pretty_name": name,
                  "tags": list(tags) if tags else None, "include_pool": include_pool,
                  "dataset_id": str(out)}
    figures: list[dict[str, str]] = []

    def extra(tmp: Path) -> None:
        written = write_figures(statistics["values"], tmp / FIGURES_DIR,
                                threshold=merged.get("threshold"))
        figures.extend({"path": f"{FIGURES_DIR}/{p.name}", "title": FIGURES[p.name]}
                       for p in written)

    def body(tmp: Path, infos: Mapping[str, Any]) -> str:
        context = card_context(
            settings=merged, stats=statistics, figures=figures,
            examples=example_rows(selected, score_column=columns["score"]), configs=card_configs,
            dataset_id=str(out), pretty_name=name, license=license, folder_name=out.name,
            columns=selected.column_names,
        )
        return str(build_card(context, source_datasets=sources, tags=tags, infos=infos))

    return write_folder(out, "selection", configs, {**merged, "publishing": publishing},
                        body=body, extra=extra, overwrite=overwrite)


def load_folder(folder: str | os.PathLike) -> tuple[Dataset, Dataset | None, dict[str, Any]]:
    """Read a selection folder: the selected rows, the pool (or None) and the settings.

    Args:
        folder: a folder written by :func:`save_selection` or by ``deita-hf select``.

    Returns:
        ``(selected, pool, settings)``.

    Raises:
        InputNotFoundError: the folder or its rows are missing.
        FolderKindError: the folder is not a selection folder.

    Example:
        selected, pool, settings = load_folder("out/deita-6k")
    """
    root = Path(folder)
    if not root.is_dir():
        raise InputNotFoundError(f"{str(root)!r} is not a folder; pass a selection folder.")
    kind, settings = read_settings(root)
    if kind is None:
        raise InputNotFoundError(
            f"{str(root)!r} has no {SELECTION_FILE}: it is not a deita-hf selection folder "
            f"(write one with deita-hf select --output DIR or save_selection).")
    if kind != "selection":
        raise FolderKindError(
            f"{str(root)!r} has no {SELECTION_FILE}: it is not a deita-hf selection folder"
            + (f" (it is a deita-hf {kind} folder)" if kind else "")
            + " (write one with deita-hf select --output DIR or save_selection).")
    selected = read_folder(root)
    pool = read_folder(root, "pool") if any((root / POOL_DIR).glob("*.parquet")) else None
    return selected, pool, settings


def complete_folder(folder: str | os.PathLike) -> Path:
    """Add the card and figures to a selection folder that lacks them (a no-op otherwise).

    Args:
        folder: the selection folder.

    Returns:
        The folder's path.

    Example:
        complete_folder("out/deita-6k")
    """
    root = Path(folder)
    if (root / "README.md").is_file() and (root / FIGURES_DIR).is_dir():
        return root
    selected, pool, settings = load_folder(root)
    options = settings.pop("publishing", None) or {}
    return save_selection(
        selected, root, settings=settings, pool=pool, include_pool=pool is not None,
        license=options.get("license"), source_datasets=options.get("source_datasets"),
        pretty_name=options.get("pretty_name"), tags=options.get("tags"), overwrite=True,
    )
