"""Shared helpers of tests/robustness: tiny pools, CLI runs, and the check that a folder is a
complete deita_hf folder (README configs match the parquet files, one settings file, row
counts, no temporary leftovers)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
#: the length baselines and no embedder: no model loads, a run takes well under a second
LENGTH = ["--complexity-scorer", "length", "--quality-scorer", "length", "--embedder", "none",
          "--no-progress"]


def pool_rows(n: int, seed: int = 0, *, embedding: bool = True, tag: str = "") -> list[dict]:
    """``n`` alpaca rows of varied lengths, with a 4-d ``embedding`` column unless told not."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        row = {"instruction": f"{tag}Question {i}: " + "why " * int(rng.integers(1, 6)),
               "output": "Because " * int(rng.integers(1, 9))}
        if embedding:
            row["embedding"] = rng.normal(size=4).round(3).tolist()
        rows.append(row)
    return rows


def write_jsonl(rows: list[dict], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(row) + "\n" for row in rows)
    return path


def cli_env(online: bool = False, **extra: str) -> dict[str, str]:
    """The environment of a CLI subprocess: offline, or with ``online`` every offline variable
    removed (for a command that talks to a Hub endpoint)."""
    from helpers.hub_server import online_env

    base = online_env() if online else {**os.environ, "HF_HUB_OFFLINE": "1"}
    env = {**base, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false",
           "PYTHONUNBUFFERED": "1"}
    env.pop("DEITA_HF_TEST_KILL_AT", None)
    env.update(extra)
    return env


def default_sigint() -> None:
    """``preexec_fn`` of a CLI child that is sent SIGINT: SIGINT's default action, even when
    the test run ignores it (started in the background, ``nohup``, a job runner), so that the
    child's Python installs its KeyboardInterrupt handler (Python keeps an inherited SIG_IGN)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextlib.contextmanager
def sigint_raises() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt in this process for the block (as in a terminal), even
    when the test run ignores SIGINT; the previous handler is put back after."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def cli_command(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "deita_hf.cli.main", *args]


def run_cli(args: list[str], *, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    """``python -m deita_hf.cli.main ARGS`` in a subprocess (captured text)."""
    return subprocess.run(cli_command(args), cwd=REPO_ROOT, env=cli_env(**env), timeout=timeout,
                          capture_output=True, text=True, check=False, preexec_fn=default_sigint)


def leftovers(root: Path) -> list[str]:
    """Temporary siblings of ``root`` left by an interrupted write (``.NAME.tmp-PID``,
    ``.NAME.old-PID``)."""
    return sorted(p.name for p in root.parent.glob(f".{root.name}.*")
                  if p.name.rsplit("-", 1)[-1].isdigit())


def assert_complete(root: Path, kind: str) -> dict:
    """``root`` is a complete deita_hf folder of ``kind``; returns its settings.

    Checked: exactly one settings file (the kind's); for scores ``complete: true``; every
    README config's ``data_files`` pattern matches parquet files, and its ``dataset_info`` row
    count is theirs; ``load_pool`` reads the same number of rows; nothing hidden inside.
    """
    import pyarrow.parquet as pq
    from huggingface_hub import DatasetCard

    from deita_hf.data.loading import load_pool
    from deita_hf.folder.writer import FOLDER_KINDS

    root = Path(root)
    assert root.is_dir(), f"{root} is missing"
    present = [k for k, name in FOLDER_KINDS.items() if (root / name).is_file()]
    assert present == [kind], f"{root}: settings files of {present}, expected {kind}"
    settings = json.loads((root / FOLDER_KINDS[kind]).read_text(encoding="utf-8"))
    if kind == "scores":
        assert settings.get("complete") is True
    assert not [p.name for p in root.rglob(".*")], f"hidden leftovers inside {root}"
    data = DatasetCard.load(root / "README.md").data.to_dict()
    infos = data.get("dataset_info")
    infos = {i.get("config_name", "default"): i for i in (infos if isinstance(infos, list)
                                                          else [infos])}
    counts = {}
    for config in data["configs"]:
        name = config["config_name"]
        pattern = config["data_files"][0]["path"]
        files = sorted(root.glob(pattern))
        files = [f for f in files if f.suffix == ".parquet"]
        assert files, f"{root}: config {name} ({pattern}) matches no parquet file"
        on_disk = sorted((root / pattern.rsplit("/", 1)[0]).glob("*.parquet"))
        assert files == on_disk, f"{root}: {name} lists {files}, folder holds {on_disk}"
        rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
        declared = infos[name]["splits"][0]["num_examples"]
        assert rows == declared, f"{root}: {name} README says {declared} rows, parquet {rows}"
        counts[name] = rows
    assert len(load_pool(root)) == counts["default"]
    return settings
