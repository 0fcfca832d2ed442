"""Sampling settings shared by every generation backend.

Example:
    >>> from deita_hf.generation import GenerationParams
    >>> p = GenerationParams(max_new_tokens=64, stop=["\\n\\n"])
    >>> p.greedy, p.stop
    (True, ('\\n\\n',))
    >>> p.to_dict()["max_new_tokens"]
    64
    >>> GenerationParams(top_p=0)
    Traceback (most recent call last):
    ...
    deita_hf.errors.ConfigError: GenerationParams.top_p must be in (0, 1], got 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from deita_hf.errors import ConfigError

__all__ = ["GenerationParams"]


@dataclass(frozen=True)
class GenerationParams:
    """How to generate: the same meaning on every backend.

    Args:
        max_new_tokens: most tokens to generate per input (>= 1).
        temperature: 0 means greedy decoding; > 0 samples at that temperature.
        top_p: nucleus sampling mass in (0, 1] (only used when sampling).
        seed: sampling seed (None: not seeded, so not reproducible). Backends apply it per
            batch (transformers), per request (vLLM, OpenAI-compatible servers).
        stop: strings that end a completion; the text is cut before the first one found
            (every backend, so outputs agree). A list is accepted and stored as a tuple.
    """

    max_new_tokens: int = 512
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = 0
    stop: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        def bad(field: str, why: str) -> ConfigError:
            return ConfigError(f"GenerationParams.{field} {why}, got {getattr(self, field)!r}.")

        if isinstance(self.max_new_tokens, bool) or not isinstance(self.max_new_tokens, int) \
                or self.max_new_tokens < 1:
            raise bad("max_new_tokens", "must be an integer >= 1")
        for field in ("temperature", "top_p"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise bad(field, "must be a finite number")
        if self.temperature < 0:
            raise bad("temperature", "must be >= 0 (0 = greedy)")
        if not 0 < self.top_p <= 1:
            raise bad("top_p", "must be in (0, 1]")
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int)
                                      or self.seed < 0):
            raise bad("seed", "must be None or an integer >= 0")
        stop = self.stop
        if isinstance(stop, str) or not isinstance(stop, (tuple, list)):
            raise bad("stop", "must be a tuple of non-empty strings (wrap one string in a tuple)")
        if not all(isinstance(s, str) and s for s in stop):
            raise bad("stop", "must hold non-empty strings only")
        object.__setattr__(self, "stop", tuple(stop))
        object.__setattr__(self, "temperature", float(self.temperature))
        object.__setattr__(self, "top_p", float(self.top_p))

    @property
    def greedy(self) -> bool:
        """True when ``temperature == 0`` (deterministic decoding)."""
        return self.temperature == 0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (``stop`` as a list); part of every cache key.

        Returns:
            ``{"max_new_tokens", "temperature", "top_p", "seed", "stop"}``.
        """
        return {"max_new_tokens": self.max_new_tokens, "temperature": self.temperature,
                "top_p": self.top_p, "seed": self.seed, "stop": list(self.stop)}
