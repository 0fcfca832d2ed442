"""Optional vLLM backend for the scorers (GPU users): ``ComplexityScorer(..., backend="vllm")``.

vLLM generates one token restricted to the six score tokens and returns their logprobs; the
logprobs are renormalised over "1".."6" (which equals the softmax over their logits) and turned
into the same expected score as the transformers backend. Needs ``pip install deita_hf[vllm]``.

Example:
    >>> import math
    >>> from deita_hf.scoring.vllm_backend import score_from_logprobs
    >>> score_from_logprobs({"1": math.log(0.5), "6": math.log(0.5), "2": -50, "3": -50,
    ...                      "4": -50, "5": -50})  # doctest: +ELLIPSIS
    3.5...
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping

from deita_hf.errors import ConfigError
from deita_hf.scoring.prompts import SCORE_TOKENS

__all__ = ["VLLMScorerBackend", "score_from_logprobs"]


def score_from_logprobs(logprobs: Mapping[str, float]) -> float:
    """Expected score from the logprobs of the tokens "1".."6".

    Args:
        logprobs: token text (``"1"``..``"6"``, surrounding whitespace/``▁`` ignored) -> logprob.
            Logprobs from any normalisation work (raw or restricted): only differences matter.

    Returns:
        ``sum_k k * p_k`` with ``p`` the softmax of the six values.

    Raises:
        ValueError: a score token is missing (no made-up score).
    """
    clean = {str(k).strip().lstrip("▁Ġ"): float(v) for k, v in logprobs.items()}
    missing = [t for t in SCORE_TOKENS if t not in clean]
    if missing:
        raise ValueError(f"logprobs lack the score tokens {missing}; got {sorted(clean)}.")
    values = [clean[t] for t in SCORE_TOKENS]
    top = max(values)
    if not math.isfinite(top):
        raise ValueError(f"No finite logprob among the score tokens: {values}.")
    weights = [math.exp(v - top) for v in values]
    return sum((k + 1) * w for k, w in enumerate(weights)) / sum(weights)


class VLLMScorerBackend:
    """Score prompts with vLLM (one generated token, restricted to "1".."6").

    Args:
        model: local path or Hub id.
        revision: Hub revision.
        max_length: ``max_model_len`` for vLLM (prompts longer than it fail -> NaN + warning);
            None: the model's own limit, as the original DEITA's ``LLM(model)``.

    The engine also gets the process's :func:`deita_hf.runtime.vllm_defaults` (a Ray worker
    sets ``tensor_parallel_size`` to its GPUs there).
    """

    def __init__(self, model: str, *, revision: str | None = None,
                 max_length: int | None = None) -> None:
        try:
            from vllm import LLM
        except ImportError as err:
            raise ConfigError("backend='vllm' needs vLLM: pip install 'deita_hf[vllm]' "
                              "(GPU only), or use backend='transformers'.") from err
        from deita_hf.runtime import vllm_defaults

        engine = {**vllm_defaults(), "model": model, "revision": revision}
        if max_length is not None:
            engine["max_model_len"] = max_length
        try:  # logprobs after the allowed-token restriction (vLLM >= 0.10); older: the default
            self.llm = LLM(**engine, logprobs_mode="processed_logprobs")
        except TypeError:
            self.llm = LLM(**engine)
        tok = self.llm.get_tokenizer()
        vocab = tok.get_vocab()
        missing = [t for t in SCORE_TOKENS if t not in vocab]
        if missing:
            raise ConfigError(f"The tokenizer of {model!r} lacks the score tokens {missing}.")
        self.ids = [vocab[t] for t in SCORE_TOKENS]
        self.id_to_token = dict(zip(self.ids, SCORE_TOKENS))

    def score_prompts(self, prompts: list[str]) -> list[float]:
        """One expected score per prompt; NaN (with a counting warning) where vLLM gave none."""
        from vllm import SamplingParams

        params = SamplingParams(max_tokens=1, temperature=0.0, logprobs=len(self.ids),
                                allowed_token_ids=self.ids)
        scores, failed = [], 0
        for out in self.llm.generate(prompts, params, use_tqdm=False):
            try:
                step = out.outputs[0].logprobs[0]
                scores.append(score_from_logprobs(
                    {self.id_to_token[i]: lp.logprob for i, lp in step.items() if i in self.id_to_token}))
            except (ValueError, IndexError, TypeError, AttributeError):
                scores.append(math.nan)
                failed += 1
        if failed:
            warnings.warn(f"vLLM backend: {failed} of {len(prompts)} prompts got no score "
                          f"logprobs and were set to NaN.", stacklevel=2)
        return scores
