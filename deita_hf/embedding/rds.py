"""``RdsEmbedder``: the representations of RDS+ (Ivison et al., 2025, *Large-Scale Data
Selection for Instruction Tuning*).

As the authors' code computes them (github.com/hamishivi/automated-instruction-selection @
``df71a044d567976e37bebeae53cd59f992b1ea09``, ``minimal_multitask/compute_influence_cosinesim.py``
with ``--pooling weighted_mean``, its default, on a base model such as Llama-2-7b-hf):

1. the whole conversation is rendered in the Tulu format (``utils.encode_with_messages_format``,
   :func:`render_tulu`): per message ``"<|system|>\\n" + content.strip() + "\\n"``,
   ``"<|user|>\\n" + content.strip() + "\\n"`` or ``"<|assistant|>\\n" + content.strip() + EOS +
   "\\n"``, the whole string then ``.strip()``-ed; target files are rendered the same way
   (``FileDataset`` calls the same function);
2. it is tokenized with the tokenizer's special tokens (BOS for LLaMA) and cut on the right at
   ``max_length`` tokens (2,048, the authors' value for files and Tulu);
3. the vector is the position-weighted mean of the last hidden layer (``hidden_states[-1]``,
   after the final norm): token ``i`` (0-based) weighs ``(i + 1) / Σ_j (j + 1)`` (SGPT's
   weighting), then the vector is L2-normalised.

The authors ran one conversation per forward pass (``--batch_size 1``: their weights do not
mask padding); here batches are right-padded and the weights count real tokens only, which is
the batch-size-1 vector. Differences, documented: the default dtype is float32 on CPU and
bf16/fp16 on CUDA (the authors' default is bf16), and the weighted sum is taken in float32;
rows in other formats (Alpaca, ShareGPT) are first converted to messages by
:func:`deita_hf.data.formats.to_messages` (the authors' pools were already in messages form).

Example:
    >>> render_tulu([{"role": "user", "content": " Hi "},
    ...              {"role": "assistant", "content": "Hello"}], eos="</s>")
    '<|user|>\\nHi\\n<|assistant|>\\nHello</s>'
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from deita_hf.embedding.base import ConversationEmbedder, embed_batches
from deita_hf.errors import ConfigError, FormatError
from deita_hf.runtime import load_error, local_stamp, resolve_device, resolve_dtype_name

if TYPE_CHECKING:
    import torch

__all__ = ["RDS_COMMIT", "RdsEmbedder", "render_tulu"]

#: the commit of hamishivi/automated-instruction-selection this module follows
RDS_COMMIT = "df71a044d567976e37bebeae53cd59f992b1ea09"
_PREFIX = {"system": "<|system|>\n", "user": "<|user|>\n", "assistant": "<|assistant|>\n"}


def render_tulu(messages: Sequence[Mapping[str, Any]], *, eos: str) -> str:
    """A conversation as the authors' ``encode_with_messages_format`` renders it (whole
    conversation, response included).

    Args:
        messages: ``{"role", "content"}`` messages (system, user, assistant).
        eos: the tokenizer's EOS string, appended to each assistant message.

    Returns:
        The string to tokenize (the tokenizer adds BOS).

    Raises:
        FormatError: no messages, or a role other than system/user/assistant.

    Example:
        >>> render_tulu([{"role": "system", "content": "Be brief."},
        ...              {"role": "user", "content": "2+2?"}], eos="</s>")
        '<|system|>\\nBe brief.\\n<|user|>\\n2+2?'
    """
    if not messages:
        raise FormatError("render_tulu: the conversation has no messages.")
    text = ""
    for i, m in enumerate(messages):
        role = str(m["role"])
        if role not in _PREFIX:
            raise FormatError(f"render_tulu: message {i} has role {role!r}; the Tulu format "
                              f"takes 'system', 'user' and 'assistant'.")
        end = eos + "\n" if role == "assistant" else "\n"
        text += _PREFIX[role] + str(m["content"] or "").strip() + end
    return text.strip()


class RdsEmbedder(ConversationEmbedder):
    """RDS+'s embedder (column ``embedding``): position-weighted mean of a base model's last
    hidden states over the Tulu-format conversation, L2-normalised.

    Args:
        model: a causal LM folder or Hub id (the authors' main runs: ``meta-llama/Llama-2-7b-hf``).
        max_length: tokens per conversation, BOS included; longer ones are cut on the right
            (counted in one warning per call).
        batch_size: conversations per forward pass (sorted by length; right-padded).
        device: "cpu", "cuda", ... (default: cuda if available).
        dtype: "bfloat16", "float16", "float32" or "auto" (default: bf16/fp16 on CUDA, fp32 on
            CPU; the authors' default is bf16).
        revision: the model's Hub revision.

    Example:
        >>> emb = RdsEmbedder("path/to/base-model")  # nothing loads until the first call
        >>> emb.describe()["pooling"], emb.column
        ('weighted_mean', 'embedding')
    """

    def __init__(self, model: str, *, max_length: int = 2048, batch_size: int = 8,
                 device: str | None = None, dtype: Any = None,
                 revision: str | None = None) -> None:
        if not model:
            raise ConfigError("RdsEmbedder needs a model: --embedder rds:MODEL (a base causal LM "
                              "folder or Hub id, e.g. rds:meta-llama/Llama-2-7b-hf).")
        if int(max_length) < 1 or int(batch_size) < 1:
            raise ConfigError(f"max_length and batch_size must be positive (got {max_length} and "
                              f"{batch_size}).")
        self.model_name_or_path = str(model)
        self.revision = revision
        self.max_length = int(max_length)
        self.batch_size = int(batch_size)
        self.device = device
        self.dtype = None if dtype is None else str(dtype).replace("torch.", "")
        self.weights_stamp = local_stamp(self.model_name_or_path)
        self._reset_runtime()

    def __repr__(self) -> str:
        return f"RdsEmbedder({self.model_name_or_path!r}, max_length={self.max_length})"

    def compute_dtype(self) -> str:
        """The dtype the model runs in (resolved now, or read from the loaded model)."""
        if "model" in self._rt:
            return str(next(self._rt["model"].parameters()).dtype).replace("torch.", "")
        return resolve_dtype_name(self.dtype, resolve_device(self.device))

    def describe(self) -> dict[str, Any]:
        """The settings that identify the vectors (written to dataset cards)."""
        return {"name": self.model_name_or_path, "revision": self.revision, "kind": "rds",
                "column": "embedding", "template": "tulu", "max_length": self.max_length,
                "dtype": self.compute_dtype(), "pooling": "weighted_mean", "normalized": True,
                "commit": RDS_COMMIT}

    def _load(self, device: str, dtype: torch.dtype) -> None:
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        verbosity = hf_logging.get_verbosity()
        try:
            tok = AutoTokenizer.from_pretrained(self.model_name_or_path, revision=self.revision)
            hf_logging.set_verbosity_error()  # the unused lm_head of a causal-LM checkpoint
            model = AutoModel.from_pretrained(self.model_name_or_path, revision=self.revision,
                                              dtype=dtype)
        except (OSError, ValueError, ImportError) as err:
            raise load_error("RDS embedder", self.model_name_or_path, err,
                             " (`--embedder rds:DIR`)") from err
        finally:
            hf_logging.set_verbosity(verbosity)
        if tok.eos_token is None:
            raise ConfigError(f"The tokenizer of {self.model_name_or_path!r} has no EOS token, "
                              f"which the Tulu format appends to each answer; use a causal LM "
                              f"whose tokenizer has one.")
        tok.truncation_side = "right"
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        self._rt.update(model=model.to(device).eval(), tokenizer=tok, device=device, pad=int(pad))

    def token_ids(self, messages_list: Sequence[Sequence[Mapping[str, Any]]]) -> list[list[int]]:
        """The token ids embedded for each conversation: the Tulu string with the tokenizer's
        special tokens, cut on the right at ``max_length`` (one warning counts the cut ones)."""
        self.load()
        tok = self._rt["tokenizer"]
        texts = [render_tulu(m, eos=tok.eos_token) for m in messages_list]
        full = tok(texts, add_special_tokens=True, verbose=False)["input_ids"]
        n_cut = sum(len(ids) > self.max_length for ids in full)
        if n_cut:
            warnings.warn(f"RdsEmbedder: {n_cut} of {len(full)} conversations were longer than "
                          f"max_length={self.max_length} tokens and were cut on the right (as the "
                          f"authors' truncation does).", stacklevel=3)
        return [list(ids[: self.max_length]) for ids in full]

    def embed_ids(self, ids: Sequence[Sequence[int]]) -> list[list[float]]:
        """L2-normalised float32 position-weighted means of token-id sequences."""
        import torch

        self.load()
        model, device, pad = self._rt["model"], self._rt["device"], self._rt["pad"]

        def forward(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            # right padding: positions 0..n-1 of each row are its real tokens
            hidden = model(input_ids=x.to(device),
                           attention_mask=mask.to(device)).last_hidden_state.float()
            weights = (torch.arange(1, x.shape[1] + 1) * mask).float().to(hidden.device)
            weights = weights / weights.sum(dim=1, keepdim=True)
            return (hidden * weights.unsqueeze(-1)).sum(dim=1)

        return embed_batches(ids, self.batch_size, pad, forward)

    def embed_conversations(self, messages_list: Sequence[Sequence[Mapping[str, Any]]]
                            ) -> list[list[float]]:
        """One vector per conversation (lists of ``{"role", "content"}`` messages)."""
        return self.embed_ids(self.token_ids(messages_list))
