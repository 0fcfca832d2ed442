"""Score a pool shard by shard, resumably, over one or many processes (``accelerate launch``).

While a run is unfinished, its work lives beside the output folder, in ``.NAME.partial/``:

* ``shards/shard-00003-of-00010.parquet``: finished shards (each written to a temporary name and
  renamed, so a killed process never leaves a half shard);
* ``deita_score.json``: the run's settings, with a fingerprint of the input (row count and a
  hash of the rows) and ``"complete": false``.

Re-running the same command resumes: only missing shards are computed. One run at a time:
a second run into the same output fails with an "in use" message (lock file ``.NAME.score.lock``,
released by the kernel if the process is killed). A changed input or other
settings are refused (``--overwrite`` starts over). When every shard is done, the main process
assembles them in the pool's order and writes the output folder with the package's one writer
(:func:`deita_hf.hub.folder.write_folder`: Hub layout, ``deita_score.json`` with
``"complete": true``, renamed into place), then removes the partial folder. So the output folder
is always complete, and a previous folder (``--overwrite``) is replaced only by a complete one.

Under ``accelerate launch --num_processes N`` shard ``i`` is scored by process ``i % N`` on its
own device; the main process waits for all of them, then assembles.

Example:
    >>> from deita_hf.pipeline.sharded import score_in_shards
    >>> from deita_hf.scoring import InstructionLengthScorer
    >>> score_in_shards(ds, "out/scored", [InstructionLengthScorer()], shard_size=1000)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from deita_hf.components import apply_components
from deita_hf.errors import ConfigError, InputError
from deita_hf.hub.folder import (
    SCORE_FILE,
    check_output,
    clean_leftovers,
    write_folder,
)
from deita_hf.hub.guard import FolderLock, kill_point
from deita_hf.runtime import dist_state

__all__ = ["MANIFEST", "check_score_output", "input_fingerprint", "partial_dir", "score_in_shards"]

MANIFEST = SCORE_FILE
README = """# Scored pool (deita_hf)

Columns added by `deita-hf score`: see `deita_score.json` for the scorers and embedder used.
"""
_HASH_ROWS = 10_000


def partial_dir(output_dir: str | os.PathLike) -> Path:
    """Where an unfinished run of ``output_dir`` keeps its shards: ``.NAME.partial`` beside it."""
    out = Path(output_dir)
    return out.parent / f".{out.name}.partial"


def input_fingerprint(ds: Any) -> dict[str, Any]:
    """Row count and SHA-256 of the rows (Arrow IPC of each block, in order, indices applied).

    Example:
        >>> from datasets import Dataset
        >>> a = input_fingerprint(Dataset.from_dict({"x": [1, 2]}))
        >>> a == input_fingerprint(Dataset.from_dict({"x": [1, 2]})), a["num_rows"]
        (True, 2)
        >>> a == input_fingerprint(Dataset.from_dict({"x": [1, 3]}))
        False
    """
    import pyarrow as pa

    digest = hashlib.sha256()
    view = ds.with_format("arrow")
    for start in range(0, len(ds), _HASH_ROWS):
        table = view[start:start + _HASH_ROWS]
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        digest.update(sink.getvalue())
    return {"num_rows": len(ds), "sha256": digest.hexdigest()}


def check_score_output(output_dir: str | os.PathLike, *, overwrite: bool,
                       allow_scores: bool = True) -> Path:
    """Refuse an output folder ``deita-hf score`` must not replace (checked before anything loads).

    Any non-empty folder other than a scores folder (a selection, preference pairs, files
    deita_hf did not write) is replaced only with ``overwrite``. A scores folder passes when
    ``allow_scores`` (a re-run of the same command is a no-op; :func:`score_in_shards` refuses
    one of another input or settings).
    """
    from deita_hf.hub.layout import folder_kind

    if allow_scores and folder_kind(output_dir) == "scores":
        return Path(output_dir)
    return check_output(output_dir, "scores", overwrite=overwrite)


def score_in_shards(ds: Any, output_dir: str | os.PathLike, components: list, *,
                    shard_size: int = 1000, map_batch_size: int = 1000, overwrite: bool = False,
                    state: Any = None, progress: bool = True, source: str | None = None) -> Path:
    """Apply ``components`` (scorers/embedders) to ``ds`` shard by shard and assemble the result.

    Args:
        ds: the pool (``datasets.Dataset``).
        output_dir: the output folder (written once complete; see the module docstring).
        components: components for ``Dataset.map(batched=True)``, applied in order.
        shard_size: rows per shard (the unit of resumption and of work per process).
        map_batch_size: ``batch_size`` of ``Dataset.map`` (scorers batch further inside).
        overwrite: start over instead of refusing a run with another input or settings, and
            replace an existing output folder.
        state: an ``accelerate.PartialState`` (default: made here; one process without a launcher).
        progress: show progress bars.
        source: where the pool came from (recorded in the settings).

    Returns:
        ``Path(output_dir)``, loadable with ``deita_hf.data.loading.load_pool``.

    Raises:
        InputError: an unfinished run of another input or other settings (without ``overwrite``).
        OutputExistsError: the output folder exists and ``overwrite`` is False.
        FolderInUseError: another process is scoring into the same output.
    """
    if shard_size < 1:
        raise ConfigError(f"shard_size must be positive, got {shard_size}.")
    out = Path(output_dir)
    state = state or dist_state()
    with contextlib.ExitStack() as stack:
        if state.is_main_process:  # one run at a time in this partial folder
            stack.enter_context(FolderLock(out, name=f"{out.name}.score"))
        _score(ds, out, components, shard_size=shard_size, map_batch_size=map_batch_size,
               overwrite=overwrite, state=state, progress=progress, source=source)
    return out


def _score(ds: Any, out: Path, components: list, *, shard_size: int, map_batch_size: int,
           overwrite: bool, state: Any, progress: bool, source: str | None) -> None:
    work = partial_dir(out)
    n_shards = max(1, -(-len(ds) // shard_size))
    settings = {"num_rows": len(ds), "columns": ds.column_names, "shard_size": shard_size,
                "num_shards": n_shards, "components": [c.describe() for c in components]}
    done = False
    if state.is_main_process:
        settings["input"] = {"source": source, **input_fingerprint(ds)}
        done = _already_complete(out, settings)
        if done:  # killed after the output was in place: only leftovers to remove
            shutil.rmtree(work, ignore_errors=True)
            clean_leftovers(out)
        else:
            check_score_output(out, overwrite=overwrite, allow_scores=False)
            try:
                _check_manifest(work, settings, overwrite)
            except OSError as err:
                raise ConfigError(f"--output {str(out)!r}: cannot write the partial run "
                                  f"{str(work)!r} ({type(err).__name__}: {err.strerror or err}). "
                                  f"Choose a folder you can write to.") from err
    done = _broadcast(state, done)
    if done:
        return
    shard_dir = work / "shards"
    names = [f"shard-{i:05d}-of-{n_shards:05d}.parquet" for i in range(n_shards)]
    for i in range(state.process_index, n_shards, state.num_processes):
        if (shard_dir / names[i]).is_file():
            continue
        shard = ds.select(range(i * shard_size, min(len(ds), (i + 1) * shard_size)))
        shard = apply_components(
            shard, components, progress=progress, offset=i * shard_size,
            label=f"shard {i + 1}/{n_shards} [rank {state.process_index}]",
            batch_size=map_batch_size, load_from_cache_file=False, keep_in_memory=True)
        tmp = shard_dir / f".tmp-{state.process_index}-{names[i]}"
        shard.to_parquet(str(tmp))
        os.replace(tmp, shard_dir / names[i])
        kill_point("score.shard")
    state.wait_for_everyone()
    if state.is_main_process:
        missing = [i for i in range(n_shards) if not (shard_dir / names[i]).is_file()]
        if missing:
            raise RuntimeError(f"Shards {missing} of {out} are missing after scoring; re-run the "
                               f"same command to resume.")
        manifest = json.loads((work / MANIFEST).read_text(encoding="utf-8"))
        write_folder(out, "scores", {"default": [shard_dir / n for n in names]},
                     {**manifest, "complete": True}, body=README, overwrite=True,
                     tags=["deita", "deita-hf"])
        kill_point("score.assembled")
        shutil.rmtree(work, ignore_errors=True)
    state.wait_for_everyone()


def _already_complete(out: Path, settings: dict) -> bool:
    """True when ``out`` is a complete scores folder of this very input and settings."""
    from deita_hf.hub.layout import read_settings

    kind, old = read_settings(out)
    if kind != "scores" or not old.get("complete"):
        return False
    old = {k: v for k, v in old.items() if k != "complete"}
    return old == json.loads(json.dumps(settings))


def _broadcast(state: Any, flag: bool) -> bool:
    """The main process's ``flag`` on every process."""
    state.wait_for_everyone()
    if state.num_processes == 1:
        return flag
    from accelerate.utils import broadcast_object_list

    box = [flag]
    broadcast_object_list(box, from_process=0)
    return bool(box[0])


def _check_manifest(work: Path, settings: dict, overwrite: bool) -> None:
    """Start a partial folder, or check that the one there belongs to this input and settings."""
    path = work / MANIFEST
    if path.is_file():
        old = json.loads(path.read_text(encoding="utf-8"))
        old.pop("complete", None)
        new = json.loads(json.dumps(settings))
        if old != new:
            if not overwrite:
                raise InputError(_difference(work, old, new))
            shutil.rmtree(work)
    (work / "shards").mkdir(parents=True, exist_ok=True)
    for tmp in (work / "shards").glob(".tmp-*"):
        tmp.unlink()
    path.write_text(json.dumps({**settings, "complete": False}, indent=2), encoding="utf-8")


def _difference(work: Path, old: dict, new: dict) -> str:
    changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    parts = []
    if "input" in changed:
        o, n = old.get("input") or {}, new.get("input") or {}
        parts.append(f"the input changed (rows {o.get('num_rows')} -> {n.get('num_rows')}, "
                     f"content hash {str(o.get('sha256'))[:12]} -> {str(n.get('sha256'))[:12]})")
        changed.remove("input")
    if changed:
        parts.append(f"the settings changed ({', '.join(changed)})")
    return (f"An unfinished `deita-hf score` run in {str(work)!r} was made with another input "
            f"or other settings: {'; '.join(parts)}. Re-run with the original input and settings to "
            f"finish it, or pass --overwrite (overwrite=True) to start over.")
