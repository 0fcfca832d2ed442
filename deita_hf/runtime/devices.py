"""Where models run: devices, dtypes, ``accelerate`` processes and worker threads.

The one place that resolves a device (:func:`resolve_device` for model placement,
:func:`torch_device` for validated torch devices, :func:`dist_state` for ``accelerate``
processes) and a dtype (:func:`resolve_dtype_name`).

Example:
    >>> from deita_hf.runtime.devices import resolve_dtype_name, torch_device
    >>> resolve_dtype_name("bf16", "cpu")
    'bfloat16'
    >>> torch_device("cpu")
    device(type='cpu')
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from deita_hf.errors import ConfigError

if TYPE_CHECKING:
    import torch
    from accelerate import PartialState

__all__ = ["dist_state", "in_worker_process", "limit_threads_in_worker", "resolve_device",
           "resolve_dtype_name", "torch_device"]

_DTYPE_ALIASES = {
    "bf16": "bfloat16", "bfloat16": "bfloat16", "fp16": "float16", "float16": "float16",
    "half": "float16", "fp32": "float32", "float32": "float32", "float": "float32",
}


def resolve_device(device: Any) -> str:
    """``None``/``"auto"`` -> ``"cuda"`` when available, else ``"cpu"``; anything else is
    validated (:func:`torch_device`: a device this machine lacks is a ConfigError) and returned
    as given."""
    if device is None or str(device) == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    torch_device(device)
    return str(device)


def torch_device(device: Any = None) -> torch.device:
    """A validated ``torch.device`` (None: CUDA if available, else CPU).

    Raises:
        ConfigError: not a torch device, or a CUDA device that this machine does not have.
    """
    import torch

    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ConfigError(f"device {device!r} is not a torch device ({err}); try 'cpu' or "
                          f"'cuda'.") from err
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ConfigError(f"device {device!r} asked for, but torch.cuda.is_available() is "
                              f"False here; pass device='cpu' (or None to pick automatically).")
        if dev.index is not None and dev.index >= count:
            raise ConfigError(f"device {device!r} asked for, but this machine has {count} CUDA "
                              f"device(s) (cuda:0..cuda:{count - 1}).")
    return dev


def dist_state(device: str | None = None) -> PartialState:
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


def resolve_dtype_name(dtype: Any, device: str) -> str:
    """Resolve a dtype option to a torch dtype name.

    ``None``/``"auto"``: bfloat16 on a CUDA device that supports it, float16 on other CUDA
    devices, float32 on CPU (exact scores; pass ``"bfloat16"`` for ~2x on AVX-512-BF16 CPUs).
    """
    if dtype is None or str(dtype) == "auto":
        if device.startswith("cuda"):
            import torch

            return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        return "float32"
    name = str(dtype).replace("torch.", "")
    if name not in _DTYPE_ALIASES:
        raise ConfigError(f"Unknown dtype {dtype!r}; use one of bfloat16, float16, float32 or 'auto'.")
    return _DTYPE_ALIASES[name]


def in_worker_process() -> bool:
    """True inside a ``multiprocessing``/``multiprocess`` child (e.g. ``Dataset.map(num_proc=...)``)."""
    import multiprocessing

    if multiprocessing.parent_process() is not None:
        return True
    try:
        import multiprocess

        return multiprocess.parent_process() is not None
    except (ImportError, AttributeError):
        return False


def limit_threads_in_worker() -> None:
    """Use one torch thread in a forked worker: OpenMP after ``fork`` otherwise deadlocks."""
    if in_worker_process():
        import torch

        torch.set_num_threads(1)
