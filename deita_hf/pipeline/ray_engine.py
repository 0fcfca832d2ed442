"""Score a pool on a Ray cluster: ``deita-hf score --engine ray``, :func:`score_on_ray`.

The run is the one-process run's (:mod:`deita_hf.pipeline.score_run`): the same shards, the
same settings in ``deita_score.json``, the same partial folder, the same assembly by the one
writer, in the pool's order. Only who scores a shard changes:

1. the driver (this process) loads the pool, hashes it and checks or starts the partial folder
   under the run's lock. A pool read from a file (json, jsonl, Parquet, csv: one memory-mapped
   Arrow file in the ``datasets`` cache, :class:`PoolRows`) is not copied: each worker
   memory-maps that file and reads its own shard's row range (on a multi-node cluster the
   ``datasets`` cache, ``HF_DATASETS_CACHE``, must then be on storage every node sees). Any
   other pool (in memory, several files, a selection of rows) is written once, the rows of
   every shard still to score, as Parquet into ``.NAME.partial/input/`` (the output's parent
   must be on shared storage);
2. a Ray Data pipeline maps the missing shards' numbers with ``map_batches`` over a fixed pool
   of actors (:class:`ShardWorker`): each actor receives the components (picklable without their
   models), loads every model once in its constructor, and for each shard reads its rows, runs
   :func:`~deita_hf.components.apply_components` with the pool's row numbers and writes the
   shard file (temporary name, then a rename), skipping a shard whose file already exists;
3. the driver assembles the shards and removes the partial folder.

Ray handles a failed worker: Ray Data restarts a dead actor and retries its task, at most
:data:`~deita_hf.pipeline.ray_address.ACTOR_RESTARTS` times (Ray's default is unbounded);
an ``--address`` is checked first (:func:`~deita_hf.pipeline.ray_address.check_address`:
one line within seconds, not minutes of retries); the shard files are the checkpoint, so a
retried or re-run shard that is already written is not computed again, and a re-run of the
same command after the driver died scores only the missing shards. Where the plan says so (:mod:`deita_hf.pipeline.engine_plan`) each
actor holds GPUs: transformers components run on ``cuda``, vLLM components (``vllm:MODEL``)
start one engine per actor with a tensor-parallel group of the actor's GPUs.

``engine`` in ``deita_score.json`` records ``{"name": "ray", ...the plan}``; it is not part of
the resume check, so a run started on Ray can be finished by ``deita-hf score`` in one process
and the other way round.

Example:
    >>> from deita_hf.pipeline.ray_engine import score_on_ray
    >>> from deita_hf.components import build_component
    >>> comps = [build_component("complexity", "length"), build_component("embedding", "minilm")]
    >>> score_on_ray("pool.jsonl", comps, output_dir="out/scored", num_workers=8)  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import logging
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deita_hf.components import apply_components
from deita_hf.errors import ConfigError, DeitaError
from deita_hf.folder.guard import kill_point
from deita_hf.pipeline.engine_plan import WorkerPlan, plan_workers
from deita_hf.pipeline.ray_address import (
    check_address,
    map_batches_bounded,
    workers_died_error,
)
from deita_hf.pipeline.progress import ShardCounts
from deita_hf.pipeline.score_run import ScoreRun, run_lock, run_settings
from deita_hf.runtime import OFFLINE_VARIABLES

__all__ = ["RAY_INSTALL", "PoolRows", "ShardWorker", "pool_rows", "require_ray", "score_on_ray",
           "worker_env"]

logger = logging.getLogger(__name__)

#: what to install for ``--engine ray``
RAY_INSTALL = "pip install 'deita_hf[ray]'"
#: environment variables the workers get from the driver when it has them set
FORWARDED_ENV = (*OFFLINE_VARIABLES, "HF_HOME", "HF_HUB_CACHE", "HF_DATASETS_CACHE",
                 "HF_ENDPOINT", "HF_HUB_DISABLE_XET")


def require_ray() -> Any:
    """The ``ray`` module with Ray Data, or a ConfigError saying how to install it.

    Raises:
        ConfigError: Ray (with Ray Data) is not installed.
    """
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as err:
        raise ConfigError(f"--engine ray needs Ray Data, which is not installed here ({err}): "
                          f"{RAY_INSTALL}, or score without --engine ray (one node, or "
                          f"`accelerate launch`, or Slurm array tasks with --num-shards/"
                          f"--shard-index).") from None
    return ray


def worker_env(plan: WorkerPlan, environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment variables of the workers: the driver's offline and cache settings, one
    OpenMP/torch thread per CPU of the worker, passive OpenMP waiting, no tokenizer threads, and
    no visible GPU for CPU workers.

    Example:
        >>> plan = plan_workers([], cluster_cpus=2, cluster_gpus=0)
        >>> env = worker_env(plan, {"HF_HUB_OFFLINE": "1", "HOME": "/root"})
        >>> env["HF_HUB_OFFLINE"], env["OMP_NUM_THREADS"], env["CUDA_VISIBLE_DEVICES"], "HOME" in env
        ('1', '1', '', False)
    """
    environ = dict(os.environ if environ is None else environ)
    env = {k: environ[k] for k in FORWARDED_ENV if k in environ}
    env.update(OMP_NUM_THREADS=str(max(1, int(plan.num_cpus))),
               OMP_WAIT_POLICY=environ.get("OMP_WAIT_POLICY", "PASSIVE"),
               TOKENIZERS_PARALLELISM="false")
    if plan.num_gpus <= 0:
        env["CUDA_VISIBLE_DEVICES"] = ""
    return env


@dataclass(frozen=True)
class PoolRows:
    """The pool's one memory-mapped Arrow file, from which a worker reads its shard's rows."""

    #: the Arrow file (``datasets`` cache) the driver's pool is read from
    path: str
    #: its rows (checked on the worker: a file that changed is not read)
    num_rows: int

    def read(self, rows: range) -> Any:
        """The rows ``rows`` as an in-memory ``Dataset`` (only they are read from the file).

        Raises:
            InputError: the file is not there (a worker on another node without the shared
                ``datasets`` cache) or has other rows.
        """
        from datasets import Dataset

        from deita_hf.errors import InputError

        if not os.path.isfile(self.path):
            import socket

            raise InputError(f"A Ray worker on {socket.gethostname()} cannot read the pool's "
                             f"Arrow file {self.path!r}: put the datasets cache "
                             f"(HF_DATASETS_CACHE) on storage every node sees, or pass the pool "
                             f"as a Dataset kept in memory (it is then staged beside the output).")
        ds = Dataset.from_file(self.path, in_memory=False)
        if len(ds) != self.num_rows:
            raise InputError(f"The pool's Arrow file {self.path!r} has {len(ds)} rows, not "
                             f"{self.num_rows}: it changed during the run; run it again.")
        from datasets.table import InMemoryTable

        return Dataset(InMemoryTable(ds.data.table.slice(rows.start, len(rows))))


def pool_rows(ds: Any) -> PoolRows | None:
    """The :class:`PoolRows` of a pool that is exactly one memory-mapped Arrow file (a pool
    read from a json/jsonl/Parquet/csv file), else None (the rows are then staged).

    Example:
        >>> from datasets import Dataset
        >>> pool_rows(Dataset.from_dict({"x": [1, 2]})) is None  # in memory
        True
    """
    from datasets.table import MemoryMappedTable

    table = getattr(ds, "_data", None)
    if getattr(ds, "_indices", None) is not None or not isinstance(table, MemoryMappedTable):
        return None
    if any(op != "replace_schema_metadata" for op, *_ in table.replays or ()) or \
            not table.path or not os.path.isfile(table.path):
        return None  # columns changed after reading: the file is not the pool
    return PoolRows(str(table.path), len(ds))


class ShardWorker:
    """The Ray actor of :func:`score_on_ray`: loads the models once, then scores shards.

    Args:
        components: the components (their models load here, once per actor).
        run: the run's :class:`~deita_hf.pipeline.score_run.ScoreRun` (paths and shard rows).
        source: the pool's Arrow file to read the shards' rows from (None: the rows staged in
            the partial folder).
        map_batch_size: ``batch_size`` of ``Dataset.map``.
        threads: torch threads of this actor.
        tensor_parallel_size: GPUs of each vLLM engine this actor starts.
    """

    def __init__(self, components: list, run: ScoreRun, map_batch_size: int = 1000,
                 threads: int = 1, tensor_parallel_size: int = 1,
                 source: PoolRows | None = None) -> None:
        import socket

        import datasets
        import torch

        from deita_hf.runtime import set_vllm_defaults

        torch.set_num_threads(max(1, int(threads)))
        datasets.disable_progress_bars()
        if tensor_parallel_size > 1:
            set_vllm_defaults(tensor_parallel_size=int(tensor_parallel_size),
                              distributed_executor_backend="mp")
        self.components = components
        self.run = run
        self.source = source
        self.map_batch_size = int(map_batch_size)
        self.tag = f"ray-{socket.gethostname()}-{os.getpid()}"
        self.error: bytes = b""  # an expected error, reported with the first shard
        try:
            for component in components:
                load = getattr(component, "load", None)
                if callable(load):
                    load()
        except DeitaError as err:  # a model that does not load: the driver raises it
            self.error = _pickled(err)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list]:
        """Score the shards named in ``batch["shard"]``; one result row per shard."""
        out: dict[str, list] = {"shard": [], "rows": [], "computed": [], "pid": [], "error": []}
        for value in batch["shard"]:
            i = int(value)
            rows = self.run.rows(i)
            computed, error = False, self.error
            if not error and not self.run.done(i):  # written before (a retried task): not again
                try:
                    rows_ds = (self.source.read(rows) if self.source is not None
                               else self.run.read_input(i))
                    scored = apply_components(
                        rows_ds, self.components, progress=False,
                        offset=rows.start, batch_size=self.map_batch_size,
                        load_from_cache_file=False, keep_in_memory=True)
                    self.run.write_shard(i, scored, tag=self.tag)
                    computed = True
                except DeitaError as err:  # a bad row: the driver raises it, as one message
                    error = _pickled(err)
            if not error and self.source is None:
                self.run.drop_input(i)
            for key, v in (("shard", i), ("rows", len(rows)), ("computed", computed),
                           ("pid", os.getpid()), ("error", error)):
                out[key].append(v)
        return out


def score_on_ray(ds_or_path: Any, components: list, *, output_dir: str | os.PathLike,
                 shard_size: int = 1000, map_batch_size: int = 1000,
                 num_workers: int | None = None, gpus_per_worker: float | None = None,
                 cpus_per_worker: float = 1, address: str | None = None,
                 overwrite: bool = False, progress: bool = True, source: str | None = None,
                 split: str = "train", preset: str | None = None,
                 counts: ShardCounts | None = None) -> Path:
    """Score a pool on a Ray cluster into a Hub-layout folder (see the module docstring).

    Args:
        ds_or_path: a ``datasets.Dataset``, or what :func:`deita_hf.data.loading.load_pool`
            reads (a file, a folder, a Hub id).
        components: the components, applied in order (None entries are skipped).
        output_dir: the output folder.
        shard_size: rows per shard (the unit of work and of resumption).
        map_batch_size: ``batch_size`` of ``Dataset.map`` in the workers.
        num_workers: actors (default: the cluster's GPUs / ``gpus_per_worker``, else its CPUs).
        gpus_per_worker: GPUs per actor (default: 1 on a cluster with GPUs, else 0).
        cpus_per_worker: CPUs and torch threads per actor.
        address: the Ray cluster (``ray.init(address=...)``: ``auto``, ``HOST:PORT``,
            ``ray://HOST:10001``); None: a local Ray started (and stopped) here. A process
            already connected to Ray (``ray.init`` called before) runs on that cluster and
            stays connected.
        overwrite: start over instead of refusing a run with another input or settings, and
            replace an existing output folder.
        progress: show a progress bar over the shards.
        source: where the pool came from (recorded; default ``ds_or_path`` when it is a path).
        split: the split to read from folders and Hub ids.
        preset: the preset the components came from (recorded in the settings).
        counts: filled with the run's
            shards, those already scored and whether this call wrote the output folder.

    Returns:
        ``Path(output_dir)``, loadable with :func:`deita_hf.data.loading.load_pool`.

    Raises:
        ConfigError: Ray is not installed, or the plan is impossible (GPUs the cluster lacks).
        InputError: an unfinished run of another input or other settings.
        FolderInUseError: another process is scoring into the same output.
        DeitaError: a worker's expected error (a bad row, a model that does not load).
    """
    ray = require_ray()
    from datasets import Dataset

    if not ray.is_initialized():
        check_address(address)  # seconds, one line: not minutes of ray.init retries
    if isinstance(ds_or_path, Dataset):
        ds = ds_or_path
    else:
        from deita_hf.data.loading import load_pool

        ds = load_pool(ds_or_path, split=split)
        source = source or str(ds_or_path)
    components = [c for c in components if c is not None]
    if not components:
        raise ConfigError("score_on_ray: no components to run.")
    out = Path(output_dir)
    with run_lock(out):
        started = _connect(ray, address)
        try:
            resources = ray.cluster_resources()
            plan = plan_workers(components, cluster_cpus=float(resources.get("CPU", 0)),
                                cluster_gpus=float(resources.get("GPU", 0)),
                                num_workers=num_workers, gpus_per_worker=gpus_per_worker,
                                cpus_per_worker=cpus_per_worker)
            env = worker_env(plan)
            settings = run_settings(ds, components, shard_size=shard_size, source=source,
                                    descriptions=_describe(ray, components, plan, env),
                                    preset=preset)
            run = ScoreRun(out, settings, engine={"name": "ray", "ray": ray.__version__,
                                                  **plan.to_dict()})
            if counts is None:
                counts = ShardCounts()
            if run.prepare(overwrite=overwrite):
                counts.record(run.shard_rows(), range(run.num_shards))
                return out
            run.clean_tmp("stage")
            todo = run.missing()
            counts.record(run.shard_rows(), set(range(run.num_shards)) - set(todo))
            if todo:
                rows_from = pool_rows(ds)
                if rows_from is None:  # no file to read row ranges from: stage them once
                    run.stage_input(ds, todo)
                try:
                    _run_workers(ray, run, components, todo, plan, env,
                                 map_batch_size=map_batch_size, progress=progress,
                                 source=rows_from)
                except ray.exceptions.RayActorError as err:  # restarts used up (ACTOR_RESTARTS)
                    raise workers_died_error(err) from None
            run.assemble()
            counts.written = True
            return out
        finally:
            if started:
                ray.shutdown()


def _connect(ray: Any, address: str | None) -> bool:
    """Connect to the cluster (or start a local one); True when this call connected, so the
    run disconnects (and stops a local Ray it started) at the end."""
    if ray.is_initialized():
        return False
    try:
        ray.init(address=address, include_dashboard=False, logging_level=logging.WARNING)
    except ConnectionError as err:
        raise ConfigError(f"--address {address!r}: cannot connect to a Ray cluster ({err}). Start "
                          f"one (`ray start --head`) or pass its address (HOST:PORT).") from err
    return True


def _describe(ray: Any, components: list, plan: WorkerPlan, env: dict[str, str]) -> list[dict]:
    """The components' ``describe()`` as the workers resolve it (device and dtype): on the
    driver for CPU workers (their device forced to "cpu"), on a GPU worker otherwise."""
    if plan.num_gpus <= 0:
        described = []
        for component in components:
            if getattr(component, "device", "cpu") is None:
                component = copy.copy(component)
                component.device = "cpu"
            described.append(component.describe())
        return described
    remote = ray.remote(_describe_all).options(num_cpus=plan.num_cpus, num_gpus=plan.num_gpus,
                                               runtime_env={"env_vars": env})
    described, error = ray.get(remote.remote(components))
    _reraise(error)
    return described


def _describe_all(components: list) -> tuple[list[dict] | None, bytes]:
    try:
        return [c.describe() for c in components], b""
    except DeitaError as err:
        return None, _pickled(err)


def _pickled(err: DeitaError) -> bytes:
    """``err`` pickled for the driver (a plain DeitaError with its message if it does not pickle)."""
    try:
        data = pickle.dumps(err)
        pickle.loads(data)
        return data
    except Exception:  # noqa: BLE001 - an exception type that does not round-trip
        return pickle.dumps(DeitaError(f"{type(err).__name__}: {err}"))


def _reraise(error: bytes) -> None:
    """Raise a worker's expected error (pickled there) here, as the one-process run would."""
    if error:
        raise pickle.loads(error)


def _run_workers(ray: Any, run: ScoreRun, components: list, todo: list[int], plan: WorkerPlan,
                 env: dict[str, str], *, map_batch_size: int, progress: bool,
                 source: PoolRows | None = None) -> None:
    from tqdm.auto import tqdm

    context = ray.data.DataContext.get_current()
    saved = context.enable_progress_bars
    context.enable_progress_bars = False  # one bar over the shards, below
    try:
        shards = ray.data.from_items([{"shard": i} for i in todo], override_num_blocks=len(todo))
        results = map_batches_bounded(  # actor restarts bounded (ACTOR_RESTARTS)
            shards, ShardWorker, batch_size=1,
            compute=ray.data.ActorPoolStrategy(  # one shard at a time: a free actor takes the next
                size=min(plan.num_workers, len(todo)), max_tasks_in_flight_per_actor=1),
            num_cpus=plan.num_cpus, num_gpus=plan.num_gpus or None,
            runtime_env={"env_vars": env},
            fn_constructor_kwargs={"components": components, "run": run,
                                   "map_batch_size": map_batch_size,
                                   "threads": int(plan.num_cpus),
                                   "tensor_parallel_size": plan.tensor_parallel_size,
                                   "source": source})
        total = sum(len(run.rows(i)) for i in todo)
        with tqdm(total=total, unit="rows", disable=not progress,
                  desc=f"deita-hf score [ray, {plan.num_workers} workers]") as bar:
            for row in results.iter_rows():
                _reraise(row["error"])
                bar.update(int(row["rows"]))
                kill_point("score.shard")
    finally:
        context.enable_progress_bars = saved

