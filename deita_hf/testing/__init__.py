"""Test helpers that ship with the package, usable offline by users and by the test suite:
:mod:`~deita_hf.testing.tiny_models` builds tiny LLaMA models and tokenizers offline (the
README's quick start and the doctests use them). The test doubles (a scripted OpenAI server, a
fake Hub) live with the tests, in ``tests/helpers/``.

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
