"""LESS gradient features (Xia et al., 2024, *LESS: Selecting Influential Data for Targeted
Instruction Tuning*): a column of projected, preconditioned per-example LoRA gradients.

For a row ``z`` (its conversation in the layout of :mod:`deita_hf.scoring.conversation_tokens`,
loss ``ℓ(z; θ)`` = the mean token loss over its replies), at each warm-up checkpoint ``c``
(:mod:`deita_hf.scoring.less_warmup`) with LoRA parameters ``θ_c`` and AdamW moments
``m_c, v_c``, with ``g = ∇_θ ℓ(z; θ_c)`` over the LoRA parameters only (flattened in
``named_parameters`` order, as LESS's ``torch.cat([p.grad.view(-1) ...])``):

- pool rows (``gradient="adam"``, LESS's ``obtain_gradients_with_adam``):
  ``m̂ = β1·m_c + (1 − β1)·g``, ``v̂ = β2·v_c + (1 − β2)·g²``, ``Γ = m̂ / sqrt(v̂ + ε)`` (ε inside
  the root, as LESS; β1, β2, ε the warm-up optimizer's: 0.9, 0.999, 1e-8);
- target rows (``gradient="sgd"``, LESS's ``obtain_gradients``): ``Γ = g``;
- projected with the seeded Rademacher matrix ``R`` of :mod:`deita_hf.scoring.projection`
  (``dim`` columns, 8,192 by default as LESS) and L2-normalised: ``u_c = ΓR / ‖ΓR‖``;
- the column ``less_grad`` is ``[√w_1·u_1, …, √w_C·u_C]`` (``dim × C`` float32, unit norm),
  ``w_c`` the checkpoints' weights (mean learning rate of each epoch, normalised), so the dot
  product of a pool row and a target row is LESS's score ``Σ_c w_c cos(Γ_c(z), ∇ℓ(z'; θ_c))``.

The per-example gradients come from one batched forward and backward pass per mini-batch
(:mod:`deita_hf.scoring.per_example`); the gradients of as many rows as fit in
``max_buffer_bytes`` are projected together, in one matrix product per group of rows (the
projection matrix is read, or generated, once per group, not once per row).

``less_grad_id`` holds ``"adam:<id>"`` or ``"sgd:<id>"``, ``<id>`` a hash of everything that
makes two rows' features comparable (the checkpoints' adapter weights and weights, the
projection's kind, seed and dimension): the ``less`` strategy refuses to compare features of
different ids.

Example:
    >>> from deita_hf.scoring.less import LessGradientScorer
    >>> s = LessGradientScorer("path/to/model", dim=1024)  # lazy: nothing loads or trains
    >>> s.describe()["columns"], s.describe()["projection"]["dim"]
    (['less_grad', 'less_grad_id'], 1024)
    >>> pool = pool.map(s.prepare(pool, cache_dir="out/.less"), batched=True, with_indices=True)  # doctest: +SKIP
    >>> target = s.target_features(target_rows)  # SGD features, same warm-up  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deita_hf.errors import ConfigError
from deita_hf.runtime import LazyRuntime, load_error, load_pretrained, local_stamp, resolve_device
from deita_hf.scoring.baselines import require_batch
from deita_hf.scoring.less_warmup import (
    WarmupConfig,
    load_warmup,
    quiet_peft,
    read_checkpoint,
    run_warmup,
)

if TYPE_CHECKING:
    import numpy as np
    from datasets import Dataset

__all__ = ["FEATURES_COLUMN", "GRADIENTS", "ID_COLUMN", "LessGradientScorer", "require_peft"]

FEATURES_COLUMN = "less_grad"
ID_COLUMN = "less_grad_id"
GRADIENTS = ("adam", "sgd")
_DEFAULT_CACHE = Path("~/.cache/deita_hf/less")


def require_peft() -> None:
    """Raise a ConfigError saying how to install peft when it is missing."""
    try:
        import peft  # noqa: F401
    except ImportError:
        raise ConfigError("LESS needs peft for its LoRA warm-up: pip install 'deita_hf[less]' "
                          "(or pip install 'peft>=0.10').") from None


class LessGradientScorer(LazyRuntime):
    """LESS gradient features as a component: adds ``less_grad`` and ``less_grad_id``.

    Args:
        model_name_or_path: the base causal LM (folder or Hub id).
        dim: projected dimension per checkpoint (LESS: 8,192).
        projection_seed: seed of the Rademacher projection.
        gradient: ``"adam"`` (pool rows, LESS's default) or ``"sgd"`` (target rows).
        checkpoints: ``"all"`` (every epoch, weighted by its mean learning rate: LESS) or
            ``"last"``.
        warmup_dir: a finished warm-up folder to use instead of running one.
        cache_dir: where warm-ups live (default ``~/.cache/deita_hf/less``; ``deita-hf
            select`` uses ``.NAME.less`` beside its output).
        warmup_fraction, warmup_epochs, warmup_lr, warmup_batch_size, warmup_seed, lora_r,
            lora_alpha, lora_dropout, lora_target_modules: the warm-up
            (:class:`~deita_hf.scoring.less_warmup.WarmupConfig`, LESS's defaults).
        batch_size: rows per forward/backward pass of the feature extraction.
        max_length: most tokens per row (cut on the right, as LESS).
        device: torch device (None: CUDA if available).
        dtype: the model's dtype for extraction (None: bf16 on CUDA, float32 on CPU).
        max_cache_bytes: keep the projection matrix in memory up to this size.
        max_buffer_bytes: per-example gradients held at once before they are projected
            together (at least one mini-batch).
    """

    column = FEATURES_COLUMN
    kind = "less"

    def __init__(self, model_name_or_path: str, *, dim: int = 8192, projection_seed: int = 0,
                 gradient: str = "adam", checkpoints: str = "all",
                 warmup_dir: str | None = None, cache_dir: str | None = None,
                 warmup_fraction: float = 0.05, warmup_epochs: int = 4, warmup_lr: float = 2e-5,
                 warmup_batch_size: int = 32, warmup_seed: int = 0, lora_r: int = 128,
                 lora_alpha: float = 512.0, lora_dropout: float = 0.1,
                 lora_target_modules: Any = ("q_proj", "k_proj", "v_proj", "o_proj"),
                 batch_size: int = 8, max_length: int = 2048, device: str | None = None,
                 dtype: Any = None, max_cache_bytes: int = 2 * 1024**3,
                 max_buffer_bytes: int = 1024**3) -> None:
        if not model_name_or_path:
            raise ConfigError("LessGradientScorer needs a base causal LM (a folder or Hub id).")
        for name, value in (("dim", dim), ("batch_size", batch_size), ("max_length", max_length)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"LESS: {name} must be a positive int, got {value!r}.")
        for name, value in (("projection_seed", projection_seed), ("warmup_seed", warmup_seed)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"LESS: {name} must be an int >= 0 (a seed), got {value!r}.")
        if gradient not in GRADIENTS:
            raise ConfigError(f"LESS: gradient must be one of {GRADIENTS}, got {gradient!r}.")
        if checkpoints not in ("all", "last"):
            raise ConfigError(f"LESS: checkpoints must be 'all' or 'last', got {checkpoints!r}.")
        self.model_name_or_path = str(model_name_or_path)
        self.dim, self.projection_seed = int(dim), int(projection_seed)
        self.gradient, self.checkpoints = gradient, checkpoints
        self.config = WarmupConfig(
            warmup_fraction=warmup_fraction, warmup_epochs=warmup_epochs, warmup_lr=warmup_lr,
            warmup_batch_size=warmup_batch_size, warmup_seed=warmup_seed, lora_r=lora_r,
            lora_alpha=lora_alpha, lora_dropout=lora_dropout,
            lora_target_modules=lora_target_modules)
        self.cache_dir = None if cache_dir is None else str(cache_dir)
        self.warmup_dir = None if warmup_dir is None else str(warmup_dir)
        self.batch_size, self.max_length = int(batch_size), int(max_length)
        self.device = None if device is None else str(device)
        self.dtype = None if dtype is None else str(dtype).replace("torch.", "")
        self.max_cache_bytes = int(max_cache_bytes)
        self.max_buffer_bytes = int(max_buffer_bytes)
        self.weights_stamp = local_stamp(self.model_name_or_path)
        #: the finished warm-up (set by :meth:`prepare`) and the features' compatibility id
        self.warmup: dict[str, Any] | None = None
        self.features_id: str | None = None
        self._reset_runtime()

    def __repr__(self) -> str:
        return f"LessGradientScorer({self.model_name_or_path!r}, dim={self.dim})"

    @classmethod
    def options(cls) -> list[str]:
        """The keyword options a ``less:MODEL,key=value`` spec may set."""
        import inspect

        params = inspect.signature(cls.__init__).parameters
        return [n for n, p in params.items() if p.kind is p.KEYWORD_ONLY]

    # -- settings ----------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """What a card records: model, LoRA and warm-up settings, the warm-up itself (folder,
        key, rows, checkpoints and weights), the projection, the gradient kind and the id."""
        from deita_hf.scoring.projection import BLOCK_ROWS, projection_name

        return {"name": self.model_name_or_path, "kind": self.kind, "column": self.column,
                "columns": [FEATURES_COLUMN, ID_COLUMN], "gradient": self.gradient,
                "checkpoints": self.checkpoints, "warmup_config": asdict(self.config),
                "warmup": self.warmup, "features_id": self.features_id,
                "projection": {"kind": projection_name(resolve_device(self.device)),
                               "seed": self.projection_seed,
                               "dim": self.dim, "block_rows": BLOCK_ROWS},
                "feature_dim": self.dim * len(self._checkpoints()) if self.warmup else None,
                "max_length": self.max_length, "batch_size": self.batch_size,
                "dtype": self.dtype or "auto"}

    def _checkpoints(self) -> list[dict[str, Any]]:
        ckpts = (self.warmup or {}).get("checkpoints") or []
        if self.checkpoints == "last" and ckpts:
            return [{**ckpts[-1], "weight": 1.0}]
        return list(ckpts)

    # -- the warm-up -------------------------------------------------------------------------
    @property
    def prepared(self) -> bool:
        """Whether :meth:`prepare` has run (a finished warm-up is known)."""
        return self.warmup is not None

    def prepare(self, pool: Dataset | None = None, *, cache_dir: str | os.PathLike | None = None,
                progress: bool = True, state: Any = None) -> LessGradientScorer:
        """Run (or reuse) the warm-up on a seeded slice of ``pool``; with ``warmup_dir`` set,
        read that finished warm-up instead (``pool`` may then be None).

        Args:
            pool: the whole pool (not a shard: the slice is drawn from it).
            cache_dir: where warm-ups live (default: the constructor's, else
                ``~/.cache/deita_hf/less``).
            progress: show the trainer's progress.
            state: an ``accelerate.PartialState`` (multi-process warm-up).

        Returns:
            ``self``, ready to compute features.
        """
        require_peft()
        if self.warmup_dir is not None:
            warmup = load_warmup(self.warmup_dir)
        else:
            if pool is None:
                raise ConfigError("LessGradientScorer.prepare needs the pool (its warm-up trains "
                                  "on a slice of it), or warmup_dir=DIR of a finished warm-up.")
            self.load_tokenizer()
            warmup = run_warmup(pool, self.model_name_or_path, self.config,
                                cache_dir or self.cache_dir or _DEFAULT_CACHE.expanduser(),
                                tokenizer=self._rt["tokenizer"], max_length=self.max_length,
                                device=resolve_device(self.device), stamp=self.weights_stamp,
                                progress=progress, state=state)
        theirs = dict(warmup.config)
        ours = json.loads(json.dumps(asdict(self.config), default=list))
        if self.warmup_dir is not None and theirs != ours:
            changed = sorted(k for k in ours if ours[k] != theirs.get(k))
            raise ConfigError(f"warmup_dir={self.warmup_dir!r} was made with other warm-up "
                              f"settings ({', '.join(f'{k}={theirs.get(k)!r}' for k in changed)}); "
                              f"pass the same settings, or drop warmup_dir to run a warm-up.")
        self.warmup = warmup.to_dict()
        self.features_id = self._features_id()
        self._rt.pop("model", None)
        return self

    def _features_id(self) -> str:
        from deita_hf.scoring.projection import projection_name

        digest = hashlib.sha256()
        for ckpt in self._checkpoints():
            adapter = Path(self.warmup["dir"]) / ckpt["path"] / "adapter_model.safetensors"
            digest.update(hashlib.sha256(adapter.read_bytes()).digest())
            digest.update(repr(round(ckpt["weight"], 12)).encode())
        digest.update(json.dumps([projection_name(resolve_device(self.device)),
                                  self.projection_seed, self.dim]).encode())
        return digest.hexdigest()[:16]

    # -- loading -----------------------------------------------------------------------------
    def load_tokenizer(self) -> None:
        """Load the base model's tokenizer (the warm-up and the features encode with it).

        Raises:
            ModelLoadError: it cannot be loaded (the message says why and what to do).
        """
        if "tokenizer" in self._rt:
            return
        from transformers import AutoTokenizer

        try:
            tok = AutoTokenizer.from_pretrained(self.model_name_or_path)
        except (OSError, ValueError) as err:
            raise load_error("LESS base model", self.model_name_or_path, err,
                             " (`--scorer less:DIR`)") from err
        self._rt["tokenizer"] = tok

    def load(self) -> None:
        """Load the base model with the warm-up's LoRA layers, the projection, and each
        checkpoint's adapter weights and Adam moments (done on the first call)."""
        if "model" in self._rt:
            return
        if not self.prepared:
            raise ConfigError("LessGradientScorer has no warm-up yet: call "
                              "scorer.prepare(pool) on the whole pool before mapping "
                              "(deita-hf select does this), or pass warmup_dir=DIR of a finished "
                              "warm-up.")
        import torch
        from peft import LoraConfig, get_peft_model

        from deita_hf.scoring.projection import RademacherProjector

        self.load_tokenizer()
        device = resolve_device(self.device)
        base, _ = load_pretrained("AutoModelForCausalLM", self.model_name_or_path, revision=None,
                                  device=device, dtype=self.dtype, trust_remote_code=False,
                                  what="LESS base model", hint=" (`--scorer less:DIR`)")
        cfg = self.warmup["config"]
        with quiet_peft():
            model = get_peft_model(base, LoraConfig(
                r=cfg["lora_r"], lora_alpha=cfg["lora_alpha"], lora_dropout=cfg["lora_dropout"],
                target_modules=list(cfg["lora_target_modules"]), task_type="CAUSAL_LM"))
        model = model.to(device).eval()
        params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        modules = dict(model.named_modules())
        layers = {}
        for name, p in params:
            owner = modules.get(name.rsplit(".", 1)[0])
            if not isinstance(owner, torch.nn.Linear) or not name.endswith(".weight") \
                    or owner.bias is not None:
                raise ConfigError(f"LESS: trainable parameter {name!r} is not the weight of a "
                                  f"bias-free linear LoRA layer; only LoRA adapters are supported.")
            layers[name.rsplit(".", 1)[0]] = owner
            p.requires_grad_(False)  # per-example gradients come from the capture hooks
        ckpts = [read_checkpoint(Path(self.warmup["dir"]) / c["path"], [n for n, _ in params],
                                 device) | {"weight": float(c["weight"])}
                 for c in self._checkpoints()]
        n_params = sum(p.numel() for _, p in params)
        tok = self._rt["tokenizer"]
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        self._rt.update(model=model, params=params, layers=layers, ckpts=ckpts, device=device,
                        pad=pad, projector=RademacherProjector(
                            n_params, self.dim, self.projection_seed, device=device,
                            max_cache_bytes=self.max_cache_bytes))

    # -- computing ---------------------------------------------------------------------------
    def _batch_grads(self, rows: list[Any], ckpt: dict[str, Any]) -> list[Any]:
        """Per-example gradients (Adam-preconditioned for ``gradient="adam"``) of one
        mini-batch at one checkpoint: one ``(b, numel)`` float32 tensor per LoRA parameter."""
        import torch

        from deita_hf.scoring.conversation_tokens import pad_right
        from deita_hf.scoring.per_example import LinearCapture, backward_to_embeddings

        rt, adam = self._rt, self.warmup["adam"]
        ids, mask, labels = pad_right(rows, rt["pad"], rt["device"])
        with torch.enable_grad(), LinearCapture(rt["layers"]) as cap:
            backward_to_embeddings(rt["model"], ids, mask, labels)
        grads = []
        for name, _ in rt["params"]:
            g = cap.weight_grads(name.rsplit(".", 1)[0])[0].reshape(len(rows), -1)
            if self.gradient == "adam":
                m = adam["beta1"] * ckpt["m"][name] + (1 - adam["beta1"]) * g
                v = adam["beta2"] * ckpt["v"][name] + (1 - adam["beta2"]) * g * g
                g = m / torch.sqrt(v + adam["eps"])
            grads.append(g)
        return grads

    def row_features(self, batch: dict[str, list], indices: list[int] | None = None) -> np.ndarray:
        """The ``less_grad`` values of a batch of rows: ``(rows, dim × checkpoints)`` float32.

        Rows are length-sorted into mini-batches of ``batch_size`` for the forward and backward
        passes; their gradients are projected together, as many rows at a time as fit in
        ``max_buffer_bytes`` (so the projection matrix is read once per group, not per row).

        Raises:
            InputError: a row without response tokens (names the row).
        """
        import numpy as np
        import torch
        from peft import set_peft_model_state_dict

        from deita_hf.scoring.conversation_tokens import encode_batch

        self.load()
        rt = self._rt
        rows = encode_batch(batch, indices, rt["tokenizer"], self.max_length, FEATURES_COLUMN)
        order = sorted(range(len(rows)), key=lambda i: -len(rows[i].input_ids))
        n_params = sum(p.numel() for _, p in rt["params"])
        group = max(self.batch_size, self.max_buffer_bytes // (4 * n_params))
        out = np.empty((len(rows), self.dim * len(rt["ckpts"])), dtype=np.float32)
        for c, ckpt in enumerate(rt["ckpts"]):
            set_peft_model_state_dict(rt["model"], ckpt["adapter"])
            for g0 in range(0, len(order), group):
                members = order[g0:g0 + group]
                parts = [self._batch_grads([rows[i] for i in members[s:s + self.batch_size]], ckpt)
                         for s in range(0, len(members), self.batch_size)]
                flat = torch.cat([torch.cat(blocks) for blocks in zip(*parts)], dim=1)
                del parts
                feats = torch.nn.functional.normalize(rt["projector"].project(flat), dim=1)
                feats = feats * ckpt["weight"] ** 0.5
                out[members, c * self.dim:(c + 1) * self.dim] = feats.cpu().numpy()
        return out

    def __call__(self, batch: dict[str, list], indices: list[int] | None = None) -> dict[str, Any]:
        """``{"less_grad": (rows, D) float32, "less_grad_id": [...]}`` for a
        ``Dataset.map(batched=True, with_indices=True)`` batch."""
        require_batch(batch, indices, type(self).__name__)
        feats = self.row_features(batch, indices)
        return {FEATURES_COLUMN: feats, ID_COLUMN: [f"{self.gradient}:{self.features_id}"] * len(feats)}

    def with_gradient(self, gradient: str) -> LessGradientScorer:
        """A copy computing ``gradient`` features with the same warm-up (and loaded model)."""
        if gradient not in GRADIENTS:
            raise ConfigError(f"LESS: gradient must be one of {GRADIENTS}, got {gradient!r}.")
        other = copy.copy(self)  # shares the loaded runtime (model, checkpoints, moments)
        other.gradient = gradient
        return other

    def target_features(self, ds: Dataset, *, progress: bool = True) -> Dataset:
        """``ds`` with SGD ``less_grad`` features (LESS's target side) and their id.

        Args:
            ds: the target rows (any supported conversation format).
            progress: show a progress bar.

        Returns:
            ``ds`` with ``less_grad`` and ``less_grad_id`` (``"sgd:<id>"``) added, e.g.
            ``scorer.target_features(load_pool("target.jsonl"))`` for a prepared scorer.
        """
        from deita_hf.scoring.less_extract import map_features

        return map_features(ds, self.with_gradient("sgd"), progress=progress)
