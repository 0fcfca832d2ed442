"""Score a pool shard by shard, resumably, over one or many processes (``accelerate launch``).

Layout of the output folder (the Hub dataset layout, loadable with ``deita_hf.io.load_pool(DIR)``
or ``datasets.load_dataset(DIR)``):

* ``shards/shard-00003-of-00010.parquet``: finished shards of an unfinished run (each written to a
  temporary name and renamed, so a killed process never leaves a half shard);
* ``data/train-00003-of-00010.parquet``: the assembled result, in the pool's original row order;
* ``README.md``: YAML ``configs`` pointing at ``data/train-*``; ``deita_score.json``: the run's
  settings (a re-run with other settings into the same folder is an error) and ``complete``.

Under ``accelerate launch --num_processes N`` shard ``i`` is scored by process ``i % N`` on its
own device; the main process waits for all of them, then assembles.

Example:
    >>> from deita_hf.sharding import score_in_shards
    >>> from deita_hf.scoring import InstructionLengthScorer
    >>> score_in_shards(ds, "out/scored", [InstructionLengthScorer()], shard_size=1000)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from deita_hf.hub_layout import SCORE_FILE, write_readme
from deita_hf.selector import describe_name

__all__ = ["MANIFEST", "dist_state", "score_in_shards"]

MANIFEST = SCORE_FILE
README = """# Scored pool (deita_hf)

Columns added by `deita-hf score`: see `deita_score.json` for the scorers and embedder used.
"""


def _describe(component: Any) -> Any:
    try:
        return component.describe()
    except AttributeError:
        return type(component).__name__


def dist_state(device: str | None = None):
    """The ``accelerate.PartialState`` of this process (one process without a launcher).

    Without an accelerator (or with ``device="cpu"``) the processes of ``accelerate launch``
    join a gloo process group on CPU (accelerate only does that when asked for ``cpu=True``).
    """
    import torch
    from accelerate import PartialState

    try:
        has_accelerator = torch.accelerator.is_available()
    except AttributeError:  # torch < 2.6
        has_accelerator = torch.cuda.is_available()
    return PartialState(cpu=(device == "cpu") or not has_accelerator)


def score_in_shards(ds, output_dir: str | os.PathLike, components: list, *, shard_size: int = 1000,
                    map_batch_size: int = 1000, overwrite: bool = False, state=None,
                    progress: bool = True) -> Path:
    """Apply ``components`` (scorers/embedders) to ``ds`` shard by shard and assemble the result.

    Args:
        ds: the pool (``datasets.Dataset``).
        output_dir: output folder; finished shards found there are reused (resume).
        components: callables for ``Dataset.map(batched=True)``, applied in order.
        shard_size: rows per shard (the unit of resumption and of work per process).
        map_batch_size: ``batch_size`` of ``Dataset.map`` (scorers batch further inside).
        overwrite: discard results of a previous run with other settings instead of raising.
        state: an ``accelerate.PartialState`` (default: made here; one process without a launcher).
        progress: show ``datasets`` progress bars.

    Returns:
        ``Path(output_dir)``, loadable with ``deita_hf.io.load_pool``.

    Raises:
        ValueError: the folder holds a run with different settings (and ``overwrite`` is False).
    """
    if shard_size < 1:
        raise ValueError(f"shard_size must be positive, got {shard_size}.")
    out = Path(output_dir)
    state = state or dist_state()
    n_shards = max(1, -(-len(ds) // shard_size))
    settings = {"num_rows": len(ds), "columns": ds.column_names, "shard_size": shard_size,
                "num_shards": n_shards, "components": [_describe(c) for c in components]}
    manifest_path = out / MANIFEST
    if state.is_main_process:
        _check_manifest(out, manifest_path, settings, overwrite)
    state.wait_for_everyone()
    shard_dir = out / "shards"
    names = [f"{i:05d}-of-{n_shards:05d}.parquet" for i in range(n_shards)]

    def done(i: int) -> bool:
        return (shard_dir / f"shard-{names[i]}").is_file() or (out / "data" / f"train-{names[i]}").is_file()

    for i in range(state.process_index, n_shards, state.num_processes):
        if done(i):
            continue
        shard = ds.select(range(i * shard_size, min(len(ds), (i + 1) * shard_size)))
        for component in components:
            label = describe_name(component)
            shard = shard.map(component, batched=True, batch_size=map_batch_size,
                              desc=f"shard {i + 1}/{n_shards} [rank {state.process_index}]: {label}",
                              load_from_cache_file=False, keep_in_memory=True)
        tmp = shard_dir / f".tmp-{state.process_index}-{names[i]}"
        shard.to_parquet(str(tmp))
        os.replace(tmp, shard_dir / f"shard-{names[i]}")
    state.wait_for_everyone()
    if state.is_main_process:
        missing = [i for i in range(n_shards) if not done(i)]
        if missing:
            raise RuntimeError(f"Shards {missing} of {out} are missing after scoring; re-run to resume.")
        (out / "data").mkdir(exist_ok=True)
        for i in range(n_shards):
            src = shard_dir / f"shard-{names[i]}"
            if src.is_file():
                os.replace(src, out / "data" / f"train-{names[i]}")
        write_readme(out, README)
        manifest_path.write_text(json.dumps({**settings, "complete": True}, indent=2), encoding="utf-8")
    state.wait_for_everyone()
    return out


def _check_manifest(out: Path, path: Path, settings: dict, overwrite: bool) -> None:
    (out / "shards").mkdir(parents=True, exist_ok=True)
    if path.is_file():
        old = json.loads(path.read_text(encoding="utf-8"))
        old.pop("complete", None)
        if old != json.loads(json.dumps(settings)):
            if not overwrite:
                raise ValueError(
                    f"{out} holds results of a run with other settings ({path}); pass --overwrite "
                    f"(overwrite=True) to discard them, or choose another output folder.")
            for f in list((out / "shards").glob("*.parquet")) + list((out / "data").glob("*.parquet")):
                f.unlink()
    for tmp in (out / "shards").glob(".tmp-*"):
        tmp.unlink()
    path.write_text(json.dumps({**settings, "complete": False}, indent=2), encoding="utf-8")
