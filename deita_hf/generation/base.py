"""The generation interface every backend implements, and the shared ``generate`` logic.

An *input* is either a raw prompt (``str``: tokenized as is by local backends, sent to
``/v1/completions`` by the endpoint backend) or a chat (a list of ``{"role", "content"}``
messages: rendered with the model's own chat template by local backends, sent to
``/v1/chat/completions`` by the endpoint backend).

:meth:`Generator.generate` validates the inputs, answers what it can from the cache, asks the
backend for the rest, stores each result as soon as it arrives (failures are never cached),
cuts every text at the first stop string and returns one output per input, in input order.
A backend only implements ``_run(jobs, params, report)``.

Example:
    >>> from deita_hf.generation.base import Generator
    >>> class Echo(Generator):
    ...     backend = "echo"
    ...     def _run(self, jobs, params, report):
    ...         for index, item in jobs:
    ...             report(index, item if isinstance(item, str) else item[-1]["content"])
    >>> Echo("none").generate(["a. b", [{"role": "user", "content": "hi"}]],
    ...                       GenerationParams(stop=(".",)), progress=False)
    ['a', 'hi']
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from deita_hf.errors import ConfigError, GenerationError, InputError
from deita_hf.generation.cache import CACHE_FILENAME, GenerationCache, cache_key
from deita_hf.generation.params import GenerationParams

__all__ = ["GenerationInput", "Generator", "Report", "cut_at_stop", "is_chat", "normalize_inputs"]

#: one input: a raw prompt or a list of ``{"role", "content"}`` messages
GenerationInput = str | Sequence[Mapping[str, str]]
#: ``report(index, text=None, error=None)``: how a backend hands back one result or failure
Report = Callable[..., None]


def is_chat(item: GenerationInput) -> bool:
    """True for a list of messages, False for a raw prompt string."""
    return not isinstance(item, str)


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """``text`` up to (not including) the earliest occurrence of any stop string.

    Example:
        >>> cut_at_stop("a\\nb###c", ("###", "\\n"))
        'a'
    """
    cut = min((i for i in (text.find(s) for s in stop) if i >= 0), default=len(text))
    return text[:cut]


def normalize_inputs(inputs: Sequence[GenerationInput]) -> list[GenerationInput]:
    """Check the inputs and copy chats to plain ``[{"role", "content"}]`` lists.

    Raises:
        InputError: an item is neither a string nor a non-empty list of messages with string
            ``role`` and ``content`` (names the index).
    """
    if isinstance(inputs, (str, Mapping)):
        raise InputError("generate() takes a sequence of inputs; wrap a single prompt or chat "
                         "in a list: generate([prompt]).")
    out: list[GenerationInput] = []
    for i, item in enumerate(inputs):
        if isinstance(item, str):
            out.append(item)
            continue
        ok = isinstance(item, Sequence) and len(item) > 0 and all(
            isinstance(m, Mapping) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
            for m in item)
        if not ok:
            raise InputError(f"Input {i} is neither a prompt string nor a non-empty list of "
                             f"{{'role': str, 'content': str}} messages: {str(item)[:120]!r}.")
        out.append([{"role": m["role"], "content": m["content"]} for m in item])
    return out


class Generator:
    """Base class of the generation backends (subclasses set ``backend`` and ``_run``).

    Attributes:
        backend: backend name (``"transformers"``, ``"vllm"``, ``"openai"``); part of cache keys.
        model: model path, Hub id or served model name; part of cache keys.
        spec: the spec string that :func:`~deita_hf.generation.build_generator` parses into
            this generator.
        cache: a :class:`GenerationCache` or None.

    Args:
        model: see ``model``.
        cache_dir: folder for the generation cache (``generations.sqlite``); None: no cache.
    """

    backend: str = "base"
    #: a Jinja chat template that replaces the tokenizer's (local backends); part of cache keys
    chat_template: str | None = None

    def __init__(self, model: str, *, cache_dir: str | os.PathLike | None = None) -> None:
        self.model = str(model)
        self.spec = f"{self.backend}:{self.model}"
        self.cache = GenerationCache(Path(cache_dir) / CACHE_FILENAME) if cache_dir is not None else None

    def describe(self) -> dict[str, Any]:
        """A JSON-ready description (for provenance in output folders and logs).

        Returns:
            ``{"backend", "model", "spec", "cache", ...backend settings}``.
        """
        return {"backend": self.backend, "model": self.model, "spec": self.spec,
                "cache": str(self.cache.path) if self.cache is not None else None, **self._settings()}

    def _settings(self) -> dict[str, Any]:
        return {}

    def generate(self, inputs: Sequence[GenerationInput], params: GenerationParams | None = None, *,
                 on_error: str = "raise", progress: bool = True, desc: str | None = None
                 ) -> list[str | None]:
        """Generate one completion per input.

        Args:
            inputs: raw prompt strings and/or chats (lists of ``{"role", "content"}``).
            params: sampling settings (default ``GenerationParams()``: greedy, 512 tokens).
            on_error: ``"raise"``: an input that still fails after the backend's retries raises
                :class:`~deita_hf.errors.GenerationError` naming its index (results finished
                so far stay cached); ``"none"``: it gives None and one warning counts failures.
            progress: show a ``tqdm`` progress bar.
            desc: progress bar label (default: the spec).

        Returns:
            One text per input, in input order ("" for an empty completion; None only for a
            failure with ``on_error="none"``), each cut before its first stop string.
        """
        if on_error not in ("raise", "none"):
            raise ConfigError(f"on_error must be 'raise' or 'none', got {on_error!r}.")
        params = GenerationParams() if params is None else params
        if not isinstance(params, GenerationParams):
            raise ConfigError(f"params must be a GenerationParams, got {type(params).__name__}.")
        items = normalize_inputs(inputs)
        outputs: list[str | None] = [None] * len(items)
        keyed = self.model if not self.chat_template else \
            f"{self.model}#chat_template:{hashlib.sha256(self.chat_template.encode()).hexdigest()[:16]}"
        keys = [cache_key(self.backend, keyed, params, it) for it in items] if self.cache is not None else []
        done = [False] * len(items)
        if self.cache is not None:
            hits = self.cache.get_many(keys)
            for i, key in enumerate(keys):
                if key in hits:
                    outputs[i], done[i] = hits[key], True
        jobs = [(i, items[i]) for i in range(len(items)) if not done[i]]
        failures: dict[int, BaseException] = {}
        bar = None
        if progress and items:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(items), initial=len(items) - len(jobs), desc=desc or self.spec,
                       unit="gen", dynamic_ncols=True)

        def report(index: int, text: str | None = None, error: BaseException | None = None) -> None:
            if done[index]:
                return
            done[index] = True
            if bar is not None:
                bar.update(1)
            if error is not None or text is None:
                error = error or GenerationError("the backend returned no text")
                if on_error == "raise":
                    raise GenerationError(f"{self.spec}: input {index} failed: {error}") from error
                failures[index] = error
                return
            outputs[index] = cut_at_stop(text, params.stop)
            if self.cache is not None:
                self.cache.put(keys[index], outputs[index])

        try:
            if jobs:
                self._run(jobs, params, report)
        finally:
            if bar is not None:
                bar.close()
        missing = [i for i, _ in jobs if not done[i]]
        if missing:  # a backend bug, never a silent None
            raise GenerationError(f"{self.spec}: the backend gave no result for inputs {missing[:10]}.")
        if failures:
            first = min(failures)
            warnings.warn(f"{self.spec}: {len(failures)} of {len(items)} generations failed and are "
                          f"None (first: input {first}: {failures[first]}).", RuntimeWarning, stacklevel=2)
        return outputs

    def _run(self, jobs: list[tuple[int, GenerationInput]], params: GenerationParams, report: Report) -> None:
        """Generate for ``jobs`` (``(index, input)`` pairs) and call ``report(index, text)`` or
        ``report(index, error=exc)`` once per job, as results arrive. Exceptions raised by
        ``report`` (``on_error="raise"``) must propagate and stop the work."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec!r})"
