"""LESS's warm-up: a short LoRA fine-tune (TRL ``SFTTrainer`` + peft) on a seeded random slice
of the pool, whose checkpoints and Adam states the gradient features are taken from.

What LESS does (``less/scripts/train/warmup_lora_train.sh`` and ``base_training_args.sh``;
Xia et al., 2024, §4.1) and what :class:`WarmupConfig` defaults to: 5 % of the pool drawn with
``numpy`` seed ``seed`` (``np.random.seed(seed); np.random.permutation(n)[:int(n * 0.05)]``),
4 epochs, learning rate 2e-5 with a linear schedule and 3 % warm-up, no weight decay, AdamW
(β = 0.9, 0.999, ε = 1e-8), a batch of 32 (1 per device × gradient accumulation), LoRA
r = 128, α = 512, dropout 0.1 on ``q_proj k_proj v_proj o_proj``, a checkpoint after every
epoch. The rows are encoded in the layout of :mod:`deita_hf.scoring.conversation_tokens` (loss on
the replies only), the same layout the features use.

Each epoch's checkpoint holds the LoRA adapter (``adapter_model.safetensors``), the trainer's
own state (so an interrupted warm-up resumes from its last complete checkpoint: one left
incomplete by a run killed while saving it is deleted and saved again) and
``adam_state.safetensors`` (written last, atomically): AdamW's ``exp_avg``/``exp_avg_sq`` of every LoRA parameter,
by parameter name. A checkpoint's weight is the mean learning rate of its epoch, normalised to
sum to 1 (LESS's ``checkpoint_weights``: "average lr of the epoch").

Where: ``CACHE/warmup-<key>/``, ``key`` a hash of the model, the settings and the token ids of
the slice, so a finished warm-up (``warmup.json`` with ``"complete": true``) is reused by any
run with the same model, settings and data, and never redone.

Example:
    >>> from deita_hf.scoring.less_warmup import WarmupConfig, sample_rows
    >>> WarmupConfig().lora_target_modules
    ('q_proj', 'k_proj', 'v_proj', 'o_proj')
    >>> sample_rows(100, 0.05, seed=0).tolist()
    [26, 86, 2, 55, 75]
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deita_hf.errors import ConfigError, InputError

if TYPE_CHECKING:
    import numpy as np
    from datasets import Dataset

__all__ = ["ADAM_FILE", "WARMUP_FILE", "Checkpoint", "Warmup", "WarmupConfig",
           "last_complete_checkpoint", "load_warmup", "quiet_peft", "read_checkpoint",
           "run_warmup", "sample_rows"]

#: the warm-up's record (written last: its presence with "complete" means finished)
WARMUP_FILE = "warmup.json"
#: each checkpoint's AdamW moments, by LoRA parameter name
ADAM_FILE = "adam_state.safetensors"


@dataclass(frozen=True)
class WarmupConfig:
    """The warm-up's settings (LESS's by default; keys are the ``less:MODEL,key=value`` names)."""

    warmup_fraction: float = field(default=0.05, metadata={
        "help": "share of the pool drawn (seeded) for the warm-up (LESS: 0.05)"})
    warmup_epochs: int = field(default=4, metadata={"help": "epochs of the warm-up (LESS: 4)"})
    warmup_lr: float = field(default=2e-5, metadata={"help": "peak learning rate (LESS: 2e-5)"})
    warmup_batch_size: int = field(default=32, metadata={
        "help": "examples per optimizer step, over all processes (LESS: 1 x 32 accumulation)"})
    warmup_seed: int = field(default=0, metadata={
        "help": "seed of the data draw and of the training run"})
    lora_r: int = field(default=128, metadata={"help": "LoRA rank (LESS: 128)"})
    lora_alpha: float = field(default=512.0, metadata={"help": "LoRA alpha (LESS: 512)"})
    lora_dropout: float = field(default=0.1, metadata={"help": "LoRA dropout in training (0.1)"})
    lora_target_modules: tuple[str, ...] = field(
        default=("q_proj", "k_proj", "v_proj", "o_proj"),
        metadata={"help": "modules with LoRA adapters ('+'-separated in a spec)"})

    def __post_init__(self) -> None:
        targets = self.lora_target_modules
        if isinstance(targets, str):
            targets = tuple(t for t in targets.replace("+", " ").replace(",", " ").split() if t)
            object.__setattr__(self, "lora_target_modules", targets)
        if not (0 < self.warmup_fraction <= 1):
            raise ConfigError(f"warmup_fraction must be in (0, 1], got {self.warmup_fraction}.")
        for name in ("warmup_epochs", "warmup_batch_size", "lora_r"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive int, got {value!r}.")
        seed = self.warmup_seed
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ConfigError(f"warmup_seed must be an int >= 0 (a seed), got {seed!r}.")
        if self.warmup_lr <= 0 or self.lora_alpha <= 0 or not 0 <= self.lora_dropout < 1:
            raise ConfigError("warmup_lr and lora_alpha must be > 0 and lora_dropout in [0, 1).")
        if not targets:
            raise ConfigError("lora_target_modules names no module.")


@dataclass
class Checkpoint:
    """One warm-up checkpoint: its folder, the epoch and step it ends, and its weight."""

    path: str
    epoch: int
    step: int
    weight: float


@dataclass
class Warmup:
    """A finished warm-up (read from its ``warmup.json``)."""

    dir: str
    key: str
    model: str
    config: dict[str, Any]
    rows: int
    checkpoints: list[Checkpoint]
    adam: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "checkpoints": [asdict(c) for c in self.checkpoints]}


def sample_rows(n: int, fraction: float, seed: int) -> np.ndarray:
    """LESS's draw: ``int(n * fraction)`` rows of a seeded permutation (all rows, in order,
    when that is every row).

    Args:
        n: rows in the pool.
        fraction: the share drawn.
        seed: the numpy seed (``np.random.seed(seed); np.random.permutation(n)`` in LESS).

    Returns:
        The drawn row indices.

    Raises:
        ConfigError: the share is no row.
    """
    import numpy as np

    size = int(n * fraction)
    if size < 1:
        raise ConfigError(f"warmup_fraction={fraction} of a pool of {n} rows is no row; raise "
                          f"warmup_fraction (at least {1 / max(n, 1):.3g}).")
    if size == n:
        return np.arange(n)
    return np.random.RandomState(seed).permutation(n)[:size]


def load_warmup(path: str | os.PathLike) -> Warmup:
    """Read a finished warm-up folder.

    Args:
        path: a ``warmup-<key>`` folder.

    Returns:
        The :class:`Warmup` its ``warmup.json`` records.

    Raises:
        InputError: the folder is not a finished warm-up.
    """
    record = Path(path) / WARMUP_FILE
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InputError(f"{str(path)!r} is not a finished LESS warm-up (no readable "
                         f"{WARMUP_FILE}: {err}). Pass the warmup-<key> folder of a finished run, "
                         f"or let the scorer run the warm-up.") from None
    if not data.get("complete"):
        raise InputError(f"The LESS warm-up in {str(path)!r} is unfinished; run it again (it "
                         f"resumes from its last checkpoint).")
    return Warmup(dir=str(Path(path)), key=data["key"], model=data["model"],
                  config=data["config"], rows=data["rows"], adam=data["adam"],
                  checkpoints=[Checkpoint(**c) for c in data["checkpoints"]])


def read_checkpoint(folder: Path, names: list[str], device: Any) -> dict[str, Any]:
    """A checkpoint's adapter weights and the Adam moments of the parameters ``names``.

    Args:
        folder: the ``checkpoint-N`` folder.
        names: the LoRA parameter names (``named_parameters`` of the peft model).
        device: where the moments go.

    Returns:
        ``{"adapter": state dict, "m": {name: flat exp_avg}, "v": {name: flat exp_avg_sq}}``.

    Raises:
        ConfigError: a parameter has no moments (the warm-up's model differs).
    """
    from safetensors.torch import load_file

    moments = load_file(str(folder / ADAM_FILE))
    missing = [n for n in names if n + ".exp_avg" not in moments]
    if missing:
        raise ConfigError(f"LESS: {folder / ADAM_FILE} has no Adam moments for {missing[0]!r}; "
                          f"the warm-up and this model differ.")

    def flat(key: str) -> dict[str, Any]:
        return {n: moments[n + key].to(device).float().reshape(-1) for n in names}

    return {"adapter": load_file(str(folder / "adapter_model.safetensors")),
            "m": flat(".exp_avg"), "v": flat(".exp_avg_sq")}


def _key(model: str, stamp: Any, config: WarmupConfig, rows: list[Any]) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps({"model": model, "stamp": stamp, "config": asdict(config)},
                             sort_keys=True, default=list).encode())
    for row in rows:
        digest.update(json.dumps([row.input_ids, row.labels]).encode())
    return digest.hexdigest()[:16]


@contextlib.contextmanager
def quiet_peft() -> Iterator[None]:
    """Hide the FutureWarning transformers raises when peft wraps a model
    (``is_gradient_checkpointing``: peft's call, nothing a user can change)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*",
                                category=FutureWarning)
        yield


def _adam_saver() -> Any:
    from transformers import TrainerCallback

    class AdamStateSaver(TrainerCallback):
        """Save AdamW's moments of every trained parameter, by name, into each checkpoint."""

        def on_save(self, args: Any, state: Any, control: Any, model: Any = None,
                    optimizer: Any = None, **kwargs: Any) -> None:
            from safetensors.torch import save_file

            if not state.is_world_process_zero:
                return
            names = {id(p): n for n, p in model.named_parameters()}
            tensors = {}
            for group in optimizer.param_groups:
                for p in group["params"]:
                    moments = optimizer.state.get(p, {})
                    if "exp_avg" in moments:
                        tensors[names[id(p)] + ".exp_avg"] = moments["exp_avg"].detach().cpu()
                        tensors[names[id(p)] + ".exp_avg_sq"] = moments["exp_avg_sq"].detach().cpu()
            group = optimizer.param_groups[0]
            meta = {"beta1": str(group["betas"][0]), "beta2": str(group["betas"][1]),
                    "eps": str(group["eps"])}
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            tmp = folder / f".{ADAM_FILE}.tmp"  # written last, whole: marks the checkpoint complete
            save_file(tensors, str(tmp), metadata=meta)
            os.replace(tmp, folder / ADAM_FILE)

    return AdamStateSaver()


#: what a checkpoint holds once saved whole (the Adam moments are written last, atomically)
_CHECKPOINT_FILES = ("trainer_state.json", "adapter_model.safetensors", ADAM_FILE)


def last_complete_checkpoint(train_dir: str | os.PathLike) -> str | None:
    """The warm-up checkpoint to resume from: the latest ``checkpoint-N`` that holds every file
    of a whole save. Later, incomplete ones (a run killed while saving) are deleted, with a
    warning, so the trainer saves them again.

    Args:
        train_dir: the warm-up's ``train`` folder.

    Returns:
        The checkpoint's path, or None (start from scratch).

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> (root / "checkpoint-3").mkdir()
        >>> for name in _CHECKPOINT_FILES:
        ...     _ = (root / "checkpoint-3" / name).write_text("x")
        >>> (root / "checkpoint-6").mkdir()  # killed while saving: empty
        >>> import warnings
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     Path(last_complete_checkpoint(root)).name, (root / "checkpoint-6").exists()
        ('checkpoint-3', False)
    """
    import shutil

    root = Path(train_dir)
    found = sorted((int(p.name.split("-", 1)[1]), p) for p in root.glob("checkpoint-*")
                   if p.is_dir() and p.name.split("-", 1)[1].isdigit())
    while found and not all((found[-1][1] / f).is_file() for f in _CHECKPOINT_FILES):
        _, broken = found.pop()
        warnings.warn(f"LESS warm-up: {broken} is incomplete (the run stopped while saving "
                      f"it); deleted, resuming from "
                      f"{found[-1][1].name if found else 'the start'}.", stacklevel=2)
        shutil.rmtree(broken)
    return str(found[-1][1]) if found else None


def _weights(log_history: list[dict], steps: list[int]) -> list[float]:
    """Mean logged learning rate of each checkpoint's span of steps, normalised to sum 1."""
    means, prev = [], 0
    for step in steps:
        lrs = [h["learning_rate"] for h in log_history
               if "learning_rate" in h and prev < h.get("step", 0) <= step]
        means.append(sum(lrs) / len(lrs) if lrs else 0.0)
        prev = step
    total = sum(means)
    if total <= 0:
        return [1.0 / len(steps)] * len(steps)
    return [m / total for m in means]


def run_warmup(pool: Dataset, model_name_or_path: str, config: WarmupConfig,
               cache_dir: str | os.PathLike, *, tokenizer: Any, max_length: int,
               device: str = "cpu", stamp: Any = None, progress: bool = True,
               state: Any = None) -> Warmup:
    """Run (or reuse) the warm-up of ``config`` on a seeded slice of ``pool``.

    Args:
        pool: the pool (any supported conversation format).
        model_name_or_path: the base causal LM.
        config: the :class:`WarmupConfig`.
        cache_dir: where ``warmup-<key>/`` lives.
        tokenizer: the model's tokenizer (encodes the slice).
        max_length: most tokens per row.
        device: ``"cpu"`` or a CUDA device (bf16 mixed precision where supported).
        stamp: the model folder's files (part of the key).
        progress: show the trainer's progress bar.
        state: an ``accelerate.PartialState`` (under ``accelerate launch`` every process
            trains, data-parallel, and the main process writes the record).

    Returns:
        The finished :class:`Warmup`.
    """
    import torch
    from datasets import Dataset as HFDataset

    from deita_hf.runtime import dist_state
    from deita_hf.scoring.conversation_tokens import encode_batch

    state = state or dist_state(device)
    picked = sample_rows(len(pool), config.warmup_fraction, config.warmup_seed)
    part = pool.select(picked.tolist())
    rows = encode_batch(part[:], picked.tolist(), tokenizer, max_length, "LESS warm-up")
    key = _key(model_name_or_path, stamp, config, rows)
    folder = Path(cache_dir).expanduser() / f"warmup-{key}"
    try:
        return load_warmup(folder)
    except InputError:
        pass
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM
    from trl import SFTConfig, SFTTrainer

    train_dir = folder / "train"
    train_dir.mkdir(parents=True, exist_ok=True)
    cuda = str(device).startswith("cuda")
    args = SFTConfig(
        output_dir=str(train_dir), num_train_epochs=config.warmup_epochs,
        per_device_train_batch_size=1,
        gradient_accumulation_steps=max(1, math.ceil(config.warmup_batch_size
                                                     / state.num_processes)),
        learning_rate=config.warmup_lr, lr_scheduler_type="linear", warmup_steps=0.03,
        weight_decay=0.0, optim="adamw_torch", adam_beta1=0.9, adam_beta2=0.999,
        adam_epsilon=1e-8, logging_steps=1, save_strategy="epoch", report_to="none",
        seed=config.warmup_seed, data_seed=config.warmup_seed, max_length=None,
        use_cpu=not cuda, bf16=cuda and torch.cuda.is_bf16_supported(),
        activation_checkpointing=False, disable_tqdm=not progress, dataset_num_proc=None)
    model = AutoModelForCausalLM.from_pretrained(model_name_or_path, dtype=torch.float32)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    data = HFDataset.from_dict({"input_ids": [r.input_ids for r in rows],
                                "labels": [r.labels for r in rows]})
    lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha,
                      lora_dropout=config.lora_dropout,
                      target_modules=list(config.lora_target_modules), task_type="CAUSAL_LM")
    with quiet_peft():
        trainer = SFTTrainer(model=model, args=args, train_dataset=data,
                             processing_class=tokenizer, peft_config=lora,
                             callbacks=[_adam_saver()])
    if not progress:  # the trainer prints every logged step otherwise
        from transformers.trainer_callback import PrinterCallback, ProgressCallback

        trainer.remove_callback(PrinterCallback)
        trainer.remove_callback(ProgressCallback)
    resume = last_complete_checkpoint(train_dir) if state.is_main_process else None
    state.wait_for_everyone()
    if not state.is_main_process:
        resume = last_complete_checkpoint(train_dir)
    trainer.train(resume_from_checkpoint=resume)
    if state.is_main_process:
        _write_record(folder, key, model_name_or_path, config, len(rows),
                      trainer.state.log_history)
    state.wait_for_everyone()
    return load_warmup(folder)


def _write_record(folder: Path, key: str, model: str, config: WarmupConfig, n_rows: int,
                  log_history: list[dict]) -> None:
    from safetensors import safe_open

    found = sorted((int(p.name.split("-")[1]), p) for p in (folder / "train").glob("checkpoint-*")
                   if p.name.split("-")[1].isdigit() and (p / ADAM_FILE).is_file())
    if len(found) != config.warmup_epochs:
        raise RuntimeError(f"The LESS warm-up in {folder} left {len(found)} checkpoints for "
                           f"{config.warmup_epochs} epochs; delete the folder and run again.")
    steps = [s for s, _ in found]
    weights = _weights(log_history, steps)
    checkpoints = [Checkpoint(str(p.relative_to(folder)), epoch + 1, s, w)
                   for epoch, ((s, p), w) in enumerate(zip(found, weights))]
    with safe_open(str(found[-1][1] / ADAM_FILE), framework="pt") as fh:
        adam = {k: float(v) for k, v in fh.metadata().items()}
    record = {"complete": True, "key": key, "model": model, "config": asdict(config),
              "rows": n_rows, "adam": adam, "checkpoints": [asdict(c) for c in checkpoints]}
    tmp = folder / f".{WARMUP_FILE}.tmp"
    tmp.write_text(json.dumps(record, indent=2, default=list), encoding="utf-8")
    os.replace(tmp, folder / WARMUP_FILE)
