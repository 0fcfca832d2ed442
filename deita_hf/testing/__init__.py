"""Test helpers that ship with the package, usable offline by users and by the test suite.

- :mod:`~deita_hf.testing.tiny_models`: tiny LLaMA models and tokenizers built offline.
- :mod:`~deita_hf.testing.openai_server`: a scripted OpenAI-compatible server on 127.0.0.1.

Example:
    >>> from deita_hf.testing import build_tiny_llama
    >>> callable(build_tiny_llama)
    True
"""

from deita_hf.testing.tiny_models import (
    VICUNA_STYLE_TEMPLATE,
    build_tiny_llama,
    build_tokenizer,
)

__all__ = ["VICUNA_STYLE_TEMPLATE", "build_tiny_llama", "build_tokenizer"]
