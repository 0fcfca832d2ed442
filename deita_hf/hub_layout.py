"""Folders in the Hugging Face Hub dataset layout: parquet shards plus a README whose YAML
``configs`` and ``dataset_info`` make ``datasets.load_dataset(folder)`` find them.

Every folder deita_hf writes (``deita-hf score``, ``select`` and ``preference`` outputs) goes
through here. ``dataset_info`` (features, row count, sizes) is read back from the written
parquet files, because ``datasets`` keys its cache of a local folder on the folder name and the
README's ``configs``/``dataset_info`` only: without it, a folder rewritten under the same name
would load the rows cached from its previous contents.

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
    "PREFERENCE_FILE",
    "SCORE_FILE",
    "SELECTION_FILE",
    "config_info",
    "layout_card_data",
    "write_parquet",
    "write_readme",
]

#: folder of the default config's parquet shards
DATA_DIR = "data"
#: settings written by ``deita-hf select`` / :func:`deita_hf.publishing.save_selection`
SELECTION_FILE = "deita_selection.json"
#: settings written by ``deita-hf preference``
PREFERENCE_FILE = "deita_preference.json"
#: settings and progress of ``deita-hf score``
SCORE_FILE = "deita_score.json"

_MAX_SHARD_BYTES = 500 * 1024 * 1024


def write_parquet(ds, folder: str | os.PathLike, *, max_shard_bytes: int = _MAX_SHARD_BYTES) -> int:
    """Write ``ds`` as ``train-0000i-of-0000n.parquet`` shards of at most ~``max_shard_bytes``,
    replacing any parquet files already in ``folder`` (``load_dataset`` would read them too).

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
