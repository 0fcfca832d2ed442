"""Token losses of a response with and without its instruction: the core of perplexity and IFD.

Each turn is scored on its own as ``(instruction, input, response)``; ``input`` is the Alpaca
``input`` (Dolly ``context``) of the row's last turn, empty otherwise. The context text is the
instruction in a prompt (``prompt=``):

- ``"alpaca"``: Cherry LLM's ``PROMPT_DICT`` (``prompt_no_input``, ending ``### Response:``;
  rows with a non-empty input use ``prompt_input``, "...paired with an input...### Input:");
- ``"plain"``: Superfiltering's ``PROMPT_DICT_NONE``: ``"{instruction}\\n"`` and
  ``"{instruction}\\n{input}\\n"``;
- ``"chat"``: the tokenizer's chat template (user message, ``add_generation_prompt=True``,
  rendered as text, a leading BOS text removed), the input joined to the instruction after a
  blank line as :func:`~deita_hf.data.formats.to_turns` does;
- any string with an ``{instruction}`` field (and optionally ``{input}``; without it the input
  is joined to the instruction as for ``"chat"``).

Three token layouts (``layout=``); loss = the mean of ``-log p(token | everything before it)``
over the scored tokens:

- ``"cherry"`` (:class:`~deita_hf.scoring.perplexity.IFDScorer`'s default): Cherry LLM's
  ``cherry_seletion/data_analysis.py`` + ``data_by_IFD.py`` (github.com/tianyi-lab/Cherry_LLM,
  commit 01fac8d2febb51dbd1501ec594a20e499b51fe7d). ``enc(x) = tokenizer(x)`` with the
  tokenizer's own special tokens (LLaMA: BOS) and right truncation (the model folder's tokenizer
  as ``AutoTokenizer`` loads it; Cherry's script loads the slow ``LlamaTokenizer``, whose splits
  can differ from a fast tokenizer's). Conditioned: ``enc(context +
  response)`` cut to ``max_length``; alone: ``enc("### Response:" + response)`` cut to
  ``max_length - len(enc(context)) + 4``. In both the scored tokens are those from index
  ``len(enc(text[:text.rfind(response)]))`` on (Cherry's boundary rule: the prefix tokenized
  alone). As ``data_by_IFD.py`` skips them, a turn whose context fills ``max_length``, whose
  scored span is empty, or with ``len(enc(context)) + len(alone span) > max_length`` gets NaN.
- ``"superfilter"``: Superfiltering's ``code_ifd/data_analysis.py``
  (github.com/tianyi-lab/Superfiltering, commit f0764afa536ec910b994d1d6aa2b883354505f4f).
  Conditioned as ``"cherry"``; alone: ``enc(response)`` cut to ``max_length -
  len(enc(context)) + 1`` with every token but the first scored (GPT-2 adds no start token, so
  the first answer token is never scored).
- ``"separate"`` (:class:`~deita_hf.scoring.perplexity.PerplexityScorer`'s default, deita_hf's
  own): ``[START] + ids(context) + ids(response)`` and ``[START] + ids(response)``, ``ids(x)``
  without special tokens, so the response is the very same token ids in both; ``START`` is the
  BOS token, else EOS. Over-long turns: the response is cut on the right to ``max(max_length - 1
  - len(context), max_length // 2)`` tokens, then the context on the left (warning counts them).

An empty response has no loss: NaN, counted in a warning.

Example:
    >>> from deita_hf.scoring.lm_loss import PROMPTS, PROMPTS_INPUT
    >>> print(PROMPTS["plain"].format(instruction="Say hi."))
    Say hi.
    <BLANKLINE>
    >>> PROMPTS_INPUT["plain"].format(instruction="Add.", input="2 3")
    'Add.\\n2 3\\n'
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any

from deita_hf.data.formats import detect_format, turns_from_batch
from deita_hf.data.messages import message_text
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

__all__ = ["LAYOUTS", "PROMPTS", "PROMPTS_INPUT", "ResponseLossScorer", "fit_lengths"]

#: named contexts (``"chat"`` uses the tokenizer's chat template instead)
PROMPTS: dict[str, str] = {
    "alpaca": ("Below is an instruction that describes a task. Write a response that appropriately "
               "completes the request.\n\n### Instruction:\n{instruction}\n\n### Response:"),
    "plain": "{instruction}\n",
}
#: the same prompts for a turn with an input (Cherry's ``prompt_input``, Superfiltering's)
PROMPTS_INPUT: dict[str, str] = {
    "alpaca": ("Below is an instruction that describes a task, paired with an input that provides "
               "further context. Write a response that appropriately completes the request.\n\n"
               "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:"),
    "plain": "{instruction}\n{input}\n",
}
#: token layouts (see the module docstring)
LAYOUTS = ("cherry", "superfilter", "separate")
#: the text Cherry scores the response alone after
CHERRY_ALONE_PREFIX = "### Response:"


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
        layout: ``"cherry"``, ``"superfilter"`` or ``"separate"`` (module docstring; None: the
            class's ``default_layout``).
        revision: Hub revision.
        batch_size: sequences per forward pass (sorted by length, left-padded).
        max_length: most tokens per sequence (also capped by the model's position limit; None:
            512 for ``"cherry"`` as Cherry's scripts run it, 1024 for ``"superfilter"`` as
            Superfiltering's default, 2048 for ``"separate"``).
        device: ``"cpu"``, ``"cuda"``, ... (None: CUDA if available).
        dtype: ``"float32"``, ``"bfloat16"``, ``"float16"`` or ``"auto"`` (None: fp32 on CPU).
        on_error: ``"raise"`` or ``"nan"`` (a failed forward pass gives NaN, counted in a warning).
        trust_remote_code: passed to ``from_pretrained``.
    """

    column = ""
    kind = ""
    default_model = ""
    load_hint = ""
    default_layout = "separate"

    def __init__(self, model_name_or_path: str | None = None, *, prompt: str = "alpaca",
                 layout: str | None = None, revision: str | None = None, batch_size: int = 8,
                 max_length: int | None = None,
                 device: str | None = None, dtype: Any = None, on_error: str = "raise",
                 trust_remote_code: bool = False) -> None:
        if on_error not in ("raise", "nan"):
            raise ConfigError(f"on_error must be 'raise' or 'nan', got {on_error!r}.")
        layout = layout or self.default_layout
        if layout not in LAYOUTS:
            raise ConfigError(f"layout must be one of {list(LAYOUTS)}, got {layout!r}.")
        if max_length is None:
            max_length = {"cherry": 512, "superfilter": 1024}.get(layout, 2048)
        if batch_size < 1 or max_length < 8:
            raise ConfigError("batch_size must be >= 1 and max_length >= 8.")
        if prompt not in ("chat", *PROMPTS) and "{instruction}" not in str(prompt):
            raise ConfigError(f"prompt must be 'alpaca', 'plain', 'chat' or a template with an "
                              f"{{instruction}} field, got {prompt!r}.")
        name = model_name_or_path or self.default_model
        if not name:
            raise ConfigError(f"{type(self).__name__} needs a causal LM (a folder or Hub id).")
        self.model_name_or_path = str(name)
        self.prompt, self.layout, self.revision = str(prompt), layout, revision
        self.batch_size, self.max_length = int(batch_size), int(max_length)
        self.device = None if device is None else str(device)
        self.dtype = None if dtype is None else str(dtype).replace("torch.", "")
        self.on_error, self.trust_remote_code = on_error, trust_remote_code
        self.weights_stamp = local_stamp(self.model_name_or_path)
        self._reset_runtime()

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.model_name_or_path!r}, prompt={self.prompt!r}, "
                f"layout={self.layout!r})")

    def describe(self) -> dict[str, Any]:
        """What a dataset card records: ``name``, ``kind``, ``column``, ``prompt`` and settings."""
        return {"name": self.model_name_or_path, "revision": self.revision, "kind": self.kind,
                "column": self.column, "prompt": self.prompt, "layout": self.layout,
                "max_length": self.max_length,
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
    def _context(self, instruction: str, inp: str = "") -> str:
        template = PROMPTS.get(self.prompt, self.prompt)
        if inp and (self.prompt in PROMPTS_INPUT or "{input}" in template):
            return PROMPTS_INPUT.get(self.prompt, template).format(instruction=instruction, input=inp)
        if inp.strip():  # no input field: joined as to_turns joins it
            instruction = f"{instruction}\n\n{inp}"
        if self.prompt != "chat":
            return template.format(instruction=instruction, input="")
        tok = self._rt["tokenizer"]
        text = tok.apply_chat_template([{"role": "user", "content": instruction}],
                                       add_generation_prompt=True, tokenize=False)
        return text[len(tok.bos_token):] if tok.bos_token and text.startswith(tok.bos_token) else text

    def response_losses(self, pairs: list[tuple[str, ...]], *, alone: bool = False,
                        where: list[str] | None = None) -> list[tuple[float, float]]:
        """Mean response-token losses of ``(instruction, response)`` or ``(instruction, input,
        response)`` turns.

        Args:
            pairs: one ``(instruction, response)`` or ``(instruction, input, response)`` per turn.
            alone: also compute the loss of the response without its context.
            where: labels such as ``"row 5 turn 0"`` for messages.

        Returns:
            ``(conditioned, alone)`` per pair (``alone`` NaN when not asked for); NaN for an empty
            response, a turn the layout skips or, with ``on_error="nan"``, a failed forward pass.
        """
        self.load()
        rt = self._rt
        where = where or [f"item {i}" for i in range(len(pairs))]
        seqs: list[tuple[list[int], int]] = []  # (ids, number of scored tokens at the end)
        owners: list[tuple[int, int]] = []  # (pair, 0 conditioned / 1 alone)
        n_cut = n_empty = n_skip = 0
        for p, turn in enumerate(pairs):
            instruction, inp, response = turn if len(turn) == 3 else (turn[0], "", turn[1])
            if not response:
                n_empty += 1
                continue
            if self.layout == "separate":
                got, cut = self._separate(self._context(instruction, inp), response, alone)
                n_cut += cut
            else:
                got = self._authors(self._context(instruction, inp), response, alone)
                if got is None:
                    n_skip += 1
                    continue
            for kind, seq in enumerate(got):
                if seq[1] > 0:  # nothing to score: NaN, as the authors' loss over no tokens
                    seqs.append(seq)
                    owners.append((p, kind))
        if n_skip:
            warnings.warn(f"{self.column} scorer: {n_skip} of {len(pairs)} turns are skipped as Cherry's "
                          f"data_by_IFD.py skips them (context of max_length={rt['max_length']} "
                          f"tokens or more, or context + response longer); their {self.column} is "
                          f"NaN.", stacklevel=3)
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

    def _separate(self, context: str, response: str, alone: bool
                  ) -> tuple[list[tuple[list[int], int]], bool]:
        """deita_hf's layout: ``[START] + ids(context) + ids(response)`` (and ``[START] + ids(response)``)."""
        rt, tok = self._rt, self._rt["tokenizer"]
        ctx = tok(context, add_special_tokens=False)["input_ids"]
        resp = tok(response, add_special_tokens=False)["input_ids"]
        n_ctx, n_resp = fit_lengths(len(ctx), len(resp), rt["max_length"])
        resp = resp[:n_resp]
        out = [([rt["start"], *ctx[len(ctx) - n_ctx:], *resp], n_resp)]
        if alone:
            out.append(([rt["start"], *resp], n_resp))
        return out, (n_ctx, n_resp) != (len(ctx), len(resp))

    def _encode(self, text: str, limit: int) -> list[int]:
        return list(self._rt["tokenizer"](text, truncation=True, max_length=limit)["input_ids"])

    def _span(self, text: str, response: str, limit: int) -> tuple[list[int], int]:
        """Cherry's/Superfiltering's ``get_perplexity_and_embedding_part_text``: the ids of
        ``text`` cut to ``limit`` and how many end tokens are scored (from the prefix's length)."""
        ids = self._encode(text, limit)
        start = len(self._rt["tokenizer"](text[:text.rfind(response)], verbose=False)["input_ids"])
        return ids, len(ids) - max(start, 1)

    def _authors(self, context: str, response: str, alone: bool) -> list[tuple[list[int], int]] | None:
        """The ``"cherry"`` / ``"superfilter"`` sequences of one turn; None where Cherry skips it."""
        limit = self._rt["max_length"]
        n_ctx = len(self._encode(context, limit))
        out = [self._span(context + response, response, limit)]
        if not alone:
            return out
        if self.layout == "superfilter":
            ids = self._encode(response, limit - n_ctx + 1) if limit - n_ctx + 1 >= 2 else []
            return [*out, (ids, len(ids) - 1)]
        if limit - n_ctx <= 0:
            return None
        out.append(self._span(CHERRY_ALONE_PREFIX + response, response, limit - n_ctx + 4))
        if out[0][1] <= 0 or out[1][1] <= 0 or n_ctx + out[1][1] > limit:
            return None
        return out

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
        fmt = detect_format(batch.keys())
        key = {"alpaca": "input", "dolly": "context"}.get(fmt)
        pairs, where, counts = [], [], []
        for r, row in enumerate(turns):
            counts.append(len(row))
            index = indices[r] if indices is not None else r
            for t, (instruction, response) in enumerate(row):
                inp = ""
                if key is not None and t == len(row) - 1:  # the row's own instruction and input
                    instruction = message_text(batch["instruction"][r], index, "instruction")
                    inp = message_text(batch[key][r], index, key) if key in batch else ""
                pairs.append((instruction, inp, response))
                where.append(f"row {index} turn {t}")
        flat = [self.value(c, a) for c, a in self.response_losses(pairs, alone=self.needs_alone, where=where)]
        out, pos = [], 0
        for n in counts:
            out.append(flat[pos:pos + n])
            pos += n
        return {self.column: out}
