"""Local generation with ``transformers``: batched, length-sorted, left-padded ``generate``.

Example (plain text: it loads a model):

    from deita_hf.generation import GenerationParams, TransformersGenerator
    gen = TransformersGenerator("path/to/model", batch_size=16, cache_dir="gen_cache")
    gen.generate([[{"role": "user", "content": "Name three colours."}]],
                 GenerationParams(max_new_tokens=64))
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from deita_hf.errors import ConfigError, GenerationError
from deita_hf.generation.base import GenerationInput, Generator, Report, is_chat
from deita_hf.generation.params import GenerationParams

__all__ = ["TransformersGenerator"]


class TransformersGenerator(Generator):
    """Generate with ``AutoModelForCausalLM.generate``, several inputs per batch.

    Inputs are sorted by token length (longest first) and batched with LEFT padding and an
    attention mask, so greedy outputs equal those of one-prompt-at-a-time ``generate``. Raw
    prompts are tokenized as is (with the tokenizer's special tokens, e.g. BOS); chats are
    rendered with ``tokenizer.apply_chat_template(..., add_generation_prompt=True)`` and
    tokenized without adding special tokens. Only the new tokens are decoded (up to the first
    EOS, special tokens skipped). The model's own ``generation_config`` supplies everything
    that :class:`GenerationParams` does not set.

    Args:
        model_name_or_path: local folder or Hub id (loaded on first use; offline-friendly).
        batch_size: inputs per ``generate`` call.
        device: ``"cuda"``, ``"cpu"``, ... (None/"auto": CUDA if available).
        dtype: ``"bfloat16"``, ``"float16"``, ``"float32"`` (None/"auto": bf16/fp16 on CUDA,
            fp32 on CPU).
        max_length: context limit in tokens; an input whose prompt plus ``max_new_tokens``
            exceeds it fails (never truncated silently). None: no check.
        cache_dir: folder of the generation cache (not the Hub download cache); None: no cache.
        trust_remote_code: passed to ``from_pretrained``.
        chat_template: a Jinja chat template used instead of the tokenizer's (e.g. for a base
            model without one); None: the tokenizer's own.
    """

    backend = "transformers"

    def __init__(self, model_name_or_path: str | os.PathLike, *, batch_size: int = 8,
                 device: str | None = None, dtype: str | None = None, max_length: int | None = None,
                 cache_dir: str | os.PathLike | None = None, trust_remote_code: bool = False,
                 chat_template: str | None = None) -> None:
        super().__init__(str(model_name_or_path), cache_dir=cache_dir)
        self.spec = f"hf:{self.model}"
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"batch_size must be an integer >= 1, got {batch_size!r}.")
        if max_length is not None and (not isinstance(max_length, int) or max_length < 2):
            raise ConfigError(f"max_length must be None or an integer >= 2, got {max_length!r}.")
        self.batch_size, self.device, self.dtype = batch_size, device, dtype
        self.max_length, self.trust_remote_code = max_length, trust_remote_code
        if chat_template is not None and (not isinstance(chat_template, str) or not chat_template.strip()):
            raise ConfigError("chat_template must be a non-empty Jinja template string or None.")
        self.chat_template = chat_template
        self._rt: dict[str, Any] = {}

    # pickling (Dataset.map workers, fingerprints): the settings only, never the loaded model
    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_rt"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._rt = {}

    def _settings(self) -> dict[str, Any]:
        settings = {"batch_size": self.batch_size, "device": self._rt.get("device", self.device),
                    "dtype": self._rt.get("dtype", self.dtype), "max_length": self.max_length}
        if self.chat_template:
            settings["chat_template"] = self.chat_template
        return settings

    @property
    def loaded(self) -> bool:
        return "model" in self._rt

    def load(self) -> None:
        """Load tokenizer and model now (otherwise done on the first ``generate``).

        Raises:
            ModelLoadError: the folder or Hub id does not load (says what to do instead).
        """
        from deita_hf.runtime import (
            limit_threads_in_worker,
            load_error,
            resolve_device,
            resolve_dtype_name,
        )

        limit_threads_in_worker()
        if self.loaded:
            return
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        device = resolve_device(self.device)
        dtype = resolve_dtype_name(self.dtype, device)
        try:
            tokenizer = AutoTokenizer.from_pretrained(self.model, trust_remote_code=self.trust_remote_code)
            model = AutoModelForCausalLM.from_pretrained(self.model, dtype=getattr(torch, dtype),
                                                         trust_remote_code=self.trust_remote_code)
        except (OSError, ValueError, ImportError, KeyError) as err:
            raise load_error("generation model", self.model, err, " (spec 'hf:DIR')") from err
        self.use_model(model.to(device), tokenizer)

    def use_model(self, model: Any, tokenizer: Any) -> None:
        """Generate with an already loaded model and tokenizer (kept on their device/dtype).

        Args:
            model: a causal LM with ``generate``.
            tokenizer: its tokenizer (padding is done here, whatever its ``padding_side``).
        """
        eos = model.generation_config.eos_token_id
        eos = eos if eos is not None else tokenizer.eos_token_id
        eos_ids = {int(e) for e in (eos if isinstance(eos, (list, tuple)) else [eos]) if e is not None}
        pad = tokenizer.pad_token_id
        if pad is None:
            pad = min(eos_ids) if eos_ids else 0
        param = next(model.parameters())
        self._rt.update(model=model.eval(), tokenizer=tokenizer, device=str(param.device),
                        dtype=str(param.dtype).replace("torch.", ""), pad_id=int(pad), eos_ids=eos_ids)

    def encode(self, item: GenerationInput) -> list[int]:
        """Token ids of one input as the model sees it (chat template applied to chats).

        Raises:
            ConfigError: a chat input and a tokenizer without a chat template.
        """
        self.load()
        tok = self._rt["tokenizer"]
        if not is_chat(item):
            return list(tok(item, add_special_tokens=True)["input_ids"])
        if not self.chat_template and not getattr(tok, "chat_template", None):
            raise ConfigError(
                f"The tokenizer of {self.model!r} has no chat template, so chat (message list) "
                "inputs cannot be rendered; no template is guessed. Give one (chat_template=..., "
                "`deita-hf eval --chat-template vicuna_v1.1|FILE`), set `tokenizer.chat_template` "
                "(and save it with the model) or pass raw prompt strings.")
        text = tok.apply_chat_template(list(item), add_generation_prompt=True, tokenize=False,
                                       chat_template=self.chat_template)
        return list(tok(text, add_special_tokens=False)["input_ids"])

    def _run(self, jobs: list[tuple[int, GenerationInput]], params: GenerationParams, report: Report) -> None:
        self.load()
        encoded: list[tuple[int, list[int]]] = []
        for index, item in jobs:
            ids = self.encode(item)  # a missing chat template is a ConfigError for every input
            if self.max_length is not None and len(ids) + params.max_new_tokens > self.max_length:
                report(index, error=GenerationError(
                    f"prompt of {len(ids)} tokens + max_new_tokens={params.max_new_tokens} exceeds "
                    f"max_length={self.max_length}"))
                continue
            encoded.append((index, ids))
        encoded.sort(key=lambda pair: -len(pair[1]))
        for start in range(0, len(encoded), self.batch_size):
            batch = encoded[start:start + self.batch_size]
            try:
                texts = self.generate_ids([ids for _, ids in batch], params)
            except (RuntimeError, ValueError, IndexError) as err:  # OOM, bad config: this batch
                texts, error = None, err
            for k, (index, _) in enumerate(batch):
                if texts is None:
                    report(index, error=error)
                else:
                    report(index, texts[k])

    def generate_ids(self, batch: Sequence[Sequence[int]], params: GenerationParams) -> list[str]:
        """One ``model.generate`` call on token-id lists (left-padded here); decoded new text.

        Args:
            batch: prompt token ids, one list per input.
            params: sampling settings (stop strings are applied by :meth:`generate`).

        Returns:
            The decoded new tokens of each input, up to its first EOS.
        """
        import torch

        from deita_hf.runtime import limit_threads_in_worker

        limit_threads_in_worker()
        rt = self._rt
        width = max(len(ids) for ids in batch)
        input_ids = torch.full((len(batch), width), rt["pad_id"], dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, ids in enumerate(batch):
            if ids:
                input_ids[row, width - len(ids):] = torch.tensor(list(ids), dtype=torch.long)
                mask[row, width - len(ids):] = 1
        kwargs: dict[str, Any] = {"max_new_tokens": params.max_new_tokens, "do_sample": not params.greedy,
                                  "pad_token_id": rt["pad_id"]}
        if not params.greedy:
            kwargs.update(temperature=params.temperature, top_p=params.top_p)
            if params.seed is not None:
                torch.manual_seed(params.seed)
        with torch.inference_mode():
            out = rt["model"].generate(input_ids=input_ids.to(rt["device"]),
                                       attention_mask=mask.to(rt["device"]), **kwargs)
        texts = []
        for row in out[:, width:].tolist():
            end = next((j for j, t in enumerate(row) if t in rt["eos_ids"]), len(row))
            texts.append(rt["tokenizer"].decode(row[:end], skip_special_tokens=True))
        return texts
