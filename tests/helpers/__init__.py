"""Test doubles of the suite (``tests/`` is on ``sys.path``: ``from helpers.openai_server import
ScriptedOpenAIServer``):

- :mod:`helpers.openai_server`: a scripted OpenAI-compatible server on 127.0.0.1
  (:class:`~helpers.openai_server.ScriptedOpenAIServer`), for judges and generators.
- :mod:`helpers.hub_server`: a local fake Hugging Face Hub for push/load round trips.
"""
