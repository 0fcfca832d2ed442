"""How models load: local paths, offline mode, load errors, ``from_pretrained`` and the lazy
holder that keeps loaded models out of pickles (:class:`LazyRuntime`).

Example:
    >>> from deita_hf.runtime.models import offline_variables
    >>> offline_variables(env={"HF_HUB_OFFLINE": "1"})
    ['HF_HUB_OFFLINE=1']
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from deita_hf.errors import ConfigError, ModelLoadError
from deita_hf.runtime.devices import limit_threads_in_worker, resolve_device, resolve_dtype_name

__all__ = ["OFFLINE_VARIABLES", "TOKENIZER_PACKAGES", "LazyRuntime", "is_local", "load_error",
           "load_pretrained", "local_stamp", "missing_tokenizer_packages", "offline_reason",
           "offline_variables", "set_vllm_defaults", "vllm_defaults"]


def is_local(path: str) -> bool:
    return Path(path).expanduser().exists()


def local_stamp(path: str) -> tuple[tuple[str, int, int], ...] | None:
    """Names, sizes and mtimes of a local model folder's files (cheap; part of the fingerprint
    so that retraining a model in place invalidates the ``datasets`` cache). None for Hub ids."""
    p = Path(path).expanduser()
    if not p.exists():
        return None
    files = [p] if p.is_file() else sorted(f for f in p.iterdir() if f.is_file())
    return tuple((f.name, f.stat().st_size, int(f.stat().st_mtime)) for f in files)


#: the environment variables that switch the Hugging Face libraries offline
OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")


def _env_true(value: str | None) -> bool:
    """A boolean variable as huggingface_hub and datasets read it: true when its upper-cased
    value is one of their ``ENV_VARS_TRUE_VALUES`` (``1``, ``ON``, ``YES``, ``TRUE``)."""
    from huggingface_hub.constants import ENV_VARS_TRUE_VALUES

    return value is not None and value.upper() in ENV_VARS_TRUE_VALUES


def offline_variables(library: str = "hub", env: Mapping[str, str] | None = None) -> list[str]:
    """The variables that make ``library`` offline now, read as that library reads them.

    ``"hub"`` (huggingface_hub, and transformers through it): ``HF_HUB_OFFLINE`` when it is set
    to anything, else ``TRANSFORMERS_OFFLINE``; ``"datasets"``: ``HF_DATASETS_OFFLINE`` when set,
    else the hub's. Every true-valued variable among those read is named (unsetting only one
    of two leaves the library offline).

    Args:
        library: ``"hub"`` or ``"datasets"``.
        env: the environment to read (default ``os.environ``).

    Returns:
        ``["NAME=value", ...]``; empty when the library is online.

    Example:
        >>> offline_variables(env={"TRANSFORMERS_OFFLINE": "1"})
        ['TRANSFORMERS_OFFLINE=1']
        >>> offline_variables(env={"HF_HUB_OFFLINE": "0", "TRANSFORMERS_OFFLINE": "1"})  # read first
        []
        >>> offline_variables("datasets", {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "0"})
        []
    """
    if library not in ("hub", "datasets"):
        raise ConfigError(f"library={library!r}; expected 'hub' or 'datasets'.")
    env = os.environ if env is None else env
    if library == "datasets" and env.get("HF_DATASETS_OFFLINE") is not None:
        value = env["HF_DATASETS_OFFLINE"]
        return [f"HF_DATASETS_OFFLINE={value}"] if _env_true(value) else []
    if not _env_true(env.get("HF_HUB_OFFLINE") or env.get("TRANSFORMERS_OFFLINE")):
        return []
    return [f"{k}={env[k]}" for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
            if _env_true(env.get(k))]


def offline_reason(library: str = "hub", env: Mapping[str, str] | None = None) -> str | None:
    """Which variables make ``library`` offline, as a phrase for messages (None: online).

    Example:
        >>> offline_reason(env={"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
        'HF_HUB_OFFLINE=1 and TRANSFORMERS_OFFLINE=1 are set (huggingface_hub then makes no network request)'
    """
    names = offline_variables(library, env)
    if not names:
        return None
    verb = "is" if len(names) == 1 else "are"
    what = "huggingface_hub" if library == "hub" else "datasets"
    return f"{' and '.join(names)} {verb} set ({what} then makes no network request)"


def load_error(what: str, name: str, err: BaseException, hint: str) -> ModelLoadError:
    """An error that says why ``name`` did not load and what to do instead."""
    offline = offline_reason("hub")
    looks_like_path = name.startswith(("/", ".", "~")) or name.count("/") > 1 or "\\" in name
    where = ("a local path" if is_local(name) else
             "a local path that does not exist" if looks_like_path else "a Hub id")
    reason = (f" The Hub is unreachable here ({offline})." if offline and where == "a Hub id"
              else "")
    missing = missing_tokenizer_packages(name, err)
    if missing:
        reason += (f" Its tokenizer is a SentencePiece model (tokenizer.model), which needs the "
                   f"{' and '.join(missing)} package(s), not installed here: `pip install "
                   f"{' '.join(missing)}`.")
    if where == "a Hub id":
        todo = (f"Download it where there is network (`hf download {name} --local-dir DIR`) and "
                f"pass the local DIR instead{hint}.")
    elif where == "a local path":
        todo = f"Check that the folder holds a complete model (config, weights, tokenizer){hint}."
    else:
        todo = f"Check the path (a typo?), or pass a Hub id or an existing folder{hint}."
    return ModelLoadError(
        f"Could not load the {what} {name!r} ({where}): {type(err).__name__}: {err}.{reason} "
        f"{todo}"
    )


#: the packages that read a SentencePiece ``tokenizer.model`` (LLaMA / Mistral folders without a
#: ``tokenizer.json``), by import name -> pip name
TOKENIZER_PACKAGES = {"sentencepiece": "sentencepiece", "google.protobuf": "protobuf"}


def missing_tokenizer_packages(name: str, err: BaseException | None = None) -> list[str]:
    """The pip names of :data:`TOKENIZER_PACKAGES` that are not installed, when ``name`` needs
    them: a local folder with ``tokenizer.model`` and no ``tokenizer.json``, or an error that
    mentions SentencePiece or tiktoken (transformers falls back to tiktoken and fails with a
    misleading message when sentencepiece is missing). Empty otherwise.
    """
    import importlib.util

    def installed(module: str) -> bool:
        try:
            return importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            return False

    missing = [pip for module, pip in TOKENIZER_PACKAGES.items() if not installed(module)]
    if not missing:
        return []
    folder = Path(name).expanduser()
    spm_folder = folder.is_dir() and (folder / "tokenizer.model").is_file() and not (
        folder / "tokenizer.json").is_file()
    text = f"{type(err).__name__} {err}".lower() if err is not None else ""
    return missing if spm_folder or any(w in text for w in ("sentencepiece", "tiktoken",
                                                             "tokenizer.model")) else []


def load_pretrained(auto_class: str, name: str, *, revision: str | None, device: Any,
                    dtype: Any, trust_remote_code: bool, what: str, hint: str) -> tuple[Any, Any]:
    """Load a tokenizer and a ``transformers`` model (``auto_class``, e.g.
    ``"AutoModelForCausalLM"``) onto the resolved device and dtype, in eval mode.

    Args:
        auto_class: the name of a ``transformers`` Auto class.
        name: a local folder or a Hub id.
        revision, trust_remote_code: passed to ``from_pretrained``.
        device, dtype: resolved with :func:`resolve_device` / :func:`resolve_dtype_name`.
        what, hint: for the :func:`load_error` message (what is loaded; what else to do).

    Returns:
        ``(model, tokenizer)``.

    Raises:
        ModelLoadError: the model or tokenizer could not be loaded (the message says why).
    """
    import torch
    import transformers
    from transformers import AutoTokenizer

    limit_threads_in_worker()
    device = resolve_device(device)
    dtype_name = resolve_dtype_name(dtype, device)
    try:
        tokenizer = AutoTokenizer.from_pretrained(name, revision=revision,
                                                  trust_remote_code=trust_remote_code)
        model = getattr(transformers, auto_class).from_pretrained(
            name, revision=revision, dtype=getattr(torch, dtype_name),
            trust_remote_code=trust_remote_code)
    except (OSError, ValueError, ImportError) as err:
        raise load_error(what, name, err, hint) from err
    return model.to(device).eval(), tokenizer


#: engine arguments every vLLM engine of this process gets (set by the Ray engine's workers)
_VLLM_DEFAULTS: dict[str, Any] = {}


def set_vllm_defaults(**engine_args: Any) -> None:
    """Engine arguments for every vLLM engine this process creates from now on (the scorers'
    and the embedder's), e.g. ``tensor_parallel_size`` in a Ray worker that holds several GPUs.

    Example:
        >>> set_vllm_defaults(tensor_parallel_size=2); vllm_defaults()
        {'tensor_parallel_size': 2}
        >>> set_vllm_defaults(); vllm_defaults()
        {}
    """
    _VLLM_DEFAULTS.clear()
    _VLLM_DEFAULTS.update(engine_args)


def vllm_defaults() -> dict[str, Any]:
    """The engine arguments :func:`set_vllm_defaults` set (a copy)."""
    return dict(_VLLM_DEFAULTS)


class LazyRuntime:
    """Mixin: pickle (and ``datasets``-fingerprint) the settings only, never the loaded model.

    Loaded objects live in ``self._rt`` (a dict), which is dropped when pickling and recreated
    empty when unpickling, so workers and cache fingerprints see only the settings.
    """

    def _reset_runtime(self) -> None:
        self._rt: dict[str, Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_rt"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._reset_runtime()
