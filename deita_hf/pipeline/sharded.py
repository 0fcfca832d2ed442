"""Score a pool shard by shard, resumably: in one process, over the processes of
``accelerate launch``, or as independent Slurm array tasks (the partial folder, settings and
assembly are :mod:`deita_hf.pipeline.score_run`'s, shared with the Ray engine).

Re-running the same command resumes: only missing shards are computed. One run at a time: a
second run into the same output fails with an "in use" message (lock file ``.NAME.score.lock``,
released by the kernel if the process is killed). A changed input or other settings are
refused (``--overwrite`` starts over). When every shard is done, the shards are assembled in the
pool's order into the output folder by the package's one writer
(:func:`deita_hf.folder.writer.write_folder`: Hub layout, ``deita_score.json`` with ``"complete":
true``, renamed into place), and the partial folder is removed. So the output folder is always
complete, and a previous folder (``--overwrite``) is replaced only by a complete one.

Under ``accelerate launch --num_processes N`` shard ``i`` is scored by process ``i % N`` on its
own device; the main process waits for all of them, then assembles.

Slurm arrays (``num_shards=K, shard_index=I``, ``--num-shards K --shard-index I``): each task
is a separate process, started whenever the scheduler likes. Task ``I`` scores array shard ``I``
of ``K``: a contiguous range of the run's shard files (:func:`owned_shards`; each file holds
``shard_size`` rows and is the unit of resumption, as in a one-process run). A task holds its own
lock (``.NAME.score-I-of-K.lock``: two copies of one task refuse each other) and takes the run's
lock only briefly, waiting for it, to check the settings and to assemble; the last task to
finish (the one that finds every shard file there) assembles, or ``assemble=True``
(``--assemble``) does it.

Example:
    >>> from deita_hf.pipeline.sharded import score_in_shards
    >>> from deita_hf.scoring import InstructionLengthScorer
    >>> score_in_shards(ds, "out/scored", [InstructionLengthScorer()], shard_size=1000)  # doctest: +SKIP
    >>> score_in_shards(ds, "out/scored", [InstructionLengthScorer()], num_shards=8,
    ...                 shard_index=3)  # one Slurm array task  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Any

from deita_hf.components import apply_components
from deita_hf.errors import ConfigError
from deita_hf.folder.guard import FolderLock, kill_point
from deita_hf.pipeline.progress import ShardCounts, ShardProgress
from deita_hf.pipeline.score_run import (
    MANIFEST,
    ScoreRun,
    check_score_output,
    input_fingerprint,
    owned_shards,
    partial_dir,
    run_lock,
    run_settings,
)
from deita_hf.runtime import dist_state

__all__ = ["ARRAY_LOCK_WAIT", "MANIFEST", "check_score_output", "input_fingerprint",
           "partial_dir", "score_in_shards"]

logger = logging.getLogger(__name__)

#: seconds an array task waits for the run's lock (held briefly by the other tasks)
ARRAY_LOCK_WAIT = 600.0


def score_in_shards(ds: Any, output_dir: str | os.PathLike, components: list, *,
                    shard_size: int = 1000, map_batch_size: int = 1000, overwrite: bool = False,
                    state: Any = None, progress: bool = True, source: str | None = None,
                    num_shards: int | None = None, shard_index: int | None = None,
                    assemble: bool = False, preset: str | None = None,
                    counts: ShardCounts | None = None) -> Path:
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
        num_shards, shard_index: score only array shard ``shard_index`` (0-based) of
            ``num_shards`` (a Slurm array task), then assemble if every shard file is there.
        assemble: score nothing; write the output folder from the finished shards of an array
            run (raises if any is missing).
        preset: the preset the components came from (recorded in the settings).
        counts: filled with the shards this call is responsible for (the run's; an array
            task's own), how many of them were already scored, and whether this call wrote
            the output folder (``counts.written``).

    Returns:
        ``Path(output_dir)``; loadable with ``deita_hf.data.loading.load_pool`` once complete
        (an array task that is not the last returns before the folder exists).

    Raises:
        InputError: an unfinished run of another input or other settings (without
            ``overwrite``), or ``assemble`` with shards missing.
        OutputExistsError: the output folder exists and ``overwrite`` is False.
        FolderInUseError: another process is scoring into the same output.
        ConfigError: bad ``shard_size``, ``num_shards`` or ``shard_index``.
    """
    if shard_size < 1:
        raise ConfigError(f"shard_size must be positive, got {shard_size}.")
    out = Path(output_dir)
    counts = ShardCounts() if counts is None else counts
    settings = None
    if num_shards is not None or shard_index is not None or assemble:
        check_array_task(num_shards, shard_index, assemble)
        settings = run_settings(ds, components, shard_size=shard_size, source=source,
                                preset=preset)
        if assemble:
            return _assemble(out, settings, num_shards, counts)
        return _array_task(ds, out, components, settings, num_shards, shard_index,
                           overwrite=overwrite, progress=progress, map_batch_size=map_batch_size,
                           counts=counts)
    state = state or dist_state()
    with contextlib.ExitStack() as stack:
        if state.is_main_process:  # one run at a time in this partial folder
            stack.enter_context(run_lock(out))
            settings = run_settings(ds, components, shard_size=shard_size, source=source,
                                preset=preset)
        _score(ds, out, components, settings, shard_size=shard_size, map_batch_size=map_batch_size,
               overwrite=overwrite, state=state, progress=progress, counts=counts)
    return out


def check_array_task(num_shards: int | None, shard_index: int | None, assemble: bool) -> None:
    """Check the array flags (before anything loads).

    Example:
        >>> check_array_task(4, 0, False)
        >>> check_array_task(4, 4, False)
        Traceback (most recent call last):
        ...
        deita_hf.errors.ConfigError: --shard-index must be in 0..3 (array shard of --num-shards 4), got 4.
    """
    if assemble:
        if shard_index is not None:
            raise ConfigError("--assemble writes the output from every finished shard; drop "
                              "--shard-index (and --num-shards) for it.")
        return
    if num_shards is None or shard_index is None:
        raise ConfigError("An array task needs both --num-shards K and --shard-index I (0-based; "
                          "in Slurm: --array=0-(K-1) and --shard-index $SLURM_ARRAY_TASK_ID).")
    if num_shards < 1:
        raise ConfigError(f"--num-shards must be a positive number of array shards, got "
                          f"{num_shards}.")
    if not 0 <= shard_index < num_shards:
        raise ConfigError(f"--shard-index must be in 0..{num_shards - 1} (array shard of "
                          f"--num-shards {num_shards}), got {shard_index}.")


def _score_shards(ds: Any, run: ScoreRun, components: list, shards: list[int], *, tag: str,
                  label: str, progress: bool, map_batch_size: int) -> int:
    """Score the missing shards of ``shards``; returns how many were computed."""
    todo = run.missing(shards)
    overall = ShardProgress({i: len(run.rows(i)) for i in shards}, set(shards) - set(todo),
                            desc=f"deita-hf score [{label}]", disable=not progress)
    for i in todo:
        rows = run.rows(i)
        shard = apply_components(
            ds.select(rows), components, progress=progress, offset=rows.start,
            label=f"shard {i + 1}/{run.num_shards} [{label}]", batch_size=map_batch_size,
            load_from_cache_file=False, keep_in_memory=True)
        run.write_shard(i, shard, tag=tag)
        overall.update(i)
        kill_point("score.shard")
    overall.close()
    return len(todo)


def _score(ds: Any, out: Path, components: list, settings: dict | None, *, shard_size: int,
           map_batch_size: int, overwrite: bool, state: Any, progress: bool,
           counts: ShardCounts) -> None:
    done = False
    run = None
    if state.is_main_process:
        run = ScoreRun(out, settings, engine={"name": "local", "num_processes": state.num_processes})
        done = run.prepare(overwrite=overwrite)
        counts.record(run.shard_rows(), range(run.num_shards) if done else
                      set(range(run.num_shards)) - set(run.missing()))
        if not done:
            for tag in range(state.num_processes):
                run.clean_tmp(f"p{tag}")
    done = _broadcast(state, done)
    if done:
        return
    if run is None:  # the other processes: the same shards (the main process hashed the input)
        run = ScoreRun(out, {"num_rows": len(ds), "shard_size": shard_size,
                             "num_shards": max(1, -(-len(ds) // shard_size))})
    _score_shards(ds, run, components,
                  owned_shards(run.num_shards, state.process_index, state.num_processes),
                  tag=f"p{state.process_index}", label=f"rank {state.process_index}",
                  progress=progress, map_batch_size=map_batch_size)
    state.wait_for_everyone()
    if state.is_main_process:
        run.assemble()
        counts.written = True
    state.wait_for_everyone()


def _array_task(ds: Any, out: Path, components: list, settings: dict, num_shards: int,
                shard_index: int, *, overwrite: bool, progress: bool, map_batch_size: int,
                counts: ShardCounts) -> Path:
    engine = {"name": "array", "array_shards": num_shards}
    run = ScoreRun(out, settings, engine=engine)
    tag = f"a{shard_index}of{num_shards}"
    mine = owned_shards(run.num_shards, shard_index, num_shards, contiguous=True)
    lock = FolderLock(out, name=f"{out.name}.score-{shard_index:05d}-of-{num_shards:05d}")
    with lock:  # two copies of this array task refuse each other
        with run_lock(out, wait=ARRAY_LOCK_WAIT):
            if run.prepare(overwrite=overwrite):
                logger.info("%s is already complete", out)
                counts.record(run.shard_rows(mine), mine)
                return out
        run.clean_tmp(tag)
        counts.record(run.shard_rows(mine), set(mine) - set(run.missing(mine)))
        if not mine:
            logger.warning("array shard %d of %d owns none of the run's %d shard files (use "
                           "fewer array tasks or a smaller --shard-size)", shard_index,
                           num_shards, run.num_shards)
        _score_shards(ds, run, components, mine, tag=tag,
                      label=f"array shard {shard_index}/{num_shards}", progress=progress,
                      map_batch_size=map_batch_size)
    with run_lock(out, wait=ARRAY_LOCK_WAIT):  # the last task to finish assembles
        if run.complete():
            return out
        missing = run.missing()
        if missing:
            logger.warning("array shard %d of %d is done; %d of %d shard files are still missing "
                           "(the last array task to finish assembles, or run with --assemble)",
                           shard_index, num_shards, len(missing), run.num_shards)
            return out
        run.engine["assembled_by"] = shard_index  # which task wrote the folder
        counts.written = True
        return run.assemble()


def _assemble(out: Path, settings: dict, num_shards: int | None, counts: ShardCounts) -> Path:
    engine = {"name": "array", **({"array_shards": num_shards} if num_shards else {})}
    run = ScoreRun(out, settings, engine=engine)
    with run_lock(out, wait=ARRAY_LOCK_WAIT):
        counts.record(run.shard_rows(), range(run.num_shards))  # it scores nothing
        if run.complete():
            return out
        if not (run.work / MANIFEST).is_file():
            raise ConfigError(f"--assemble: {str(out)!r} has no unfinished `deita-hf score` run "
                              f"to assemble ({str(run.work)!r} is missing); score it first.")
        run.prepare(overwrite=False)  # the same input and settings as the array tasks
        out = run.assemble()
        counts.written = True
        return out


def _broadcast(state: Any, flag: bool) -> bool:
    """The main process's ``flag`` on every process."""
    state.wait_for_everyone()
    if state.num_processes == 1:
        return flag
    from accelerate.utils import broadcast_object_list

    box = [flag]
    broadcast_object_list(box, from_process=0)
    return bool(box[0])
