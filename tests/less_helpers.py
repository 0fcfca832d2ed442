"""Shared by the LESS / GraNd / EL2N tests (``import less_helpers``): tiny warm-up settings and
an independent construction of the token layout and of per-example gradients (plain
``loss.backward()`` one row at a time, with the model's own loss)."""

from __future__ import annotations

from pathlib import Path

import torch

#: a warm-up of a few steps on a tiny model (6 rows of 24, 2 epochs of 3 steps)
LESS_OPTIONS = {"dim": 48, "warmup_fraction": 0.25, "warmup_epochs": 2, "warmup_batch_size": 2,
                "lora_r": 4, "lora_alpha": 16.0, "batch_size": 4, "max_length": 512}


def less_spec(model: str, **extra) -> str:
    """``less:MODEL,key=value,...`` with :data:`LESS_OPTIONS` (and ``extra``)."""
    items = {**LESS_OPTIONS, **extra}
    items.pop("batch_size"), items.pop("max_length")  # CLI flags, not spec options
    return "less:" + ",".join([model, *(f"{k}={v}" for k, v in items.items())])


def layout_ids(tokenizer, row: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """An Alpaca/Dolly row in LESS's Tulu layout, built here from the format's definition:
    ``[BOS] <|user|>\\n{instruction[\\n\\ninput]}\\n <|assistant|>\\n`` (no loss), then
    ``{output}</s>\\n`` (loss)."""
    instruction = row["instruction"] + (f"\n\n{row['input']}" if row.get("input") else "")

    def enc(text):
        return tokenizer(text, add_special_tokens=False)["input_ids"]

    prompt = [tokenizer.bos_token_id] + enc(f"<|user|>\n{instruction.strip()}\n") + enc(
        "<|assistant|>\n")
    reply = enc(row["output"].strip()) + [tokenizer.eos_token_id] + enc("\n")
    ids = torch.tensor(prompt + reply)
    labels = torch.tensor([-100] * len(prompt) + reply)
    return ids, labels


def load_checkpoint(model_path: str, folder: Path):
    """Base model + the warm-up checkpoint's adapter (peft's own loader), LoRA trainable,
    dropout off."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from deita_hf.scoring.less_warmup import quiet_peft

    base = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32)
    with quiet_peft():
        return PeftModel.from_pretrained(base, str(folder), is_trainable=True).eval()


def direct_gradient(model, ids: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """One row's gradient of the trainable parameters (named_parameters order, flattened)."""
    params = [p for _, p in model.named_parameters() if p.requires_grad]
    model.zero_grad()
    model(input_ids=ids[None], labels=labels[None]).loss.backward()
    return torch.cat([p.grad.reshape(-1) for p in params]).detach().clone()
