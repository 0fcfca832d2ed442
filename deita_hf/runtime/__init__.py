"""Where and how models run, in two modules:

- :mod:`~deita_hf.runtime.devices`: devices, dtypes, ``accelerate`` processes, worker threads;
- :mod:`~deita_hf.runtime.models`: local paths, offline mode, load errors,
  ``from_pretrained`` (:func:`load_pretrained`, the package's one loader) and
  :class:`LazyRuntime` (loaded models kept out of pickles).

Their public names are importable from here too.

Example:
    >>> from deita_hf.runtime import resolve_dtype_name
    >>> resolve_dtype_name("fp16", "cpu")
    'float16'
"""

from deita_hf.runtime.devices import (
    dist_state,
    in_worker_process,
    limit_threads_in_worker,
    resolve_device,
    resolve_dtype_name,
    torch_device,
)
from deita_hf.runtime.models import (
    OFFLINE_VARIABLES,
    TOKENIZER_PACKAGES,
    LazyRuntime,
    is_local,
    load_error,
    load_pretrained,
    local_stamp,
    missing_tokenizer_packages,
    offline_reason,
    offline_variables,
    set_vllm_defaults,
    vllm_defaults,
)

__all__ = ["OFFLINE_VARIABLES", "TOKENIZER_PACKAGES", "LazyRuntime", "dist_state",
           "in_worker_process", "is_local", "limit_threads_in_worker", "load_error",
           "load_pretrained", "local_stamp", "missing_tokenizer_packages", "offline_reason",
           "offline_variables", "resolve_device", "resolve_dtype_name", "set_vllm_defaults",
           "torch_device", "vllm_defaults"]
