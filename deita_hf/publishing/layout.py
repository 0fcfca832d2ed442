"""Write a DEITA selection as a folder in the Hugging Face Hub layout, and read it back.

The folder holds exactly::

    README.md                 dataset card (YAML ``configs:`` + how the rows were chosen)
    deita_selection.json      the selection settings, machine-readable
    data/train-*.parquet      the selected rows      (config "default")
    pool/train-*.parquet      the whole scored pool  (config "pool", optional)
    figures/*.png             score, similarity and length figures

so ``load_dataset(folder)`` and ``load_dataset(folder, "pool")`` work, and
:func:`deita_hf.publishing.push_selection` can upload it as it is.

Example:
    >>> from deita_hf.publishing import save_selection
    >>> save_selection(selected, "out/deita-6k", settings=stats, pool=pool,
    ...                include_pool=True, license="cc-by-nc-4.0")        # doctest: +SKIP
    PosixPath('out/deita-6k')
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from datasets import Dataset, load_dataset

from deita_hf.hub_layout import DATA_DIR, SELECTION_FILE, config_info, write_parquet
from deita_hf.publishing.card import build_card, card_context, example_rows
from deita_hf.publishing.figures import FIGURES, write_figures
from deita_hf.publishing.stats import columns_from_settings, selection_statistics

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

POOL_DIR = "pool"
FIGURES_DIR = "figures"
#: every top-level entry a selection folder may hold
LAYOUT_ENTRIES: tuple[str, ...] = ("README.md", SELECTION_FILE, DATA_DIR, POOL_DIR, FIGURES_DIR)


def _check_settings(settings: Any) -> dict[str, Any]:
    if not isinstance(settings, Mapping):
        raise TypeError(
            f"settings must be a dict (the selection statistics select_deita returns), got "
            f"{type(settings).__name__}."
        )
    try:
        json.dumps(settings, allow_nan=True)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"settings must be JSON-serialisable to be saved as {SELECTION_FILE}: {err}. Convert "
            f"numpy values and paths to plain numbers and strings."
        ) from err
    return dict(settings)


def _prepare_output(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{str(out)!r} is a file; pass a folder path for the selection.")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise FileExistsError(
                f"{str(out)!r} is not empty. Choose a new folder, or pass overwrite=True "
                f"(--overwrite) to replace everything in it."
            )
        resolved = out.resolve()
        if resolved in (Path.cwd().resolve(), *Path.cwd().resolve().parents, Path.home().resolve()):
            raise ValueError(
                f"Refusing to overwrite {str(out)!r}: it is the current folder, one of its parents "
                f"or the home folder. Write the selection to its own folder."
            )
        for entry in out.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    out.mkdir(parents=True, exist_ok=True)


def _default_sources(selected: Dataset, pool: Dataset | None) -> list[str] | None:
    ds = pool if pool is not None and "source" in pool.column_names else selected
    if "source" not in ds.column_names:
        return None
    return sorted({str(s) for s in ds.unique("source") if s is not None})


def _pretty_name(settings: Mapping[str, Any], n: int) -> str:
    source = settings.get("input")
    name = Path(str(source)).name if source else "a pool"
    return f"DEITA selection: {n:,} rows from {name}"


def save_selection(
    selected: Dataset,
    output_dir: str | os.PathLike,
    *,
    settings: Mapping[str, Any],
    pool: Dataset | None = None,
    include_pool: bool = False,
    license: str | None = None,
    source_datasets: Sequence[str] | None = None,
    pretty_name: str | None = None,
    tags: Sequence[str] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a selection as a Hub-layout folder with its card, settings and figures.

    Args:
        selected: the rows ``select_deita`` kept (every original column plus the scores,
            ``embedding``, ``deita_score`` and ``deita_rank``).
        output_dir: the folder to write; it must be new or empty unless ``overwrite``.
        settings: the selection's settings and statistics (JSON-serialisable), written to
            ``deita_selection.json`` and shown in the card.
        pool: the whole scored pool, for pool-vs-selection statistics (and for ``pool/`` with
            ``include_pool``). Its ``deita_score`` is computed from complexity and quality
            when the column is missing.
        include_pool: also write the pool as the ``pool`` config.
        license: the license id for the card's YAML (e.g. ``"cc-by-nc-4.0"``).
        source_datasets: the pool's source datasets for the card; default: the values of the
            ``source`` column, when there is one.
        pretty_name: the card's title.
        tags: extra Hub tags (``deita`` and ``data-selection`` are always added).
        overwrite: replace everything in a non-empty ``output_dir``.

    Returns:
        The folder's path.

    Raises:
        ValueError: an empty selection, ``include_pool`` without a pool, bad settings.
        FileExistsError: ``output_dir`` is not empty and ``overwrite`` is False.

    Example:
        save_selection(selected, "out/deita-6k", settings=stats)
    """
    if not isinstance(selected, Dataset):
        raise TypeError(f"selected must be a datasets.Dataset, got {type(selected).__name__}.")
    if len(selected) == 0:
        raise ValueError(
            "The selection is empty (0 rows): nothing to save. Check the budget and the "
            "similarity threshold, and that the pool has scored rows."
        )
    if include_pool and pool is None:
        raise ValueError("include_pool=True needs the scored pool: pass pool=<Dataset>.")
    if pool is not None and len(pool) == 0:
        raise ValueError("The pool is empty (0 rows); pass the scored pool or pool=None.")
    settings = _check_settings(settings)
    out = Path(output_dir)
    columns = columns_from_settings(settings)
    stats = selection_statistics(selected, pool, settings)
    _prepare_output(out, overwrite)

    write_parquet(selected, out / DATA_DIR)
    configs = [{"name": "default", "path": f"{DATA_DIR}/train-*", "rows": len(selected)}]
    infos = {"default": config_info(out / DATA_DIR)}
    if include_pool:
        pool_out = pool
        if columns["score"] not in pool.column_names:
            pool_out = pool.add_column(columns["score"],
                                       stats["values"]["pool"]["deita_score"].tolist())
        write_parquet(pool_out, out / POOL_DIR)
        configs.append({"name": "pool", "path": f"{POOL_DIR}/train-*", "rows": len(pool)})
        infos["pool"] = config_info(out / POOL_DIR)

    written = write_figures(stats["values"], out / FIGURES_DIR, threshold=settings.get("threshold"))
    figures = [{"path": f"{FIGURES_DIR}/{p.name}", "title": FIGURES[p.name]} for p in written]

    sources = list(source_datasets) if source_datasets else _default_sources(selected, pool)
    name = pretty_name or _pretty_name(settings, len(selected))
    publishing = {"license": license, "source_datasets": sources, "pretty_name": name,
                  "tags": list(tags) if tags else None, "include_pool": include_pool,
                  "dataset_id": str(out)}
    (out / SELECTION_FILE).write_text(
        json.dumps({**settings, "publishing": publishing}, indent=2, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    context = card_context(
        settings=settings, stats=stats, figures=figures,
        examples=example_rows(selected, score_column=columns["score"]), configs=configs,
        dataset_id=str(out), pretty_name=name, license=license, folder_name=out.name,
        columns=selected.column_names,
    )
    build_card(context, source_datasets=sources, tags=tags, infos=infos).save(out / "README.md")
    return out


def _read_parquet_dir(folder: Path) -> Dataset:
    files = sorted(str(p) for p in folder.glob("*.parquet"))
    if not files:
        raise FileNotFoundError(f"No parquet files in {str(folder)!r}.")
    return load_dataset("parquet", data_files=files, split="train")


def load_folder(folder: str | os.PathLike) -> tuple[Dataset, Dataset | None, dict[str, Any]]:
    """Read a selection folder: the selected rows, the pool (or None) and the settings.

    Args:
        folder: a folder written by :func:`save_selection` or by ``deita-hf select``
            (``data/*.parquet`` + ``deita_selection.json`` at least).

    Returns:
        ``(selected, pool, settings)``.

    Raises:
        FileNotFoundError: the folder, its ``data/*.parquet`` or its settings file is missing.

    Example:
        selected, pool, settings = load_folder("out/deita-6k")
    """
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"{str(root)!r} is not a folder; pass a selection folder.")
    settings_path = root / SELECTION_FILE
    if not settings_path.is_file():
        raise FileNotFoundError(
            f"{str(root)!r} has no {SELECTION_FILE}: it is not a deita-hf selection folder "
            f"(write one with deita-hf select --output DIR or save_selection)."
        )
    if not any((root / DATA_DIR).glob("*.parquet")):
        raise FileNotFoundError(
            f"{str(root)!r} has no {DATA_DIR}/*.parquet: the selected rows are missing."
        )
    settings = json.loads(settings_path.read_text(encoding="utf-8"))
    selected = _read_parquet_dir(root / DATA_DIR)
    pool = _read_parquet_dir(root / POOL_DIR) if any((root / POOL_DIR).glob("*.parquet")) else None
    return selected, pool, settings


def complete_folder(folder: str | os.PathLike) -> Path:
    """Add the card and figures to a selection folder that lacks them (a no-op otherwise).

    A plain ``deita-hf select`` output holds only ``data/*.parquet`` and the settings; this
    rewrites it with :func:`save_selection`, keeping the publishing options stored in the
    settings file (license, tags, ...).

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
