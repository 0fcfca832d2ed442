"""Local generation with vLLM (GPU): ``LLM.generate`` for raw prompts, ``LLM.chat`` for chats.

Needs ``pip install 'deita_hf[vllm]'``; vLLM is imported on first use only.

Example:
    >>> from deita_hf.generation import GenerationParams
    >>> from deita_hf.generation.vllm_backend import sampling_kwargs
    >>> sampling_kwargs(GenerationParams(max_new_tokens=32, stop=("###",)))
    {'temperature': 0.0, 'top_p': 1.0, 'max_tokens': 32, 'stop': ['###'], 'seed': 0}
"""

from __future__ import annotations

import os
from typing import Any

from deita_hf.errors import ConfigError
from deita_hf.generation.base import GenerationInput, Generator, Report, is_chat
from deita_hf.generation.params import GenerationParams

__all__ = ["VLLMGenerator", "sampling_kwargs"]


def sampling_kwargs(params: GenerationParams) -> dict[str, Any]:
    """``vllm.SamplingParams`` keyword arguments for ``params`` (pure; no vLLM needed).

    Args:
        params: the sampling settings.

    Returns:
        ``temperature`` (0 = greedy in vLLM too), ``top_p``, ``max_tokens``, ``stop`` (a list,
        possibly empty) and ``seed`` (omitted when None).
    """
    kwargs: dict[str, Any] = {"temperature": params.temperature, "top_p": params.top_p,
                              "max_tokens": params.max_new_tokens, "stop": list(params.stop)}
    if params.seed is not None:
        kwargs["seed"] = params.seed
    return kwargs


class VLLMGenerator(Generator):
    """Generate with a ``vllm.LLM`` engine (created on first use).

    Args:
        model: local folder or Hub id.
        tensor_parallel_size: GPUs per model replica.
        data_parallel_size: model replicas (passed to the engine only when > 1; needs a vLLM
            version whose ``LLM`` accepts it).
        dtype: vLLM dtype (``"auto"``, ``"bfloat16"``, ...).
        max_model_len: context limit (None: the model's).
        cache_dir: folder of the generation cache (not vLLM's download folder); None: no cache.
        chunk_size: inputs per engine call; each call's results are cached when it returns.
        chat_template: a Jinja chat template used instead of the tokenizer's (``LLM.chat``'s
            ``chat_template``); None: the tokenizer's own.
        **engine_kwargs: more ``vllm.LLM`` arguments (``gpu_memory_utilization``, ``seed``...).
    """

    backend = "vllm"

    def __init__(self, model: str | os.PathLike, *, tensor_parallel_size: int = 1,
                 data_parallel_size: int = 1, dtype: str = "auto", max_model_len: int | None = None,
                 cache_dir: str | os.PathLike | None = None, chunk_size: int = 1024,
                 chat_template: str | None = None, **engine_kwargs: Any) -> None:
        super().__init__(str(model), cache_dir=cache_dir)
        self.spec = f"vllm:{self.model}"
        for name, value in (("tensor_parallel_size", tensor_parallel_size),
                            ("data_parallel_size", data_parallel_size), ("chunk_size", chunk_size)):
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be an integer >= 1, got {value!r}.")
        self.tensor_parallel_size, self.data_parallel_size = tensor_parallel_size, data_parallel_size
        self.dtype, self.max_model_len, self.chunk_size = dtype, max_model_len, chunk_size
        self.engine_kwargs, self.chat_template = engine_kwargs, chat_template
        self._llm: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_llm": None}

    def _settings(self) -> dict[str, Any]:
        settings = {"tensor_parallel_size": self.tensor_parallel_size, "data_parallel_size": self.data_parallel_size,
                    "dtype": self.dtype, "max_model_len": self.max_model_len, **self.engine_kwargs}
        if self.chat_template:
            settings["chat_template"] = self.chat_template
        return settings

    def engine_args(self) -> dict[str, Any]:
        """The keyword arguments given to ``vllm.LLM``."""
        args: dict[str, Any] = {"model": self.model, "tensor_parallel_size": self.tensor_parallel_size,
                                "dtype": self.dtype}
        if self.max_model_len is not None:
            args["max_model_len"] = self.max_model_len
        if self.data_parallel_size > 1:
            args["data_parallel_size"] = self.data_parallel_size
        return {**args, **self.engine_kwargs}

    def load(self) -> Any:
        """Create the engine now (otherwise on the first ``generate``); returns the ``vllm.LLM``.

        Raises:
            ConfigError: vLLM is not installed.
        """
        if self._llm is None:
            try:
                import vllm
            except ImportError as err:
                raise ConfigError("The vllm backend needs vLLM (GPU only): pip install 'deita_hf[vllm]', "
                                  "or use 'hf:PATH' (transformers) or 'openai:URL#MODEL'.") from err
            self._llm = vllm.LLM(**self.engine_args())
        return self._llm

    def _run(self, jobs: list[tuple[int, GenerationInput]], params: GenerationParams, report: Report) -> None:
        from vllm import SamplingParams

        llm = self.load()
        sampling = SamplingParams(**sampling_kwargs(params))
        chats = [job for job in jobs if is_chat(job[1])]
        if chats and not self.chat_template and not getattr(llm.get_tokenizer(), "chat_template", None):
            raise ConfigError(f"The tokenizer of {self.model!r} has no chat template, so chat inputs "
                              "cannot be rendered; no template is guessed. Pass raw prompt strings.")
        for group in ([job for job in jobs if not is_chat(job[1])], chats):
            for start in range(0, len(group), self.chunk_size):
                self._call(llm, group[start:start + self.chunk_size], sampling, report)

    def _call(self, llm: Any, chunk: list[tuple[int, GenerationInput]], sampling: Any, report: Report) -> None:
        def engine(items: list[GenerationInput]) -> list[str]:
            if is_chat(items[0]):
                outs = llm.chat(items, sampling, use_tqdm=False, chat_template=self.chat_template)
            else:
                outs = llm.generate(items, sampling, use_tqdm=False)
            return [out.outputs[0].text for out in outs]

        try:
            texts = engine([item for _, item in chunk])
        except (ValueError, RuntimeError) as err:  # e.g. one prompt too long: isolate it
            if len(chunk) == 1:
                report(chunk[0][0], error=err)
                return
            for job in chunk:
                self._call(llm, [job], sampling, report)
            return
        for (index, _), text in zip(chunk, texts):
            report(index, text)
