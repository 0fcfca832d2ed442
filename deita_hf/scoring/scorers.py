"""DEITA complexity and quality scorers: callables for ``Dataset.map(batched=True)``.

Example:
    >>> from deita_hf.scoring import ComplexityScorer
    >>> scorer = ComplexityScorer("path/to/deita-complexity-scorer", batch_size=8)  # lazy
    >>> ds = ds.map(scorer, batched=True, desc="complexity")  # doctest: +SKIP
    >>> ds[0]["complexity"]  # one float per turn  # doctest: +SKIP
    [2.87]
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any

from deita_hf.data.formats import turns_from_batch
from deita_hf.errors import ConfigError
from deita_hf.runtime import (
    LazyRuntime,
    limit_threads_in_worker,
    load_pretrained,
    local_stamp,
    resolve_device,
    resolve_dtype_name,
)
from deita_hf.scoring import core
from deita_hf.scoring.prompts import COMPLEXITY_TEMPLATE, QUALITY_TEMPLATE

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

__all__ = ["ComplexityScorer", "QualityScorer"]


class _ModelScorer(LazyRuntime):
    """Shared implementation; use :class:`ComplexityScorer` or :class:`QualityScorer`.

    Args:
        model_name_or_path: a local folder or a Hub id of a causal LM scorer.
        revision: Hub revision (branch, tag or commit).
        batch_size: prompts per forward pass (prompts are sorted by length first).
        max_length: None (default): prompts are scored whole, as the original DEITA scores them
            (no cut; prompts longer than the model's position limit are counted in a warning).
            A number: the token budget per prompt; longer prompts have their
            instruction/response text cut (never the template tail), counted in a warning. On
            the vLLM backend it is vLLM's ``max_model_len`` (longer prompts get NaN).
        device: "cpu", "cuda", "cuda:1", ... (default: cuda if available).
        dtype: "bfloat16", "float16", "float32" or "auto" (default: bf16/fp16 on CUDA, fp32 on CPU).
        on_error: "raise" (default) or "nan": a failed forward pass gives NaN for its rows, with a
            warning that counts them. Scores are never made up.
        backend: "transformers" (default) or "vllm" (GPU; see :mod:`deita_hf.scoring.vllm_backend`).
        prefix_cache: compute the KV cache of the template's fixed opening once and reuse it for
            every prompt (same tokens and positions, so the same scores up to float rounding;
            saves ~25 LLaMA tokens of compute per prompt). Prompts whose tokens do not start with
            it are scored without it.

    The model loads on first call and is never pickled; the ``datasets`` fingerprint comes from
    the settings (plus file names/sizes/mtimes of a local model folder), not from the weights.
    """

    column = ""
    template = ""
    fields: tuple[str, ...] = ()
    default_model = ""

    def __init__(self, model_name_or_path: str | None = None, *, revision: str | None = None,
                 batch_size: int = 8, max_length: int | None = None, device: str | None = None,
                 dtype: Any = None, on_error: str = "raise", backend: str = "transformers",
                 trust_remote_code: bool = False, prefix_cache: bool = True) -> None:
        if on_error not in ("raise", "nan"):
            raise ConfigError(f"on_error must be 'raise' or 'nan', got {on_error!r}.")
        if backend not in ("transformers", "vllm"):
            raise ConfigError(f"backend must be 'transformers' or 'vllm', got {backend!r}.")
        if batch_size < 1 or (max_length is not None and max_length < 1):
            raise ConfigError(f"batch_size and max_length must be positive (got batch_size="
                              f"{batch_size}, max_length={max_length}; max_length=None scores "
                              f"prompts whole).")
        self.model_name_or_path = str(model_name_or_path or self.default_model)
        self.revision = revision
        self.batch_size = int(batch_size)
        self.max_length = None if max_length is None else int(max_length)
        self.device = None if device is None else str(device)
        self.dtype = None if dtype is None else str(dtype).replace("torch.", "")
        self.on_error = on_error
        self.backend = backend
        self.trust_remote_code = trust_remote_code
        self.prefix_cache = bool(prefix_cache)
        self.weights_stamp = local_stamp(self.model_name_or_path)
        self._reset_runtime()

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.model_name_or_path!r}, batch_size={self.batch_size}, "
                f"max_length={self.max_length})")

    def describe(self) -> dict[str, Any]:
        """What the dataset card records about this scorer."""
        return {
            "name": self.model_name_or_path, "revision": self.revision,
            "kind": "vllm" if self.backend == "vllm" else "model", "column": self.column,
            "template": self.template, "max_length": self.max_length,
            "truncation": "none" if self.max_length is None else "instruction/response text",
            "batch_size": self.batch_size,
            "dtype": self.dtype or "auto", "compute_dtype": self.compute_dtype(),
            "prefix_cache": self.prefix_cache,
        }

    def compute_dtype(self) -> str:
        """The dtype the scorer runs in: the loaded model's, else ``dtype`` resolved for the
        device (``auto``: bf16/fp16 on CUDA, fp32 on CPU); ``"vllm"`` on the vLLM backend."""
        if self.backend == "vllm":
            return "vllm"
        if "model" in self._rt:
            return str(next(self._rt["model"].parameters()).dtype).replace("torch.", "")
        return resolve_dtype_name(self.dtype, resolve_device(self.device))

    # -- loading ---------------------------------------------------------------------------
    @property
    def loaded(self) -> bool:
        return "model" in self._rt or "vllm" in self._rt

    def load(self) -> None:
        """Load tokenizer and model now (otherwise done on the first call)."""
        if self.loaded:
            return
        limit_threads_in_worker()
        if self.backend == "vllm":
            from deita_hf.scoring.vllm_backend import VLLMScorerBackend

            self._rt["vllm"] = VLLMScorerBackend(self.model_name_or_path, revision=self.revision,
                                                 max_length=self.max_length)
            return
        hint = (f", or use the paper's length baseline (`--{self.column}-scorer length`, "
                f"Python: deita_hf.build_scorer('{self.column}', 'length'))")
        model, tokenizer = load_pretrained(
            "AutoModelForCausalLM", self.model_name_or_path, revision=self.revision,
            device=self.device, dtype=self.dtype, trust_remote_code=self.trust_remote_code,
            what=f"{self.column} scorer", hint=hint)
        self.use_model(model, tokenizer)

    def use_model(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> None:
        """Score with an already loaded model and tokenizer (e.g. in a notebook or benchmark).

        The model stays on its device and dtype; it is not pickled (workers of ``map(num_proc=)``
        load ``model_name_or_path`` themselves).
        """
        device = str(next(model.parameters()).device)
        self._rt.update(
            model=model.eval(), tokenizer=tokenizer, device=device,
            score_ids=core.resolve_score_ids(tokenizer, repr(self.model_name_or_path)),
            pad_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (
                tokenizer.eos_token_id or 0),
            keep_arg=core.supports_logits_to_keep(model), prefix=None,
            limit=core.position_limit(model, tokenizer),
        )
        if self.prefix_cache:
            ids = core.template_prefix_ids(tokenizer, self.template)
            if len(ids) >= 2:
                self._rt["prefix"] = (ids, core.prefix_cache(model, ids, device))

    # -- scoring ---------------------------------------------------------------------------
    def _fields(self, instruction: str, response: str) -> dict[str, str]:
        values = {"instruction": instruction, "output": response}
        return {k: values[k] for k in self.fields}

    def score_texts(self, items: list[dict[str, str]], *, where: list[str] | None = None) -> list[float]:
        """Expected scores of prompts given by their fields (``instruction`` [, ``output``]).

        Args:
            items: one dict of template fields per prompt.
            where: optional labels (e.g. "row 5 turn 0") for error messages.

        Returns:
            One float per item (NaN only with ``on_error="nan"`` and a warning).
        """
        self.load()
        if not items:
            return []
        if "vllm" in self._rt:
            prompts = [self.template.format(**f) for f in items]
            return self._rt["vllm"].score_prompts(prompts)
        rt = self._rt
        where = where or [f"item {i}" for i in range(len(items))]
        if self.max_length is None:
            ids = [list(rt["tokenizer"](self.template.format(**f))["input_ids"]) for f in items]
            self._warn_long(ids)
        else:
            fitted = [core.fit_prompt(rt["tokenizer"], self.template, f, self.max_length)
                      for f in items]
            n_trunc = sum(t for _, t in fitted)
            if n_trunc:
                warnings.warn(f"{self.column} scorer: {n_trunc} of {len(items)} inputs were longer "
                              f"than max_length={self.max_length} tokens; their text was "
                              f"truncated.", stacklevel=3)
            ids = [x for x, _ in fitted]
        scores = [math.nan] * len(ids)
        failures: list[str] = []
        prefix = rt.get("prefix")
        n = len(prefix[0]) if prefix else 0
        groups = {True: [], False: []}  # continues the cached prefix (and has tokens after it)?
        for i, x in enumerate(ids):
            groups[bool(prefix) and len(x) > n and x[:n] == prefix[0]].append(i)
        for cached, members in groups.items():
            order = sorted(members, key=lambda i: -len(ids[i]))
            for start in range(0, len(order), self.batch_size):
                chunk = order[start:start + self.batch_size]
                batch_ids = [ids[i][n:] if cached else ids[i] for i in chunk]
                results = self._forward_chunk(batch_ids, [where[i] for i in chunk], failures,
                                              (n, prefix[1]) if cached else None)
                for i, s in zip(chunk, results):
                    scores[i] = s
        bad = sum(1 for s in scores if not math.isfinite(s))
        if bad:
            msg = (f"{self.column} scorer: {bad} of {len(items)} inputs got NaN "
                   f"({len(failures)} failed forward passes: {'; '.join(failures[:3])}).")
            if self.on_error == "raise":
                raise RuntimeError(msg + " Pass on_error='nan' to keep going with NaN scores.")
            warnings.warn(msg, stacklevel=3)
        return scores

    def _warn_long(self, ids: list[list[int]]) -> None:
        """One warning counting the uncut prompts longer than the model's position limit."""
        limit = self._rt.get("limit")
        over = [len(x) for x in ids if limit is not None and len(x) > limit]
        if over:
            warnings.warn(
                f"{self.column} scorer: {len(over)} of {len(ids)} prompts are longer than the "
                f"model's limit of {limit} positions (longest: {max(over)} tokens); they are scored "
                f"whole, as the original DEITA scores them. To cut their instruction/response "
                f"text to a budget instead, pass max_length=N (`--max-length N`).", stacklevel=4)

    def _forward_chunk(self, ids: list[list[int]], where: list[str], failures: list[str],
                       prefix: tuple[int, Any] | None = None) -> list[float]:
        rt = self._rt
        try:
            return core.forward_scores(rt["model"], ids, rt["score_ids"], rt["pad_id"], rt["device"],
                                        rt["keep_arg"], prefix)
        except Exception as err:  # noqa: BLE001 - reported below, never replaced by a made-up score
            if self.on_error == "raise":
                raise RuntimeError(f"{self.column} scorer failed on {', '.join(where)}: "
                                   f"{type(err).__name__}: {err}") from err
            if len(ids) > 1:  # isolate the failing rows
                out = []
                for one, label in zip(ids, where):
                    out.extend(self._forward_chunk([one], [label], failures, prefix))
                return out
            failures.append(f"{where[0]}: {type(err).__name__}: {err}")
            return [math.nan]

    def __call__(self, batch: dict[str, list], indices: list[int] | None = None) -> dict[str, list]:
        """Score a batch from ``Dataset.map(batched=True[, with_indices=True])``.

        Returns:
            ``{column: [[score per turn], ...]}``.

        Raises:
            ConfigError: given one row (``ds.map(scorer)`` without ``batched=True``).
        """
        from deita_hf.scoring.baselines import require_batch

        require_batch(batch, indices, type(self).__name__)
        # a conversation that opens with an assistant message keeps it as a turn, as DEITA's
        # score pipeline does (messages paired in order; counted in a FormatWarning)
        turns = turns_from_batch(batch, indices=indices, leading_assistant="keep")
        items, where, counts = [], [], []
        for r, row in enumerate(turns):
            counts.append(len(row))
            label = f"row {indices[r] if indices is not None else r}"
            for t, (instruction, response) in enumerate(row):
                items.append(self._fields(instruction, response))
                where.append(f"{label} turn {t}")
        flat = self.score_texts(items, where=where)
        out, pos = [], 0
        for n in counts:
            out.append(flat[pos:pos + n])
            pos += n
        return {self.column: out}


class ComplexityScorer(_ModelScorer):
    """DEITA complexity scorer: scores each turn's instruction; adds column ``complexity``.

    See :class:`_ModelScorer` for the arguments. Default model: ``hkust-nlp/deita-complexity-scorer``.

    Example:
        >>> scorer = ComplexityScorer("hkust-nlp/deita-complexity-scorer")  # nothing loaded yet
        >>> scorer.describe()["kind"]
        'model'
    """

    column = "complexity"
    template = COMPLEXITY_TEMPLATE
    fields = ("instruction",)
    default_model = "hkust-nlp/deita-complexity-scorer"


class QualityScorer(_ModelScorer):
    """DEITA quality scorer: scores each (instruction, response) turn; adds column ``quality``.

    See :class:`_ModelScorer` for the arguments. Default model: ``hkust-nlp/deita-quality-scorer``.

    Example:
        >>> QualityScorer().model_name_or_path
        'hkust-nlp/deita-quality-scorer'
    """

    column = "quality"
    template = QUALITY_TEMPLATE
    fields = ("instruction", "output")
    default_model = "hkust-nlp/deita-quality-scorer"
