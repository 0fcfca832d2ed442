"""What the LLM-based components share: the generator, the asking with re-asks, the errors.

Every ask goes through the generation layer (:mod:`deita_hf.generation`): failures come back
as None (``on_error="none"``), a reply that does not parse is asked again up to ``retries``
times (the first ask greedy with seed 0, the re-asks sampled with seeds 1, 2, ...), and what
still has no value stays missing: counted in a warning, or raised. Identical prompts are asked
once per batch; with a ``cache_dir`` a re-run asks nothing twice.

Example:
    >>> from deita_hf.scoring._llm import check_on_error
    >>> check_on_error("none"), check_on_error("nan")
    ('nan', 'nan')
"""

from __future__ import annotations

import copy
import json
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deita_hf.errors import ConfigError, GenerationError

if TYPE_CHECKING:
    from deita_hf.generation import Generator

__all__ = ["LLMSettings", "ask_with_retries", "check_on_error", "report_missing", "resolve_generator"]


def check_on_error(on_error: str) -> str:
    """``"raise"``, or ``"nan"`` for the lenient mode (``"none"`` is accepted as a synonym)."""
    if on_error not in ("raise", "nan", "none"):
        raise ConfigError(f"on_error must be 'raise' or 'nan' (or 'none'), got {on_error!r}.")
    return "raise" if on_error == "raise" else "nan"


def resolve_generator(generator: Any, cache_dir: str | os.PathLike | None) -> Generator:
    """A :class:`~deita_hf.generation.Generator` from a spec string or an instance.

    Args:
        generator: a generator spec (``openai:URL#MODEL``, ``hf:PATH``, ``vllm:PATH``) or a
            :class:`~deita_hf.generation.Generator`.
        cache_dir: folder of the generation cache; for an instance, a copy gets that cache.

    Returns:
        The generator.
    """
    from deita_hf.generation import Generator, build_generator
    from deita_hf.generation.cache import CACHE_FILENAME, GenerationCache

    if isinstance(generator, (str, os.PathLike)):
        return build_generator(generator, **({"cache_dir": cache_dir} if cache_dir is not None else {}))
    if not isinstance(generator, Generator):
        raise ConfigError(f"generator must be a generator spec or a deita_hf.generation.Generator, "
                          f"got {type(generator).__name__}.")
    if cache_dir is not None:
        generator = copy.copy(generator)
        generator.cache = GenerationCache(Path(cache_dir) / CACHE_FILENAME)
    return generator


class LLMSettings:
    """Mixin of the LLM components (judge, tagger): the generator, retries and re-ask settings,
    validated once; the weights stamp of a local generator model for the cache fingerprint."""

    def _init_llm(self, generator: Any, cache_dir: str | os.PathLike | None, *, retries: int,
                  max_new_tokens: int, reask_temperature: float, on_error: str,
                  progress: bool) -> None:
        from deita_hf.runtime import local_stamp

        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ConfigError(f"retries must be an integer >= 0, got {retries!r}.")
        self.generator = resolve_generator(generator, cache_dir)
        self.weights_stamp = (None if self.generator.backend == "openai"
                              else local_stamp(self.generator.model))
        self.retries, self.max_new_tokens = retries, int(max_new_tokens)
        self.reask_temperature, self.progress = float(reask_temperature), progress
        self.on_error = check_on_error(on_error)

    @property
    def raw_column(self) -> str:
        """The column holding the raw LLM answers."""
        return f"{self.column}_raw"


def ask_with_retries(generator: Generator, chats: Sequence[list[dict[str, str]]],
                     parse: Callable[[str], Any], *,
                     retries: int, max_new_tokens: int, reask_temperature: float,
                     progress: bool = False, desc: str = "judge") -> tuple[list[Any], list[str | None]]:
    """Ask every chat, and again while its reply does not parse.

    Args:
        generator: the generator.
        chats: one chat (list of messages) per item.
        parse: reply -> value, or None when the reply is not in the required form.
        retries: asks after the first (>= 0).
        max_new_tokens: the reply's token limit.
        reask_temperature: sampling temperature of the re-asks.
        progress: show the generator's progress bars.
        desc: progress-bar label.

    Returns:
        ``(values, raws)``: the parsed value (None: none after every ask) and the last reply
        (None: every ask failed) per item.
    """
    from deita_hf.generation import GenerationParams

    keys = [json.dumps(c, sort_keys=True, ensure_ascii=False) for c in chats]
    unique = list(dict.fromkeys(keys))
    chat_of = dict(zip(keys, chats))
    value: dict[str, Any] = {}
    raw: dict[str, str | None] = dict.fromkeys(unique)
    pending = unique
    for attempt in range(retries + 1):
        if not pending:
            break
        params = GenerationParams(max_new_tokens=max_new_tokens, seed=attempt,
                                  temperature=0.0 if attempt == 0 else reask_temperature)
        with warnings.catch_warnings():  # failures are counted once, by the caller
            warnings.simplefilter("ignore", RuntimeWarning)
            texts = generator.generate([chat_of[k] for k in pending], params, on_error="none",
                                       progress=progress, desc=desc if attempt == 0 else f"{desc} (re-ask {attempt})")
        still = []
        for k, text in zip(pending, texts):
            if text is not None:
                raw[k] = text
            parsed = parse(text) if text is not None else None
            if parsed is None:
                still.append(k)
            else:
                value[k] = parsed
        pending = still
    return [value.get(k) for k in keys], [raw[k] for k in keys]


def report_missing(what: str, missing: list[tuple[str, str | None]], total: int, on_error: str,
                   tries: int, expected: str) -> None:
    """Raise (``on_error="raise"``) or warn about the items that got no value.

    Args:
        what: the component (e.g. ``"judge_quality"``).
        missing: ``(label, last reply or None)`` per missing item, labels like ``"row 3 turn 0"``.
        total: number of items asked.
        on_error: ``"raise"`` or ``"nan"``.
        tries: asks per item.
        expected: the required answer form, for the message.
    """
    if not missing:
        return
    shown = "; ".join(f"{label}: " + ("no reply (generation failed)" if text is None
                                       else f"{text[:80]!r}") for label, text in missing[:3])
    msg = (f"{what}: {len(missing)} of {total} items have no valid answer after {tries} ask(s) "
           f"(expected {expected}; {shown}).")
    if on_error == "raise":
        raise GenerationError(msg + " Pass on_error='nan' to keep them missing and go on.")
    warnings.warn(msg + " They are missing (NaN/None), never filled in.", RuntimeWarning, stacklevel=3)
