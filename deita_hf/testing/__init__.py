"""Test helpers that ship with the package, usable offline by users and by the test suite.

- :mod:`~deita_hf.testing.tiny_models`: tiny LLaMA models and tokenizers built offline.
- :mod:`~deita_hf.testing.openai_server`: a scripted OpenAI-compatible server on 127.0.0.1
  (:class:`ScriptedOpenAIServer`), for judges and generators in tests.
- :mod:`~deita_hf.testing.hub_server`: a local fake Hugging Face Hub for push/load round trips.

Example:
    >>> from deita_hf.testing import ScriptedOpenAIServer, build_tiny_llama
    >>> callable(build_tiny_llama) and callable(ScriptedOpenAIServer)
    True
"""

from deita_hf.testing.openai_server import Fault, ScriptedOpenAIServer, scripted
from deita_hf.testing.tiny_models import (
           VICUNA_STYLE_TEMPLATE,
           build_tiny_llama,
           build_tokenizer,
)

__all__ = ["VICUNA_STYLE_TEMPLATE", "Fault", "ScriptedOpenAIServer", "build_tiny_llama",
           "build_tokenizer", "scripted"]
