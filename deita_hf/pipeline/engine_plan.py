"""How a Ray run places its workers: how many, with how many GPUs and CPUs each, on which
device the transformers components run and how large a vLLM engine's tensor-parallel group is.

Pure Python (no Ray import), so the choice is unit-tested on machines without GPUs or vLLM.
The rules:

* ``gpus_per_worker`` defaults to 1 where the cluster has GPUs, else 0 (CPU workers); asking for
  GPUs on a cluster without any is an error.
* Components on the vLLM backend (``vllm:MODEL`` specs) need GPUs: one engine per worker, its
  tensor-parallel group the worker's GPUs (a whole number of them). Without GPUs they are an
  error that names the transformers spec to use instead; nothing is switched silently.
* Transformers components run on ``cuda`` in GPU workers and on ``cpu`` in CPU workers, with
  ``cpus_per_worker`` torch threads.
* ``num_workers`` defaults to what the cluster holds: its GPUs / ``gpus_per_worker``, or its CPUs
  / ``cpus_per_worker``.

Example:
    >>> plan = plan_workers([], cluster_cpus=2, cluster_gpus=0)
    >>> plan.num_workers, plan.num_gpus, plan.device
    (2, 0.0, 'cpu')
    >>> plan_workers([], cluster_cpus=64, cluster_gpus=8, gpus_per_worker=2).num_workers
    4
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any

from deita_hf.components import component_name
from deita_hf.errors import ConfigError

__all__ = ["WorkerPlan", "plan_workers", "uses_vllm"]


@dataclass(frozen=True)
class WorkerPlan:
    """Where the workers of a Ray run go (see the module docstring)."""

    #: actors in the pool (each loads every component's model once)
    num_workers: int
    #: GPUs per actor (Ray's ``num_gpus``; fractional shares a GPU between transformers workers)
    num_gpus: float
    #: CPUs per actor (Ray's ``num_cpus``; also its torch threads)
    num_cpus: float
    #: device of the transformers components: "cuda" or "cpu"
    device: str
    #: GPUs of one vLLM engine (1 without vLLM components)
    tensor_parallel_size: int
    #: per component: "vllm" or "transformers"
    backends: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """The plan as recorded in ``deita_score.json`` (``engine``)."""
        d = asdict(self)
        d["backends"] = list(self.backends)
        return d


def uses_vllm(component: Any) -> bool:
    """True for a component on the vLLM backend (its ``backend`` attribute is ``"vllm"``).

    Example:
        >>> from deita_hf.scoring import ComplexityScorer
        >>> uses_vllm(ComplexityScorer("m", backend="vllm")), uses_vllm(ComplexityScorer("m"))
        (True, False)
    """
    return getattr(component, "backend", None) == "vllm"


def plan_workers(components: list, *, cluster_cpus: float, cluster_gpus: float,
                 num_workers: int | None = None, gpus_per_worker: float | None = None,
                 cpus_per_worker: float = 1) -> WorkerPlan:
    """Choose the workers of a Ray run (see the module docstring for the rules).

    Args:
        components: the components the workers run.
        cluster_cpus, cluster_gpus: the cluster's resources (``ray.cluster_resources()``).
        num_workers: actors in the pool (default: as many as the cluster holds).
        gpus_per_worker: GPUs per actor (default: 1 with GPUs in the cluster, else 0).
        cpus_per_worker: CPUs (and torch threads) per actor.

    Returns:
        The :class:`WorkerPlan`.

    Raises:
        ConfigError: GPUs asked for on a cluster without any, vLLM components without GPUs or
            with a fractional GPU count, or a non-positive worker/CPU count.

    Example:
        >>> from deita_hf.scoring import QualityScorer
        >>> plan = plan_workers([QualityScorer("m", backend="vllm")], cluster_cpus=32,
        ...                     cluster_gpus=8, gpus_per_worker=4)
        >>> plan.num_workers, plan.tensor_parallel_size, plan.backends
        (2, 4, ('vllm',))
    """
    if num_workers is not None and num_workers < 1:
        raise ConfigError(f"--num-workers must be positive, got {num_workers}.")
    if cpus_per_worker <= 0:
        raise ConfigError(f"cpus_per_worker must be positive, got {cpus_per_worker}.")
    if gpus_per_worker is not None and gpus_per_worker < 0:
        raise ConfigError(f"--gpus-per-worker must be 0 or more, got {gpus_per_worker}.")
    backends = tuple("vllm" if uses_vllm(c) else "transformers" for c in components)
    gpus = float(gpus_per_worker if gpus_per_worker is not None else (1 if cluster_gpus >= 1 else 0))
    if gpus > 0 and cluster_gpus <= 0:
        raise ConfigError(f"--gpus-per-worker {gpus_per_worker:g} asked for, but the Ray cluster "
                          f"has no GPU (resources: {cluster_cpus:g} CPUs). Pass "
                          f"--gpus-per-worker 0 to score on CPUs, or connect to a cluster with "
                          f"GPUs (--address).")
    tp = 1
    if "vllm" in backends:
        names = ", ".join(component_name(c) for c in components if uses_vllm(c))
        if gpus <= 0:
            raise ConfigError(f"{names} run(s) on vLLM, which needs GPUs, but the workers get none "
                              f"(the cluster has {cluster_gpus:g} GPUs, --gpus-per-worker "
                              f"{gpus:g}). Use the transformers backend on CPUs (the spec without "
                              f"'vllm:'), or run on a cluster with GPUs.")
        if gpus != int(gpus):
            raise ConfigError(f"{names} run(s) on vLLM, whose engine takes whole GPUs (a "
                              f"tensor-parallel group), but --gpus-per-worker is {gpus:g}. Pass "
                              f"1, 2, 4, ...")
        tp = int(gpus)
    if num_workers is None:
        held = cluster_gpus / gpus if gpus > 0 else cluster_cpus / cpus_per_worker
        num_workers = max(1, math.floor(held + 1e-9))
    elif gpus > 0 and num_workers * gpus > cluster_gpus + 1e-9:
        warnings.warn(f"{num_workers} workers x {gpus:g} GPUs asked for, but the Ray cluster has "
                      f"{cluster_gpus:g} GPUs now: the workers beyond it wait for GPUs to be "
                      f"added (an autoscaling cluster).", stacklevel=2)
    return WorkerPlan(num_workers=int(num_workers), num_gpus=gpus, num_cpus=float(cpus_per_worker),
                      device="cuda" if gpus > 0 else "cpu", tensor_parallel_size=tp,
                      backends=backends)

