"""One generation layer for every LLM call of the project (judges, evaluation, EVOL, ranking).

Three backends behind one interface, :meth:`Generator.generate`:

- ``hf:PATH_OR_ID``: :class:`TransformersGenerator` (local, batched ``transformers.generate``);
- ``vllm:PATH_OR_ID``: :class:`VLLMGenerator` (local vLLM engine, GPU);
- ``openai:URL#MODEL``: :class:`OpenAIGenerator` (any OpenAI-compatible server, through the
  ``openai`` client; works with ``HF_HUB_OFFLINE=1``).

Inputs are raw prompt strings or chats (lists of ``{"role", "content"}``); sampling settings
are a :class:`GenerationParams`; pass ``cache_dir=`` to any backend to reuse finished
generations from a :class:`GenerationCache` (one SQLite file).

Example:
    >>> from deita_hf.generation import GenerationParams, build_generator
    >>> gen = build_generator("openai:http://127.0.0.1:8000/v1#judge")
    >>> gen.describe()["backend"], gen.base_url
    ('openai', 'http://127.0.0.1:8000/v1')
    >>> gen.generate(["2 + 2 ="], GenerationParams(max_new_tokens=4))  # doctest: +SKIP
    ['4']
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from deita_hf.errors import ConfigError
from deita_hf.generation.base import GenerationInput, Generator, cut_at_stop
from deita_hf.generation.cache import GenerationCache, cache_key
from deita_hf.generation.openai_backend import OpenAIGenerator
from deita_hf.generation.params import GenerationParams
from deita_hf.generation.transformers_backend import TransformersGenerator
from deita_hf.generation.vllm_backend import VLLMGenerator

__all__ = [
    "GenerationCache", "GenerationInput", "GenerationParams", "Generator", "OpenAIGenerator",
    "TransformersGenerator", "VLLMGenerator", "build_generator", "cache_key", "cut_at_stop",
]

SPEC_FORMS = ("hf:PATH_OR_ID (transformers)", "vllm:PATH_OR_ID (vLLM)",
              "openai:URL#MODEL (an OpenAI-compatible server, e.g. openai:http://127.0.0.1:8000/v1#my-model)",
              "an existing local model folder (= hf:PATH)")


def _bad(spec: Any, why: str) -> ConfigError:
    forms = "; ".join(SPEC_FORMS)
    return ConfigError(f"Bad generator spec {spec!r}: {why}. Accepted forms: {forms}.")


def build_generator(spec: str | os.PathLike, **kwargs: Any) -> Generator:
    """Make a generator from a spec string (the only parser of generator specs).

    Args:
        spec: ``hf:PATH_OR_ID``, ``vllm:PATH_OR_ID``, ``openai:URL#MODEL`` (URL with or without
            ``/v1``) or an existing local folder (read as ``hf:``). Models load lazily.
        **kwargs: passed to the backend's constructor (``cache_dir``, ``batch_size``,
            ``max_concurrency``, ...).

    Returns:
        A :class:`TransformersGenerator`, :class:`VLLMGenerator` or :class:`OpenAIGenerator`
        whose ``spec`` is the normalised spec.

    Raises:
        ConfigError: the spec matches no accepted form, or a keyword is not accepted by the
            backend (the message lists the accepted forms).

    Example:
        >>> build_generator("openai:http://127.0.0.1:8000#m").spec
        'openai:http://127.0.0.1:8000/v1#m'
        >>> build_generator("gpt-4")
        Traceback (most recent call last):
        ...
        deita_hf.errors.ConfigError: Bad generator spec 'gpt-4': ...
    """
    if isinstance(spec, os.PathLike):
        spec = os.fspath(spec)
    if not isinstance(spec, str) or not spec.strip():
        raise _bad(spec, "it is empty or not a string")
    spec = spec.strip()
    prefix, sep, rest = spec.partition(":")
    if sep and prefix in ("hf", "vllm"):
        if not rest.strip():
            raise _bad(spec, f"'{prefix}:' needs a model folder or Hub id after it")
        cls, args = (TransformersGenerator if prefix == "hf" else VLLMGenerator), (rest.strip(),)
    elif sep and prefix == "openai":
        url, hash_, model = rest.partition("#")
        if not hash_ or not url.strip() or not model.strip():
            raise _bad(spec, "'openai:' needs URL#MODEL (the served model name after '#')")
        if not url.strip().startswith(("http://", "https://")):
            raise _bad(spec, "the URL after 'openai:' must start with http:// or https://")
        cls, args = OpenAIGenerator, (url.strip(), model.strip())
    elif Path(spec).expanduser().exists():
        cls, args = TransformersGenerator, (str(Path(spec).expanduser()),)
    else:
        why = f"unknown backend '{prefix}:'" if sep and "/" not in prefix and len(prefix) > 1 else \
            "it is not an existing local path and has no backend prefix"
        raise _bad(spec, why)
    try:
        return cls(*args, **kwargs)
    except TypeError as err:
        raise ConfigError(f"Generator spec {spec!r} ({cls.__name__}): {err}.") from err
