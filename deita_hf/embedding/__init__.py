"""Embedders: callables for ``Dataset.map(batched=True)`` that add an ``embedding`` column.

Each row gets one L2-normalised ``list[float]`` for the **whole conversation** (system prompt,
every instruction and response):

* :class:`DeitaEmbedder` reproduces the paper's Repr filter: the conversation rendered with
  FastChat's ``vicuna_v1.1`` template, Mistral-7B-v0.1's last hidden state at the last token
  (``--embedder deita``).
* :class:`SentenceEmbedder` embeds the messages' contents joined by blank lines
  (``"\\n\\n".join(m["content"] for m in messages)``), truncated by the model's own max length
  (256 tokens for all-MiniLM-L6-v2). Fast and offline, but not the paper's set-up.
* :class:`CausalLMEmbedder` renders the conversation with a chat model's own chat template and
  takes the last layer's hidden state at the last non-padding token (or the mean over tokens
  with ``pooling="mean"``).
* :class:`RdsEmbedder` reproduces RDS+ (Ivison et al., 2025): the conversation in the Tulu
  format, the position-weighted mean of a base model's last hidden states (``--embedder
  rds:MODEL``).

Example:
    >>> from deita_hf.embedding import SentenceEmbedder
    >>> emb = SentenceEmbedder()  # the packaged all-MiniLM-L6-v2, loaded on first call
    >>> emb.column
    'embedding'

"""

from deita_hf.embedding.causal_lm import CausalLMEmbedder
from deita_hf.embedding.deita import DEITA_EMBEDDER_MODEL, DeitaEmbedder, render_vicuna
from deita_hf.embedding.rds import RdsEmbedder
from deita_hf.embedding.sentence import MINILM, SentenceEmbedder, conversation_text

__all__ = ["DEITA_EMBEDDER_MODEL", "MINILM", "CausalLMEmbedder", "DeitaEmbedder", "RdsEmbedder",
           "SentenceEmbedder", "conversation_text", "render_vicuna"]
