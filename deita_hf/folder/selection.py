"""Write a DEITA selection as a folder in the Hugging Face Hub layout, and read it back.

The folder holds exactly::

    README.md                   dataset card (YAML ``configs:`` + how the rows were chosen)
    deita_selection.json        the selection settings, machine-readable
    data/train-*.parquet        the selected rows        (config "default")
    embeddings/train-*.parquet  their vector columns     (config "embeddings")
    pool/train-*.parquet        the whole scored pool    (config "pool", optional)
    figures/*.png               score, similarity and length figures

so ``load_dataset(folder)`` and ``load_dataset(folder, "pool")`` work, and
:func:`deita_hf.hub.push_selection` can upload it as it is. The default config is what
``trl.SFTTrainer`` trains on: every original column plus ``messages`` (TRL's conversational
format), without the vectors (``embedding``, ``less_grad``), which go to the ``embeddings``
config, row for row with ``data/`` (its ``row`` column is the row's position there), unless
``keep_vectors=True``. Vectors are stored as float32 everywhere.

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

from deita_hf.data.formats import FORMATS, detect_format, messages_from_batch
from deita_hf.errors import (
    ConfigError,
    FolderKindError,
    FormatError,
    InputError,
    InputNotFoundError,
)
from deita_hf.hub.card import build_card, card_context, example_rows, hub_sources, run_metadata
from deita_hf.hub.figures import FIGURES, write_figures
from deita_hf.folder.writer import (
    DATA_DIR,
    FIGURES_DIR,
    POOL_DIR,
    SELECTION_FILE,
    config_dir,
    read_folder,
    read_settings,
    write_folder,
)
from deita_hf.folder.layout import EMBEDDINGS_CONFIG, VECTOR_COLUMNS, float32_vectors
from deita_hf.hub.run_setup import settings_with_provenance
from deita_hf.folder.stats import columns_from_settings, selection_statistics

if TYPE_CHECKING:
    from deita_hf.selection.result import SelectionStats

__all__ = [
    "DATA_DIR",
    "EMBEDDINGS_CONFIG",
    "FIGURES_DIR",
    "LAYOUT_ENTRIES",
    "POOL_DIR",
    "SELECTION_FILE",
    "complete_folder",
    "load_folder",
    "save_selection",
    "training_rows",
]

#: every top-level entry a selection folder may hold
LAYOUT_ENTRIES: tuple[str, ...] = ("README.md", SELECTION_FILE, DATA_DIR, EMBEDDINGS_CONFIG,
                                   POOL_DIR, FIGURES_DIR)


def _add_messages(batch: dict[str, list], indices: list[int]) -> dict[str, list]:
    return {"messages": messages_from_batch(batch, indices=indices)}


#: where a ShareGPT pool's ``conversations`` column is kept in the training config
SHAREGPT_COLUMN = "sharegpt_conversations"


def training_rows(selected: Dataset) -> Dataset:
    """The rows with a ``messages`` column in TRL's conversational format, for ``SFTTrainer``.

    A ``messages`` column of ``{"role", "content"}`` lists is kept as it is; rows of any other
    :data:`~deita_hf.data.formats.FORMATS` format get one (from
    :func:`~deita_hf.data.formats.to_messages`) beside their original columns. Rows with a
    ``text`` column and no conversation format are left as they are (TRL trains on ``text``).
    A ShareGPT ``conversations`` column is kept whole as :data:`SHAREGPT_COLUMN`: TRL would
    read it in place of ``messages``, with the roles ``human``/``gpt`` unmapped.

    Args:
        selected: the selected rows.

    Returns:
        The rows with ``messages`` (every original column kept; ShareGPT's renamed).

    Raises:
        FormatError: a ``messages`` column not in TRL's format, rows in no conversation format
            and without ``text``, or a malformed row (the message names it).

    Example:
        >>> rows = training_rows(Dataset.from_dict({"instruction": ["2+2?"], "output": ["4"]}))
        >>> rows.column_names, rows[0]["messages"][1]
        (['instruction', 'output', 'messages'], {'role': 'assistant', 'content': '4'})
    """
    if "messages" in selected.column_names:
        first = selected[0]["messages"]
        if not (isinstance(first, list) and first and isinstance(first[0], dict)
                and {"role", "content"} <= set(first[0])):
            raise FormatError(f"Column 'messages' (row 0) is not in TRL's conversational format "
                              f"(a list of {{'role', 'content'}} dicts): {str(first)[:80]!r}. "
                              f"Rename the column before saving the selection.")
        return selected
    try:
        detect_format(selected.column_names)
    except FormatError:
        if "text" in selected.column_names:
            return selected
        raise FormatError(f"The selection's columns {selected.column_names} are in no "
                          f"conversation format ({', '.join(FORMATS)}) and have no 'text' "
                          f"column: SFTTrainer could not train on them. Rename the columns "
                          f"(e.g. to instruction/output).") from None
    rows = selected.map(_add_messages, batched=True, with_indices=True,
                        desc="Adding TRL messages")
    if "conversations" in rows.column_names:
        # TRL reads a `conversations` column in place of `messages`, with ShareGPT's roles
        # ("human", "gpt") left as they are: kept whole under another name
        rows = rows.rename_column("conversations", SHAREGPT_COLUMN)
    return rows


def _vector_rows(selected: Dataset, vectors: list[str]) -> Dataset:
    """The ``embeddings`` config: ``row`` (position in ``data/``), ``deita_rank`` if present,
    and the vector columns."""
    ids = [c for c in ("deita_rank",) if c in selected.column_names]
    out = selected.select_columns([*ids, *vectors]).flatten_indices()
    out = out.add_column("row", list(range(len(out))))
    return out.select_columns(["row", *ids, *vectors])


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
    keep_vectors: bool = False,
) -> Path:
    """Write a selection as a Hub-layout folder with its card, settings and figures.

    The folder is written by :func:`deita_hf.folder.writer.write_folder`: into a temporary
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
        keep_vectors: keep the vector columns (``embedding``, ``less_grad``, the settings'
            ``embedding_column``) in the default config; by default they go to the
            ``embeddings`` config and ``data/`` holds what ``trl.SFTTrainer`` trains on.

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

    vector_names = tuple(dict.fromkeys((*VECTOR_COLUMNS, columns["embedding"])))
    selected = float32_vectors(selected, vector_names)
    vectors = [] if keep_vectors else [c for c in vector_names if c in selected.column_names]
    train = training_rows(selected.remove_columns(vectors) if vectors else selected)
    configs = {"default": train}
    card_configs = [{"name": "default", "path": f"{DATA_DIR}/train-*", "rows": len(selected)}]
    if vectors:
        configs[EMBEDDINGS_CONFIG] = _vector_rows(selected, vectors)
        card_configs.append({"name": EMBEDDINGS_CONFIG,
                             "path": f"{config_dir(EMBEDDINGS_CONFIG)}/train-*",
                             "rows": len(selected)})
    if include_pool:
        pool_out = float32_vectors(pool, vector_names)
        if (columns["score"] not in pool.column_names
                and "deita_score" in statistics["values"]["pool"]):
            pool_out = pool_out.add_column(columns["score"],
                                       statistics["values"]["pool"]["deita_score"].tolist())
        configs["pool"] = pool_out
        card_configs.append({"name": "pool", "path": f"{POOL_DIR}/train-*", "rows": len(pool)})

    name = pretty_name or _pretty_name(merged, len(selected))
    publishing = {"license": license, "source_datasets": sources, "pretty_name": name,
                  "tags": list(tags) if tags else None, "include_pool": include_pool,
                  "keep_vectors": keep_vectors, "dataset_id": str(out)}
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
            columns=train.column_names,
        )
        return str(build_card(context, source_datasets=sources, tags=tags, infos=infos))

    return write_folder(out, "selection", configs, {**merged, "publishing": publishing},
                        body=body, extra=extra, overwrite=overwrite)


def load_folder(folder: str | os.PathLike) -> tuple[Dataset, Dataset | None, dict[str, Any]]:
    """Read a selection folder: the selected rows, the pool (or None) and the settings.

    Args:
        folder: a folder written by :func:`save_selection` or by ``deita-hf select``.

    Returns:
        ``(selected, pool, settings)``; ``selected`` holds the vector columns of the
        ``embeddings`` config too.

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
        keep_vectors=bool(options.get("keep_vectors")),
    )
