"""GraNd and EL2N (Paul et al., 2021, *Deep Learning on a Data Diet*): how hard a row is for a
model early in its training, as per-row scores.

The paper scores an example ``(x, y)`` of a classifier ``f_θ`` early in training (a few
epochs), averaged over ``K`` independent runs:

- GraNd: ``E_θ ‖∇_θ ℓ(f_θ(x), y)‖₂``;
- EL2N: ``E_θ ‖softmax(f_θ(x)) − onehot(y)‖₂``.

How they are taken to a causal LM here (one row = one conversation, in the layout of
:mod:`deita_hf.scoring.conversation_tokens`; the "labels" are the reply tokens):

- GraNd (:class:`GraNdScorer`, column ``grand``): ``ℓ`` is the row's mean token loss over its
  replies (one loss per row, as for LESS) and ``θ`` the weights and biases of **every linear
  layer** (attention, MLP and the LM head; token embeddings and norm scales are left out). The
  norm is exact, from one batched backward pass, without forming the gradient
  (:meth:`~deita_hf.scoring.per_example.LinearCapture.sq_norms`).
- EL2N (:class:`EL2NScorer`, column ``el2n``): the error vector of each reply token ``t``,
  ``‖softmax(logits_t) − onehot(y_t)‖₂``, averaged over the row's reply tokens.
- ``E_θ``: the mean over the models given (``grand:A+B+C``): checkpoints of short runs with
  different seeds, or several checkpoints of one run. A model folder holding a peft adapter
  (such as a checkpoint of the LESS warm-up) is loaded with its base and merged.

Higher is harder; the paper keeps the highest-scoring examples (``--strategy topk:column=el2n``).

Example:
    >>> from deita_hf.scoring.grand import EL2NScorer, GraNdScorer
    >>> GraNdScorer("run1+run2").describe()["models"]
    ['run1', 'run2']
    >>> EL2NScorer("m").describe()["column"]
    'el2n'
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deita_hf.errors import ConfigError
from deita_hf.runtime import (
    LazyRuntime,
    load_error,
    load_pretrained,
    local_stamp,
    resolve_device,
    resolve_dtype_name,
)
from deita_hf.scoring.baselines import require_batch

if TYPE_CHECKING:
    import torch

__all__ = ["EL2NScorer", "GraNdScorer", "load_causal_lm"]


def load_causal_lm(path: str, *, device: str, dtype: Any, what: str) -> tuple[Any, Any]:
    """A causal LM and its tokenizer, in eval mode, frozen; a peft adapter folder is merged into
    its base model (other folders load with the package's one loader,
    :func:`deita_hf.runtime.load_pretrained`)."""
    hint = f" (`--scorer {what.split()[0]}:DIR`)"
    if (Path(path).expanduser() / "adapter_config.json").is_file():
        import torch
        from transformers import AutoTokenizer

        from deita_hf.scoring.less import require_peft

        require_peft()
        from peft import AutoPeftModelForCausalLM

        try:
            model = AutoPeftModelForCausalLM.from_pretrained(
                path, dtype=getattr(torch, resolve_dtype_name(dtype, device)))
            model = model.merge_and_unload()
            try:
                tokenizer = AutoTokenizer.from_pretrained(path)
            except (OSError, ValueError):
                tokenizer = AutoTokenizer.from_pretrained(model.config._name_or_path)
        except (OSError, ValueError) as err:
            raise load_error(what, path, err, hint) from err
        model = model.to(device).eval()
    else:
        model, tokenizer = load_pretrained("AutoModelForCausalLM", path, revision=None,
                                           device=device, dtype=dtype, trust_remote_code=False,
                                           what=what, hint=hint)
    for p in model.parameters():
        p.requires_grad_(False)
    return model, tokenizer


class _EarlyTrainingScorer(LazyRuntime):
    """Base of GraNd and EL2N: a per-row value from each of K models, averaged."""

    column = ""
    kind = ""

    def __init__(self, models: str | Sequence[str], *, batch_size: int = 8,
                 max_length: int = 2048, device: str | None = None, dtype: Any = None) -> None:
        names = [m.strip() for m in models.split("+")] if isinstance(models, str) else \
            [str(m).strip() for m in models]
        if not names or not all(names):
            raise ConfigError(f"{type(self).__name__} needs one or more models "
                              f"('MODEL' or 'MODEL+MODEL+...'), got {models!r}.")
        for name, value in (("batch_size", batch_size), ("max_length", max_length)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{self.kind}: {name} must be a positive int, got {value!r}.")
        self.models = names
        self.batch_size, self.max_length = int(batch_size), int(max_length)
        self.device = None if device is None else str(device)
        self.dtype = None if dtype is None else str(dtype).replace("torch.", "")
        self.weights_stamp = [local_stamp(m) for m in names]
        self._reset_runtime()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({'+'.join(self.models)!r})"

    def describe(self) -> dict[str, Any]:
        """``name``, ``kind``, ``column``, the models averaged over and the settings."""
        return {"name": "+".join(self.models), "kind": self.kind, "column": self.column,
                "models": list(self.models), "max_length": self.max_length,
                "batch_size": self.batch_size, "dtype": self.dtype or "auto"}

    def load(self) -> None:
        """Load the K models (done on the first call)."""
        if "models" in self._rt:
            return
        device = resolve_device(self.device)
        self._rt["models"] = [load_causal_lm(m, device=device, dtype=self.dtype,
                                             what=f"{self.kind} model") for m in self.models]
        self._rt["device"] = device

    def _values(self, model: Any, ids: torch.Tensor, mask: torch.Tensor,
                labels: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def row_values(self, batch: dict[str, list], indices: list[int] | None = None) -> list[float]:
        """The per-row value averaged over the models.

        Raises:
            InputError: a row without response tokens (names the row).
        """
        from deita_hf.scoring.conversation_tokens import encode_batch, pad_right

        self.load()
        total = [0.0] * len(next(iter(batch.values()), []))
        for model, tok in self._rt["models"]:
            rows = encode_batch(batch, indices, tok, self.max_length, self.column)
            pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
            order = sorted(range(len(rows)), key=lambda i: -len(rows[i].input_ids))
            for s in range(0, len(order), self.batch_size):
                chunk = order[s:s + self.batch_size]
                tensors = pad_right([rows[i] for i in chunk], pad, self._rt["device"])
                for i, v in zip(chunk, self._values(model, *tensors).tolist()):
                    total[i] += v
        return [t / len(self._rt["models"]) for t in total]

    def __call__(self, batch: dict[str, list], indices: list[int] | None = None) -> dict[str, list]:
        """``{column: [value per row]}`` for a ``Dataset.map(batched=True)`` batch."""
        require_batch(batch, indices, type(self).__name__)
        return {self.column: self.row_values(batch, indices)}


class GraNdScorer(_EarlyTrainingScorer):
    """GraNd: the norm of the row's loss gradient over every linear layer, averaged over
    models; adds column ``grand`` (see the module docstring).

    Args:
        models: a model, or several joined by ``+`` (or a list): checkpoints early in training.
        batch_size: rows per forward/backward pass.
        max_length: most tokens per row (cut on the right).
        device: torch device (None: CUDA if available).
        dtype: model dtype (None: bf16 on CUDA, float32 on CPU).

    Example:
        >>> GraNdScorer("m", batch_size=2).describe()["kind"]
        'grand'
    """

    column = "grand"
    kind = "grand"

    def _values(self, model: Any, ids: Any, mask: Any, labels: Any) -> Any:
        import torch

        from deita_hf.scoring.per_example import LinearCapture, backward_to_embeddings

        layers = {n: m for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
        with torch.enable_grad(), LinearCapture(layers) as cap:
            backward_to_embeddings(model, ids, mask, labels)
        return cap.sq_norms().clamp(min=0).sqrt()


class EL2NScorer(_EarlyTrainingScorer):
    """EL2N: the mean over reply tokens of ``‖softmax(logits) − onehot(token)‖₂``, averaged
    over models; adds column ``el2n`` (see the module docstring; arguments as
    :class:`GraNdScorer`).

    Example:
        >>> EL2NScorer("a+b").describe()["name"]
        'a+b'
    """

    column = "el2n"
    kind = "el2n"

    def _values(self, model: Any, ids: Any, mask: Any, labels: Any) -> Any:
        import torch

        from deita_hf.scoring.per_example import el2n_per_token

        with torch.inference_mode():
            logits = model(input_ids=ids, attention_mask=mask, use_cache=False).logits
        return el2n_per_token(logits, labels)
