"""``VLLMDeitaEmbedder``: :class:`~deita_hf.embedding.DeitaEmbedder`'s vectors computed by a vLLM
pooling engine (GPU users; ``--embedder vllm`` or ``vllm:MODEL``).

The same token ids as ``DeitaEmbedder`` (the conversation in FastChat's vicuna_v1.1 template,
BOS first, cut on the right at ``max_length``) go to vLLM as token prompts; the engine runs the
causal LM as an embedding model with last-token pooling of the last hidden state (after the
final norm, as ``AutoModel`` returns it), and the vectors are L2-normalised in float32 here.
vLLM runs the model in its own dtype (``auto``: bf16/fp16), so the vectors equal the
transformers backend's up to that precision. Needs ``pip install 'deita_hf[vllm]'`` and a GPU;
the engine also gets the process's :func:`deita_hf.runtime.vllm_defaults` (a Ray worker sets
``tensor_parallel_size`` there).

Example:
    >>> emb = VLLMDeitaEmbedder("/models/mistral")  # nothing loads until the first call
    >>> emb.describe()["backend"], emb.backend, emb.column
    ('vllm', 'vllm', 'embedding')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from deita_hf.embedding.deita import DEITA_EMBEDDER_MODEL, DeitaEmbedder
from deita_hf.errors import ConfigError
from deita_hf.runtime import load_error, vllm_defaults

__all__ = ["VLLMDeitaEmbedder"]


class VLLMDeitaEmbedder(DeitaEmbedder):
    """DEITA's Repr-filter embedder on vLLM (column ``embedding``).

    Args:
        model: a causal LM folder or Hub id (default ``mistralai/Mistral-7B-v0.1``).
        max_length: tokens per conversation, BOS included (also vLLM's ``max_model_len``).
        batch_size: kept for the card; vLLM schedules its own batches.
        dtype: vLLM's ``dtype`` (default ``"auto"``).
        revision: the model's Hub revision.
    """

    backend = "vllm"

    def __init__(self, model: str = DEITA_EMBEDDER_MODEL, *, max_length: int = 2048,
                 batch_size: int = 8, dtype: Any = None, revision: str | None = None,
                 device: str | None = None) -> None:
        super().__init__(model, max_length=max_length, batch_size=batch_size, dtype=dtype,
                         revision=revision, device=device)

    def __repr__(self) -> str:
        return f"VLLMDeitaEmbedder({self.model_name_or_path!r}, max_length={self.max_length})"

    def compute_dtype(self) -> str:
        """vLLM's dtype setting (``auto`` unless given)."""
        return f"vllm-{self.dtype or 'auto'}"

    def describe(self) -> dict[str, Any]:
        """The settings that identify the vectors (written to dataset cards)."""
        return {**super().describe(), "backend": "vllm"}

    def load(self) -> None:
        """Start the vLLM pooling engine and load the tokenizer (once)."""
        if "llm" in self._rt:
            return
        try:
            from vllm import LLM
            from vllm.config import PoolerConfig
        except ImportError as err:
            raise ConfigError("--embedder vllm needs vLLM: pip install 'deita_hf[vllm]' (GPU "
                              "only), or use --embedder deita (transformers).") from err
        from transformers import AutoTokenizer

        try:
            tok = AutoTokenizer.from_pretrained(self.model_name_or_path, revision=self.revision)
        except (OSError, ValueError) as err:
            raise load_error("DEITA embedder", self.model_name_or_path, err,
                             " (`--embedder vllm:DIR`)") from err
        engine = {**vllm_defaults(), "model": self.model_name_or_path, "revision": self.revision,
                  "max_model_len": self.max_length, "dtype": self.dtype or "auto"}
        pooler = PoolerConfig(pooling_type="LAST", normalize=False)
        try:  # vLLM >= 0.10: a causal LM converted to an embedding model
            llm = LLM(**engine, runner="pooling", convert="embed", pooler_config=pooler)
        except TypeError:  # older vLLM
            llm = LLM(**engine, task="embed", override_pooler_config=pooler)
        tok.truncation_side = "right"
        self._rt.update(llm=llm, tokenizer=tok)

    def embed_ids(self, ids: Sequence[Sequence[int]]) -> list[list[float]]:
        """L2-normalised float32 last-token vectors of token-id sequences, from vLLM."""
        import torch
        from vllm.inputs import TokensPrompt

        self.load()
        outs = self._rt["llm"].embed([TokensPrompt(prompt_token_ids=list(x)) for x in ids],
                                     use_tqdm=False)
        vectors = torch.tensor([o.outputs.embedding for o in outs], dtype=torch.float32)
        return torch.nn.functional.normalize(vectors, dim=-1).tolist()
