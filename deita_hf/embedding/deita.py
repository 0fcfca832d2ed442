"""``DeitaEmbedder``: the embeddings of the original DEITA Repr filter.

The original (hkust-nlp/deita ``src/deita/selection/embedder``: ``CLM_Embedder`` with
``conv_template="vicuna_v1.1"``, ``only_answer=False``, on ``mistralai/Mistral-7B-v0.1``):

1. renders each conversation with FastChat's ``vicuna_v1.1`` template (:func:`render_vicuna`):
   the system prompt, then per turn ``" USER: {human} ASSISTANT: {gpt}</s>"``; a leading
   non-human message is dropped, and a conversation that ends with a user message ends with
   ``"USER: {human} "`` (the original appends no ``"ASSISTANT:"`` for the unanswered turn);
2. tokenizes the string with the tokenizer's BOS (``add_special_tokens=True``), cut on the right
   at ``max_length`` (2,048) tokens;
3. takes the last layer's hidden state (after the final norm) at the last non-padding token.

deita_hf adds two things: position ids follow the attention mask, so left and right padding
give the vector of the unpadded sequence (RoPE is shift-invariant, so the original's arange
positions gave the same vector up to rounding); and vectors are L2-normalised float32 (the
Repr filter compares cosine similarities, so normalising changes no decision).
The original loaded the tokenizer with ``use_fast=False``; transformers 5 has one tokenizer
implementation per model, which tokenizes these strings the same way for Mistral/LLaMA.

Example:
    >>> from deita_hf.embedding.deita import render_vicuna
    >>> text = render_vicuna([{"role": "user", "content": "Hi"},
    ...                       {"role": "assistant", "content": "Hello"}])
    >>> text.endswith("user's questions. USER: Hi ASSISTANT: Hello</s>")
    True
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from deita_hf.data.formats import VICUNA_V1_1_SYSTEM
from deita_hf.embedding.base import ConversationEmbedder, embed_batches
from deita_hf.errors import ConfigError, FormatError
from deita_hf.runtime import load_error, local_stamp, resolve_device, resolve_dtype_name

if TYPE_CHECKING:
    import torch

__all__ = ["DEITA_EMBEDDER_MODEL", "VICUNA_V1_1_SYSTEM", "DeitaEmbedder", "render_vicuna"]

#: the model the paper's Repr filter embeds with
DEITA_EMBEDDER_MODEL = "mistralai/Mistral-7B-v0.1"


_ROLES = ("USER", "ASSISTANT")
_SEPS = (" ", "</s>")  # FastChat vicuna_v1.1: sep=" ", sep2="</s>", SeparatorStyle.ADD_COLON_TWO


def render_vicuna(messages: Sequence[Mapping[str, Any]], *, system: str | None = None) -> str:
    """A conversation as FastChat's ``vicuna_v1.1`` ``Conversation.get_prompt()`` renders it.

    The string is ``system + " "``, then for message ``i`` (``USER`` for even ``i``,
    ``ASSISTANT`` for odd) ``ROLE + ": " + content + sep`` with ``sep`` ``" "`` after a user
    message and ``"</s>"`` after an assistant one; an empty message renders ``ROLE + ":"`` with
    nothing after it (FastChat's rule). A conversation ending with a user message ends with
    that message and its ``" "``: DEITA's embedder appends only the conversation's own messages
    (no ``append_message(ASSISTANT, None)``, so no trailing ``"ASSISTANT:"``).

    Args:
        messages: ``{"role", "content"}`` messages (:func:`deita_hf.data.formats.to_messages`
            output); leading ``system`` messages replace the default system prompt (joined by
            blank lines when there are several); one leading ``assistant`` message after them is
            dropped, as the original DEITA does.
        system: the system prompt when the conversation has none (default: FastChat's
            ``vicuna_v1.1`` prompt, :data:`VICUNA_V1_1_SYSTEM`).

    Returns:
        The prompt string (without BOS: the tokenizer adds it).

    Raises:
        FormatError: roles that do not alternate user/assistant after the optional system
            messages and dropped assistant message, or no user message at all.

    Example:
        >>> render_vicuna([{"role": "system", "content": "Be brief."},
        ...                {"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"},
        ...                {"role": "user", "content": "3+3?"}])
        'Be brief. USER: 2+2? ASSISTANT: 4</s>USER: 3+3? '
    """
    msgs = [{"role": str(m["role"]), "content": m["content"]} for m in messages]
    pos = 0
    while pos < len(msgs) and msgs[pos]["role"] == "system":
        pos += 1
    if pos:
        system = "\n\n".join(str(m["content"] or "") for m in msgs[:pos])
    elif system is None:
        system = VICUNA_V1_1_SYSTEM
    turns = msgs[pos:]
    if turns and turns[0]["role"] != "user":  # "Skip the first one if it is not from human"
        turns = turns[1:]
    if not turns:
        raise FormatError("render_vicuna: the conversation has no user message.")
    out = system + _SEPS[0]
    for i, m in enumerate(turns):
        expected = "user" if i % 2 == 0 else "assistant"
        if m["role"] != expected:
            raise FormatError(f"render_vicuna: message {i} is {m['role']!r} where {expected!r} "
                              f"was expected (turns alternate user, assistant, ...).")
        content = m["content"]
        if content:
            out += _ROLES[i % 2] + ": " + str(content) + _SEPS[i % 2]
        else:
            out += _ROLES[i % 2] + ":"
    return out


class DeitaEmbedder(ConversationEmbedder):
    """The original DEITA Repr-filter embedder (column ``embedding``).

    Args:
        model: a causal LM folder or Hub id (default ``mistralai/Mistral-7B-v0.1``, the paper's).
        max_length: tokens per conversation, BOS included; longer ones are cut on the right
            (counted in one warning per call).
        batch_size: conversations per forward pass (sorted by length).
        device: "cpu", "cuda", ... (default: cuda if available).
        dtype: "bfloat16", "float16", "float32" or "auto" (default: bf16/fp16 on CUDA, fp32 on
            CPU; the original ran under ``accelerate --mixed_precision bf16``).
        revision: the model's Hub revision.
        padding_side: "right" (default) or "left"; both give the same vectors.

    Example:
        >>> emb = DeitaEmbedder()  # nothing loads until the first call
        >>> emb.describe()["template"], emb.column
        ('vicuna_v1.1', 'embedding')
    """

    def __init__(self, model: str = DEITA_EMBEDDER_MODEL, *, max_length: int = 2048,
                 batch_size: int = 8, device: str | None = None, dtype: Any = None,
                 revision: str | None = None, padding_side: str = "right") -> None:
        if int(max_length) < 1 or int(batch_size) < 1:
            raise ConfigError(f"max_length and batch_size must be positive (got {max_length} and "
                              f"{batch_size}).")
        if padding_side not in ("left", "right"):
            raise ConfigError(f"padding_side must be 'left' or 'right', got {padding_side!r}.")
        self.model_name_or_path = str(model or DEITA_EMBEDDER_MODEL)
        self.revision = revision
        self.max_length = int(max_length)
        self.batch_size = int(batch_size)
        self.device = device
        self.dtype = None if dtype is None else str(dtype).replace("torch.", "")
        self.padding_side = padding_side
        self.weights_stamp = local_stamp(self.model_name_or_path)
        self._reset_runtime()

    def __repr__(self) -> str:
        return f"DeitaEmbedder({self.model_name_or_path!r}, max_length={self.max_length})"

    def compute_dtype(self) -> str:
        """The dtype the model runs in (resolved now, or read from the loaded model)."""
        if "model" in self._rt:
            return str(next(self._rt["model"].parameters()).dtype).replace("torch.", "")
        return resolve_dtype_name(self.dtype, resolve_device(self.device))

    def describe(self) -> dict[str, Any]:
        """The settings that identify the vectors (written to dataset cards)."""
        return {"name": self.model_name_or_path, "revision": self.revision,
                "kind": "deita-causal-lm", "column": "embedding", "template": "vicuna_v1.1",
                "max_length": self.max_length, "dtype": self.compute_dtype(), "pooling": "last",
                "normalized": True}

    def _load(self, device: str, dtype: torch.dtype) -> None:
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        verbosity = hf_logging.get_verbosity()
        try:
            tok = AutoTokenizer.from_pretrained(self.model_name_or_path, revision=self.revision)
            # the base model of a causal-LM checkpoint: its unused lm_head is reported, not needed
            hf_logging.set_verbosity_error()
            model = AutoModel.from_pretrained(self.model_name_or_path, revision=self.revision,
                                              dtype=dtype)
        except (OSError, ValueError, ImportError) as err:
            raise load_error("DEITA embedder", self.model_name_or_path, err,
                             " (`--embedder deita:DIR`), or use the packaged MiniLM "
                             "(`--embedder minilm`, not the paper's set-up)") from err
        finally:
            hf_logging.set_verbosity(verbosity)
        tok.truncation_side = "right"
        pad = tok.pad_token_id
        if pad is None:  # the original pads Mistral/LLaMA with <unk>
            pad = tok.unk_token_id if tok.unk_token_id is not None else (tok.eos_token_id or 0)
        self._rt.update(model=model.to(device).eval(), tokenizer=tok, device=device, pad=int(pad))

    def token_ids(self, messages_list: Sequence[Sequence[Mapping[str, Any]]]) -> list[list[int]]:
        """The token ids embedded for each conversation: the rendered string with BOS, cut on the
        right at ``max_length`` (one warning counts the cut conversations)."""
        self.load()
        tok = self._rt["tokenizer"]
        texts = [render_vicuna(m) for m in messages_list]
        full = tok(texts, add_special_tokens=True, verbose=False)["input_ids"]
        n_cut = sum(len(ids) > self.max_length for ids in full)
        if n_cut:
            warnings.warn(f"DeitaEmbedder: {n_cut} of {len(full)} conversations were longer than "
                          f"max_length={self.max_length} tokens and were cut on the right (as the "
                          f"original does).", stacklevel=3)
        return [list(ids[: self.max_length]) for ids in full]

    def embed_ids(self, ids: Sequence[Sequence[int]]) -> list[list[float]]:
        """L2-normalised float32 last-token vectors of token-id sequences."""
        import torch

        self.load()
        model, device, pad = self._rt["model"], self._rt["device"], self._rt["pad"]

        def forward(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            # positions count real tokens only: the unpadded sequence's positions either side
            positions = (mask.cumsum(-1) - 1).clamp(min=0)
            last = (mask * torch.arange(x.shape[1])).argmax(-1)
            hidden = model(input_ids=x.to(device), attention_mask=mask.to(device),
                           position_ids=positions.to(device)).last_hidden_state
            return hidden[torch.arange(len(x), device=hidden.device), last.to(hidden.device)]

        return embed_batches(ids, self.batch_size, pad, forward, padding_side=self.padding_side)

    def embed_conversations(self, messages_list: Sequence[Sequence[Mapping[str, Any]]]
                            ) -> list[list[float]]:
        """One vector per conversation (lists of ``{"role", "content"}`` messages)."""
        return self.embed_ids(self.token_ids(messages_list))
