"""Token losses of a response with and without its instruction: the core of perplexity and IFD.

One text layout for :class:`~deita_hf.scoring.perplexity.PerplexityScorer` and
:class:`~deita_hf.scoring.perplexity.IFDScorer` (per turn, each turn on its own)::

    conditioned:  [START] + ids(context) + ids(response)
    alone:        [START] + ids(response)

- ``START``: the tokenizer's BOS token (GPT-2: ``<|endoftext|>``), else its EOS token.
- ``ids(x)``: ``tokenizer(x, add_special_tokens=False)["input_ids"]``. Context and response are
  tokenized separately, so the response is the very same token ids in both sequences.
- ``context``: the turn's instruction in a prompt (``prompt=``): ``"alpaca"`` (default; the
  Alpaca prompt without input that Cherry and Superfiltering use, ending ``### Response:``),
  ``"plain"`` (``instruction + "\\n"``), ``"chat"`` (the tokenizer's chat template with the user
  message and ``add_generation_prompt=True``, rendered as text, a leading BOS text removed) or
  any string with an ``{instruction}`` field.
- loss = the mean over the response tokens of ``-log p(token | everything before it)``.

Over-long turns (``1 + len(context) + len(response) > max_length``): the response is cut on
the right to ``max(max_length - 1 - len(context), max_length // 2)`` tokens, then the context on
the left until the sequence fits; both sequences score the same response tokens, and a warning
counts such turns. An empty response has no loss: NaN, counted in a warning.

Example:
    >>> from deita_hf.scoring.lm_loss import PROMPTS
    >>> print(PROMPTS["plain"].format(instruction="Say hi."))
    Say hi.
    <BLANKLINE>
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any

from deita_hf.data.formats import turns_from_batch
from deita_hf.errors import ConfigError
from deita_hf.runtime import (
    LazyRuntime,
    load_pretrained,
    local_stamp,
)
from deita_hf.scoring import core
from deita_hf.scoring.baselines import require_batch

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

__all__ = ["PROMPTS", "ResponseLossScorer", "fit_lengths"]

#: named contexts (``"chat"`` uses the tokenizer's chat template instead)
PROMPTS: dict[str, str] = {
    "alpaca": ("Below is an instruction that describes a task. Write a response that appropriately "
               "completes the request.\n\n### Instruction:\n{instruction}\n\n### Response:"),
    "plain": "{instruction}\n",
}


def fit_lengths(n_context: int, n_response: int, max_length: int) -> tuple[int, int]:
    """How many context tokens (kept from the END) and response tokens (kept from the START) fit.

    Example:
        >>> fit_lengths(10, 5, 100), fit_lengths(10, 200, 100), fit_lengths(300, 200, 100)
        ((10, 5), (10, 89), (49, 50))
    """
    if 1 + n_context + n_response <= max_length:
        return n_context, n_response
    n_resp = min(n_response, max(max_length - 1 - n_context, max_length // 2))
    return min(n_context, max_length - 1 - n_resp), n_resp


class ResponseLossScorer(LazyRuntime):
    """Base of the response-loss scorers (see the module docstring for the exact layout).

    Args:
        model_name_or_path: a causal LM (local folder or Hub id).
        prompt: ``"alpaca"``, ``"plain"``, ``"chat"`` or a template with ``{instruction}``.
        revision: Hub revision.
        batch_size: sequences per forward pass (sorted by length, left-padded).
        max_length: most tokens per sequence (also capped by the model's position limit).
        device: ``"cpu"``, ``"cuda"``, ... (None: CUDA if available).
        dtype: ``"float32"``, ``"bfloat16"``, ``"float16"`` or ``"auto"`` (None: fp32 on CPU).
        on_error: ``"raise"`` or ``"nan"`` (a failed forward pass gives NaN, counted in a warning).
        trust_remote_code: passed to ``from_pretrained``.
    """

    column = ""
    kind = ""
    default_model = ""
    load_hint = ""

    def __init__(self, model_name_or_path: str | None = None, *, prompt: str = "alpaca",
                 revision: str | None = None, batch_size: int = 8, max_length: int = 2048,
                 device: str | None = None, dtype: Any = None, on_error: str = "raise",
                 trust_remote_code: bool = False) -> None:
        if on_error not in ("raise", "nan"):
            raise ConfigError(f"on_error must be 'raise' or 'nan', got {on_error!r}.")
        if batch_size < 1 or max_length < 8:
            raise ConfigError("batch_size must be >= 1 and max_length >= 8.")
        if prompt not in ("chat", *PROMPTS) and "{instruction}" not in str(prompt):
            raise ConfigError(f"prompt must be 'alpaca', 'plain', 'chat' or a template with an "
                              f"{{instruction}} field, got {prompt!r}.")
        name = model_name_or_path or self.default_model
        if not name:
            raise ConfigError(f"{type(self).__name__} needs a causal LM (a folder or Hub id).")
        self.model_name_or_path = str(name)
        self.prompt, self.revision = str(prompt), revision
        self.batch_size, self.max_length = int(batch_size), int(max_length)
        self.device = None if device is None else str(device)
        self.dtype = None if dtype is None else str(dtype).replace("torch.", "")
        self.on_error, self.trust_remote_code = on_error, trust_remote_code
        self.weights_stamp = local_stamp(self.model_name_or_path)
        self._reset_runtime()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model_name_or_path!r}, prompt={self.prompt!r})"

    def describe(self) -> dict[str, Any]:
        """What a dataset card records: ``name``, ``kind``, ``column``, ``prompt`` and settings."""
        return {"name": self.model_name_or_path, "revision": self.revision, "kind": self.kind,
                "column": self.column, "prompt": self.prompt, "max_length": self.max_length,
                "batch_size": self.batch_size, "dtype": self.dtype or "auto"}

    @property
    def loaded(self) -> bool:
        return "model" in self._rt

    def load(self) -> None:
        """Load tokenizer and model now (otherwise done on the first call)."""
        if self.loaded:
            return
        model, tok = load_pretrained(
            "AutoModelForCausalLM", self.model_name_or_path, revision=self.revision,
            device=self.device, dtype=self.dtype, trust_remote_code=self.trust_remote_code,
            what=f"{self.kind} model", hint=self.load_hint)
        self.use_model(model, tok)

    def use_model(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> None:
        """Score with an already loaded model and tokenizer (they are never pickled)."""
        start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
        if start is None:
            raise ConfigError(f"The tokenizer of {self.model_name_or_path!r} has neither a BOS nor an "
                              f"EOS token to start the sequences with.")
        if self.prompt == "chat" and not getattr(tokenizer, "chat_template", None):
            raise ConfigError(f"prompt='chat' but the tokenizer of {self.model_name_or_path!r} has no "
                              f"chat template; use prompt='alpaca' or 'plain', or set one.")
        limit = getattr(model.config, "max_position_embeddings", None) or getattr(model.config, "n_positions", None)
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else start
        self._rt.update(model=model.eval(), tokenizer=tokenizer, start=start, pad=pad,
                        device=str(next(model.parameters()).device),
                        max_length=min(self.max_length, int(limit)) if limit else self.max_length,
                        keep_arg=core.supports_logits_to_keep(model))

    # -- computing ---------------------------------------------------------------------------
    def _context(self, instruction: str) -> str:
        if self.prompt != "chat":
            return PROMPTS.get(self.prompt, self.prompt).format(instruction=instruction)
        tok = self._rt["tokenizer"]
        text = tok.apply_chat_template([{"role": "user", "content": instruction}],
                                       add_generation_prompt=True, tokenize=False)
        return text[len(tok.bos_token):] if tok.bos_token and text.startswith(tok.bos_token) else text

    def response_losses(self, pairs: list[tuple[str, str]], *, alone: bool = False,
                        where: list[str] | None = None) -> list[tuple[float, float]]:
        """Mean response-token losses of ``(instruction, response)`` pairs.

        Args:
            pairs: one ``(instruction, response)`` per turn.
            alone: also compute the loss of the response without its context.
            where: labels such as ``"row 5 turn 0"`` for messages.

        Returns:
            ``(conditioned, alone)`` per pair (``alone`` NaN when not asked for); NaN for an empty
            response or, with ``on_error="nan"``, a failed forward pass.
        """
        self.load()
        rt, tok = self._rt, self._rt["tokenizer"]
        where = where or [f"item {i}" for i in range(len(pairs))]
        seqs: list[tuple[list[int], int]] = []  # (ids, number of response tokens at the end)
        owners: list[tuple[int, int]] = []  # (pair, 0 conditioned / 1 alone)
        n_cut = n_empty = 0
        for p, (instruction, response) in enumerate(pairs):
            ctx = tok(self._context(instruction), add_special_tokens=False)["input_ids"]
            resp = tok(response, add_special_tokens=False)["input_ids"]
            if not resp:
                n_empty += 1
                continue
            n_ctx, n_resp = fit_lengths(len(ctx), len(resp), rt["max_length"])
            n_cut += (n_ctx, n_resp) != (len(ctx), len(resp))
            resp = resp[:n_resp]
            seqs.append(([rt["start"], *ctx[len(ctx) - n_ctx:], *resp], n_resp))
            owners.append((p, 0))
            if alone:
                seqs.append(([rt["start"], *resp], n_resp))
                owners.append((p, 1))
        if n_cut:
            warnings.warn(f"{self.column} scorer: {n_cut} of {len(pairs)} turns were longer than "
                          f"max_length={rt['max_length']} tokens and were cut.", stacklevel=3)
        if n_empty:
            warnings.warn(f"{self.column} scorer: {n_empty} of {len(pairs)} turns have an empty "
                          f"response; their {self.column} is NaN.", stacklevel=3)
        out = [[math.nan, math.nan] for _ in pairs]
        failures: list[str] = []
        order = sorted(range(len(seqs)), key=lambda i: -len(seqs[i][0]))
        for s in range(0, len(order), self.batch_size):
            chunk = order[s:s + self.batch_size]
            labels = [where[owners[i][0]] + (" (alone)" if owners[i][1] else "") for i in chunk]
            for i, loss in zip(chunk, self._forward_chunk([seqs[i] for i in chunk], labels, failures)):
                out[owners[i][0]][owners[i][1]] = loss
        if failures:
            warnings.warn(f"{self.column} scorer: {len(failures)} forward passes failed and gave NaN "
                          f"({'; '.join(failures[:3])}).", stacklevel=3)
        return [(c, a) for c, a in out]

    def _forward_chunk(self, seqs: list[tuple[list[int], int]], where: list[str],
                       failures: list[str]) -> list[float]:
        try:
            return self._forward(seqs)
        except Exception as err:  # noqa: BLE001 - raised or reported, never a made-up loss
            if self.on_error == "raise":
                raise RuntimeError(f"{self.column} scorer failed on {', '.join(where)}: "
                                   f"{type(err).__name__}: {err}. Pass on_error='nan' to keep going "
                                   f"with NaN.") from err
            if len(seqs) > 1:
                return [v for one, label in zip(seqs, where)
                        for v in self._forward_chunk([one], [label], failures)]
            failures.append(f"{where[0]}: {type(err).__name__}: {err}")
            return [math.nan]

    def _forward(self, seqs: list[tuple[list[int], int]]) -> list[float]:
        """One left-padded forward pass; mean NLL of each sequence's last ``n`` tokens."""
        import torch

        rt = self._rt
        width = max(len(ids) for ids, _ in seqs)
        ids = torch.full((len(seqs), width), rt["pad"], dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for i, (row, _) in enumerate(seqs):
            ids[i, width - len(row):] = torch.tensor(row, dtype=torch.long)
            mask[i, width - len(row):] = 1
        keep = max(n for _, n in seqs) + 1
        kwargs: dict[str, Any] = {"use_cache": False}
        if rt["keep_arg"]:
            kwargs["logits_to_keep"] = keep
        with torch.inference_mode():
            logits = rt["model"](input_ids=ids.to(rt["device"]), attention_mask=mask.to(rt["device"]),
                                 position_ids=((mask.cumsum(-1) - 1).clamp(min=0)).to(rt["device"]),
                                 **kwargs).logits[:, -keep:]
            losses = []
            for i, (row, n) in enumerate(seqs):
                pred = logits[i, keep - n - 1:keep - 1].float()
                target = torch.tensor(row[-n:], dtype=torch.long, device=pred.device)
                losses.append(float(torch.nn.functional.cross_entropy(pred, target)))
        return losses

    # -- Dataset.map -------------------------------------------------------------------------
    needs_alone = False

    def value(self, conditioned: float, alone: float) -> float:
        """The column's value from the two mean losses (subclasses)."""
        raise NotImplementedError

    def __call__(self, batch: dict[str, list], indices: list[int] | None = None) -> dict[str, list]:
        """Score a batch from ``Dataset.map(batched=True[, with_indices=True])``.

        Returns:
            ``{column: [[value per turn], ...]}``.
        """
        require_batch(batch, indices, type(self).__name__)
        turns = turns_from_batch(batch, indices=indices)
        pairs, where, counts = [], [], []
        for r, row in enumerate(turns):
            counts.append(len(row))
            for t, pair in enumerate(row):
                pairs.append(pair)
                where.append(f"row {indices[r] if indices is not None else r} turn {t}")
        flat = [self.value(c, a) for c, a in self.response_losses(pairs, alone=self.needs_alone, where=where)]
        out, pos = [], 0
        for n in counts:
            out.append(flat[pos:pos + n])
            pos += n
        return {self.column: out}
