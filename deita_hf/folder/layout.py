"""The Hub dataset layout, read and written piece by piece: file names, parquet shards, the
README whose YAML ``configs`` and ``dataset_info`` make ``datasets.load_dataset(folder)`` find
them, settings files, and the one reader of the folders deita_hf writes (:func:`read_folder`).

Complete folders are written by :func:`deita_hf.folder.writer.write_folder` (atomic, locked), which
builds on these pieces. ``dataset_info`` (features, row count, sizes) is read back from the
written parquet files, because ``datasets`` keys its cache of a local folder on the folder name
and the README's ``configs``/``dataset_info`` only: without it, a folder rewritten under the same
name would load the rows cached from its previous contents.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from datasets import Dataset, load_dataset
    >>> root = Path(tempfile.mkdtemp())
    >>> _ = write_parquet(Dataset.from_dict({"a": [1, 2, 3]}), root / DATA_DIR)
    >>> write_readme(root, "# Three rows\\n").name
    'README.md'
    >>> load_dataset(str(root), split="train")["a"][:]
    [1, 2, 3]
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "DATA_DIR",
    "EMBEDDINGS_CONFIG",
    "EVOL_FILE",
    "FIGURES_DIR",
    "FOLDER_KINDS",
    "POOL_DIR",
    "PREFERENCE_FILE",
    "RANK_FILE",
    "SCORE_FILE",
    "SELECTION_FILE",
    "VECTOR_COLUMNS",
    "config_dir",
    "config_info",
    "float32_vectors",
    "folder_kind",
    "layout_card_data",
    "read_folder",
    "read_settings",
    "write_parquet",
    "write_readme",
    "write_settings",
]

#: folder of the default config's parquet shards
DATA_DIR = "data"
#: folder of the whole scored pool (config "pool") of a selection
POOL_DIR = "pool"
#: folder of a selection's figures
FIGURES_DIR = "figures"
#: settings written by ``deita-hf select`` / :func:`deita_hf.hub.save_selection`
SELECTION_FILE = "deita_selection.json"
#: settings written by ``deita-hf preference``
PREFERENCE_FILE = "deita_preference.json"
#: settings and progress of ``deita-hf score``
SCORE_FILE = "deita_score.json"
#: settings written by ``deita-hf evol``
EVOL_FILE = "deita_evol.json"
#: settings written by ``deita-hf rank``
RANK_FILE = "deita_rank.json"

#: config (and folder) of a selection's vector columns, kept out of the training rows
EMBEDDINGS_CONFIG = "embeddings"
#: vector columns the package writes (embedders: ``embedding``; LESS: ``less_grad``): stored as
#: float32 in every folder, and kept out of a selection's default config
VECTOR_COLUMNS: tuple[str, ...] = ("embedding", "less_grad")

#: folder kind -> its settings file
FOLDER_KINDS = {"selection": SELECTION_FILE, "scores": SCORE_FILE, "preference": PREFERENCE_FILE,
                "evol": EVOL_FILE, "rank": RANK_FILE}

_MAX_SHARD_BYTES = 500 * 1024 * 1024


def config_dir(config: str) -> str:
    """The folder of a config's shards: ``data`` for ``"default"``, else the config's own name.

    Example:
        >>> config_dir("default"), config_dir("pool"), config_dir("scorer")
        ('data', 'pool', 'scorer')
    """
    import re

    from deita_hf.errors import ConfigError

    if config == "default":
        return DATA_DIR
    if not isinstance(config, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", config) \
            or config in (DATA_DIR, FIGURES_DIR):
        raise ConfigError(f"Bad config name {config!r}: use letters, digits, '_' or '-', starting "
                          f"with a letter (not {DATA_DIR!r} or {FIGURES_DIR!r}).")
    return config


def float32_vectors(ds, columns=VECTOR_COLUMNS):
    """``ds`` with its float64 vector ``columns`` (those present) cast to float32 lists.

    Embeddings are stored as float32 (half the bytes of Python floats' float64); other columns,
    and vector columns already float32 (or float16), are left as they are.

    Args:
        ds: a ``datasets.Dataset``.
        columns: the vector columns' names.

    Returns:
        The dataset (the same object when nothing was float64).

    Example:
        >>> from datasets import Dataset
        >>> ds = float32_vectors(Dataset.from_dict({"embedding": [[0.6, 0.8]], "x": [[1.0]]}))
        >>> ds.features["embedding"].feature.dtype, ds.features["x"].feature.dtype
        ('float32', 'float64')
    """
    from datasets import LargeList, List, Value

    for column in dict.fromkeys(columns):
        feature = ds.features.get(column)
        inner = getattr(feature, "feature", None)
        if isinstance(feature, (List, LargeList)) and isinstance(inner, Value) \
                and inner.dtype == "float64":
            kind = LargeList if isinstance(feature, LargeList) else List
            size = {} if kind is LargeList else {"length": feature.length}
            ds = ds.cast_column(column, kind(Value("float32"), **size))
    return ds


def write_parquet(ds, folder: str | os.PathLike, *, max_shard_bytes: int = _MAX_SHARD_BYTES) -> int:
    """Write ``ds`` as ``train-0000i-of-0000n.parquet`` shards of at most ~``max_shard_bytes``,
    replacing any parquet files already in ``folder`` (``load_dataset`` would read them too).
    Float64 :data:`VECTOR_COLUMNS` are written as float32 (:func:`float32_vectors`).

    Args:
        ds: the ``datasets.Dataset``.
        folder: the config's folder (created if missing).
        max_shard_bytes: target in-memory size of one shard.

    Returns:
        The number of shards written.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.parquet"):
        stale.unlink()
    ds = float32_vectors(ds)
    nbytes = ds.data.nbytes * len(ds) / max(ds.data.num_rows, 1)
    n = max(1, math.ceil(nbytes / max_shard_bytes))
    for i in range(n):
        shard = ds.shard(num_shards=n, index=i, contiguous=True)
        shard.to_parquet(str(folder / f"train-{i:05d}-of-{n:05d}.parquet"))
    return n


def config_info(folder: str | os.PathLike):
    """Features, row count and sizes of the parquet files in ``folder``, read from their metadata.

    Args:
        folder: a config's folder of ``*.parquet`` shards.

    Returns:
        A ``datasets.DatasetInfo`` with one ``train`` split (``num_bytes``: uncompressed size).

    Raises:
        FileNotFoundError: the folder holds no parquet file.
    """
    import pyarrow.parquet as pq
    from datasets import DatasetInfo, Features, SplitDict, SplitInfo

    files = sorted(Path(folder).glob("*.parquet"))
    if not files:
        raise FileNotFoundError(f"No parquet files in {str(folder)!r}.")
    metas = [pq.ParquetFile(f).metadata for f in files]
    rows = sum(m.num_rows for m in metas)
    nbytes = sum(m.row_group(i).total_byte_size for m in metas for i in range(m.num_row_groups))
    splits = SplitDict()
    splits.add(SplitInfo(name="train", num_bytes=nbytes, num_examples=rows))
    return DatasetInfo(
        features=Features.from_arrow_schema(pq.read_schema(files[0])), splits=splits,
        dataset_size=nbytes, download_size=sum(f.stat().st_size for f in files),
    )


def layout_card_data(configs: Mapping[str, str], infos: Mapping[str, Any], **fields: Any):
    """Card metadata with ``configs`` (``{name: "folder/train-*"}``, "default" marked default),
    their ``dataset_info`` (``{name: DatasetInfo}``), and any other ``DatasetCardData`` fields.
    """
    from datasets.info import DatasetInfosDict
    from huggingface_hub import DatasetCardData

    data = DatasetCardData(
        **fields,
        configs=[
            {"config_name": name, **({"default": True} if name == "default" else {}),
             "data_files": [{"split": "train", "path": path}]}
            for name, path in configs.items()
        ],
    )
    DatasetInfosDict(dict(infos)).to_dataset_card_data(data)
    return data


def write_readme(root: str | os.PathLike, body: str, *, configs: Mapping[str, str] | None = None,
                 **fields: Any) -> Path:
    """Write ``root/README.md``: YAML ``configs`` + ``dataset_info`` of the written shards, then
    ``body``.

    Args:
        root: the dataset folder.
        body: the card's Markdown body.
        configs: ``{config name: "folder/train-*"}`` (default: ``{"default": "data/train-*"}``);
            each folder must already hold its parquet shards.
        **fields: other ``huggingface_hub.DatasetCardData`` fields (``tags``, ``license``, ...).

    Returns:
        The README's path.
    """
    from huggingface_hub import DatasetCard

    root = Path(root)
    configs = dict(configs or {"default": f"{DATA_DIR}/train-*"})
    infos = {name: config_info(root / path.rsplit("/", 1)[0]) for name, path in configs.items()}
    data = layout_card_data(configs, infos, **fields)
    DatasetCard(f"---\n{data.to_yaml()}\n---\n\n{body}").save(root / "README.md")
    return root / "README.md"


# -- settings files ----------------------------------------------------------------------------
def _json_safe(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN/inf: written as null, never as a bare NaN token
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars
        return _json_safe(value.item())
    return value


def write_settings(root: str | os.PathLike, name: str, settings: Mapping[str, Any]) -> Path:
    """Write ``root/name`` as strict JSON (non-finite numbers become ``null``).

    Raises:
        ConfigError: a value is not JSON-serialisable (the message says which).
    """
    import json

    from deita_hf.errors import ConfigError

    path = Path(root) / name
    try:
        text = json.dumps(_json_safe(settings), indent=2, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"The settings for {name} are not JSON-serialisable: {err}. Convert "
                          f"numpy values and paths to plain numbers and strings.") from err
    path.write_text(text + "\n", encoding="utf-8")
    return path


def folder_kind(root: str | os.PathLike) -> str | None:
    """The kind (a key of :data:`FOLDER_KINDS`) of a folder deita_hf wrote, else None."""
    for kind, name in FOLDER_KINDS.items():
        if (Path(root) / name).is_file():
            return kind
    return None


def read_settings(root: str | os.PathLike) -> tuple[str | None, dict[str, Any]]:
    """``(kind, settings)`` of a folder deita_hf wrote (``(None, {})`` for any other folder)."""
    import json

    kind = folder_kind(root)
    if kind is None:
        return None, {}
    path = Path(root) / FOLDER_KINDS[kind]
    return kind, json.loads(path.read_text(encoding="utf-8"))


# -- the one reader ----------------------------------------------------------------------------
def read_folder(root: str | os.PathLike, config: str = "default", *,
                allow_partial: bool = False):
    """Read one config of a Hub-layout folder deita_hf wrote, as a ``datasets.Dataset``.

    Args:
        root: the folder.
        config: ``"default"`` (``data/``) or another config name, read from the folder of
            that name (``"pool"``: a selection's ``pool/``; ``"scorer"``: a rank folder's
            ``scorer/``).
        allow_partial: read an unfinished ``deita-hf score`` run (only the resume path does).

    Returns:
        The rows, in the order they were written. A selection folder's ``"default"`` rows come
        back with their vector columns, joined from the ``embeddings`` config (written there,
        row for row, to keep ``load_dataset(folder)`` small).

    Raises:
        IncompleteFolderError: the folder is an unfinished ``deita-hf score`` run.
        InputNotFoundError: the config's parquet files are missing.
    """
    from datasets import load_dataset

    from deita_hf.errors import IncompleteFolderError, InputNotFoundError

    root = Path(root)
    kind, settings = read_settings(root)
    if kind == "scores" and not settings.get("complete", False) and not allow_partial:
        raise IncompleteFolderError(
            f"{str(root)!r} is an unfinished `deita-hf score` run; re-run the same command to "
            f"finish it (or pass --overwrite to start over).")
    sub = config_dir(config)
    files = sorted(str(p) for p in (root / sub).glob("*.parquet"))
    if not files:
        raise InputNotFoundError(f"{str(root)!r} has no {config!r} rows ({sub}/*.parquet); it is "
                                 f"not a complete deita_hf folder.")
    ds = load_dataset("parquet", data_files=files, split="train")
    vector_files = sorted(str(p) for p in (root / EMBEDDINGS_CONFIG).glob("*.parquet"))
    if config == "default" and kind == "selection" and vector_files:
        ds = _join_vectors(ds, load_dataset("parquet", data_files=vector_files, split="train"),
                           root)
    return ds


def _join_vectors(ds, vectors, root: Path):
    """The selection's rows with the vector columns of its ``embeddings`` config beside them."""
    import numpy as np
    from datasets import concatenate_datasets

    from deita_hf.errors import InputError

    rows = np.asarray(vectors.data.column("row")) if "row" in vectors.column_names else None
    if len(vectors) != len(ds) or rows is None or not np.array_equal(rows, np.arange(len(ds))):
        raise InputError(f"{str(root)!r}: {EMBEDDINGS_CONFIG}/ does not hold one row per row of "
                         f"{DATA_DIR}/ in order (its 'row' column); rewrite the folder.")
    keep = [c for c in vectors.column_names if c not in ("row", *ds.column_names)]
    return concatenate_datasets([ds, vectors.select_columns(keep)], axis=1)


