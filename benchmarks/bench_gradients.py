"""Benchmark LESS gradient-feature extraction against a plain per-example autograd loop.

One run, one model, one warm-up, the same rows, prints:

* rows/s of :class:`deita_hf.scoring.LessGradientScorer` (``row_features``: length-sorted
  batches, one forward and one backward pass per batch, per-example LoRA gradients from the
  capture hooks, Adam preconditioning and the projection layer by layer, one matrix product
  per layer and batch);
* rows/s of the loop as LESS's ``collect_grads`` is written: peft's own loader, per row
  ``model(**batch).loss.backward()``, the flattened ``p.grad`` of the LoRA parameters, the
  same Adam preconditioning from the warm-up's moments, the same projection matrix (one
  vector-matrix product per row), normalised;
* the speed-up and the largest feature difference between the two (they must agree);

twice: with the projection matrix held in memory (the loop's best case: one vector-matrix
product per row, reading the matrix), and with it regenerated block by block as it is used
(what a ``P × 8,192`` matrix too large to hold needs, e.g. LESS's LoRA r 128 on a 7B model:
134M × 8,192), where the loop draws the matrix once per row and deita_hf once per group.

The model is a randomly initialised LLaMA built offline (throughput does not depend on the
weights), the rows real Dolly rows bundled in ``tests/data`` (CC BY-SA 3.0), the warm-up one
epoch of the package's LESS warm-up (TRL + peft) on 25 % of them.

Usage:
    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_gradients.py                 # ~3 min on 2 cores
    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_gradients.py --rows 64 --loop-rows 16 \\
        --hidden 256 --layers 4 --lora-r 8 --dim 8192 --batch-size 16
    python benchmarks/bench_gradients.py --device cuda --hidden 2048 --layers 16 --lora-r 128
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from datasets import Dataset

from deita_hf.scoring import LessGradientScorer
from deita_hf.scoring.conversation_tokens import encode_batch
from deita_hf.scoring.projection import RademacherProjector
from deita_hf.testing import build_tiny_llama

DOLLY = Path(__file__).resolve().parents[1] / "tests" / "data" / "dolly_alpagasus_300.jsonl"


def rows(n: int, max_chars: int) -> Dataset:
    data = [json.loads(line) for line in DOLLY.read_text(encoding="utf-8").splitlines()]
    data = [r for r in data if len(r["instruction"]) + len(r["input"]) + len(r["output"]) < max_chars]
    return Dataset.from_list(data[:n])


def loop_features(scorer: LessGradientScorer, ds: Dataset) -> tuple[np.ndarray, float]:
    """The plain loop: one row at a time, ``loss.backward()``, flatten, precondition, project.
    Returns the features and the seconds of the row loops (model loading not counted)."""
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    scorer.load()
    rt = scorer._rt
    tok, device, projector = rt["tokenizer"], rt["device"], rt["projector"]
    encoded = encode_batch(ds[:], list(range(len(ds))), tok, scorer.max_length, "loop")
    ckpts = scorer._checkpoints()
    out = np.empty((len(ds), scorer.dim * len(ckpts)), dtype=np.float32)
    adam, seconds = scorer.warmup["adam"], 0.0
    for c, ckpt in enumerate(ckpts):
        folder = Path(scorer.warmup["dir"]) / ckpt["path"]
        base = AutoModelForCausalLM.from_pretrained(scorer.model_name_or_path, dtype=torch.float32)
        model = PeftModel.from_pretrained(base, str(folder), is_trainable=True).to(device).eval()
        names = [n for n, p in model.named_parameters() if p.requires_grad]
        params = [p for _, p in model.named_parameters() if p.requires_grad]
        moments = load_file(str(folder / "adam_state.safetensors"))
        m = torch.cat([moments[n + ".exp_avg"].reshape(-1) for n in names]).to(device)
        v = torch.cat([moments[n + ".exp_avg_sq"].reshape(-1) for n in names]).to(device)
        start = time.perf_counter()
        for i, row in enumerate(encoded):
            ids = torch.tensor([row.input_ids], device=device)
            labels = torch.tensor([row.labels], device=device)
            model.zero_grad()
            model(input_ids=ids, labels=labels).loss.backward()
            g = torch.cat([p.grad.reshape(-1) for p in params])
            g = (adam["beta1"] * m + (1 - adam["beta1"]) * g) / torch.sqrt(
                adam["beta2"] * v + (1 - adam["beta2"]) * g * g + adam["eps"])
            proj = projector.project(g[None])[0]
            out[i, c * scorer.dim:(c + 1) * scorer.dim] = (
                proj / proj.norm() * ckpt["weight"] ** 0.5).cpu().numpy()
        seconds += time.perf_counter() - start
    return out, seconds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=64, help="rows timed for deita_hf")
    p.add_argument("--loop-rows", type=int, default=16, help="rows timed for the loop (first N)")
    p.add_argument("--stream-loop-rows", type=int, default=2,
                   help="rows timed for the loop with the matrix regenerated (0: skip that part)")
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--vocab", type=int, default=2048)
    p.add_argument("--lora-r", type=int, default=8)
    p.add_argument("--dim", type=int, default=8192, help="projected dimension (LESS: 8,192)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--max-chars", type=int, default=600, help="longest rows used (characters)")
    p.add_argument("--repeats", type=int, default=3,
                   help="best of N timings for each side (the machine may be shared)")
    p.add_argument("--device", default="cpu")
    args = p.parse_args()

    pool = rows(max(args.rows, 8), args.max_chars)
    with tempfile.TemporaryDirectory() as tmp:
        texts = [r["instruction"] + " " + r["output"] for r in pool]
        path = build_tiny_llama(Path(tmp) / "model", texts=texts, vocab_size=args.vocab,
                                hidden_size=args.hidden, num_hidden_layers=args.layers,
                                num_attention_heads=max(1, args.hidden // 64),
                                intermediate_size=4 * args.hidden)
        scorer = LessGradientScorer(
            str(path), dim=args.dim, warmup_fraction=0.25, warmup_epochs=1, warmup_batch_size=4,
            lora_r=args.lora_r, lora_alpha=4.0 * args.lora_r, batch_size=args.batch_size,
            max_length=1024, device=args.device, cache_dir=str(Path(tmp) / "cache"))
        scorer.prepare(pool, progress=False)
        scorer.load()
        n_params = sum(q.numel() for _, q in scorer._rt["params"])
        n_tokens = sum(len(r.input_ids) for r in encode_batch(
            pool[:], list(range(len(pool))), scorer._rt["tokenizer"], 1024, "bench"))
        print(f"model: hidden {args.hidden}, {args.layers} layers, vocab {args.vocab}; LoRA r "
              f"{args.lora_r} on q/k/v/o: {n_params:,} gradient coordinates; projection "
              f"{n_params:,} x {args.dim:,}; {len(pool)} rows, {n_tokens / len(pool):.0f} "
              f"tokens/row; device {args.device}; torch threads {torch.get_num_threads()}")
        scorer.row_features(pool.select(range(2))[:], [0, 1])  # warm the kernels
        regimes = [("matrix held in memory", args.loop_rows, None)]
        if args.stream_loop_rows:
            regimes.append(("matrix regenerated by blocks (too large to hold: LESS's scale)",
                            args.stream_loop_rows, RademacherProjector(
                                n_params, args.dim, scorer.projection_seed,
                                device=scorer._rt["device"], max_cache_bytes=0)))
        for label, loop_rows, projector in regimes:
            if projector is not None:
                scorer._rt["projector"] = projector  # the same matrix, generated when used
            t_mine = t_loop = float("inf")
            loop_ds = pool.select(range(min(loop_rows, len(pool))))
            for _ in range(args.repeats):  # interleaved: both sides see the same machine load
                start = time.perf_counter()
                mine = scorer.row_features(pool[:], list(range(len(pool))))
                t_mine = min(t_mine, time.perf_counter() - start)
                ref, seconds = loop_features(scorer, loop_ds)
                t_loop = min(t_loop, seconds)
            rate_mine, rate_loop = len(pool) / t_mine, len(loop_ds) / t_loop
            diff = float(np.abs(mine[:len(loop_ds)] - ref).max())
            print(f"[{label}]")
            print(f"  deita_hf LessGradientScorer: {len(pool)} rows in {t_mine:.2f} s = "
                  f"{rate_mine:.2f} rows/s (best of {args.repeats})")
            print(f"  per-example autograd loop:   {len(loop_ds)} rows in {t_loop:.2f} s = "
                  f"{rate_loop:.2f} rows/s (best of {args.repeats})")
            print(f"  speed-up: {rate_mine / rate_loop:.1f}x (goal >= 5x); largest feature "
                  f"difference on the {len(loop_ds)} shared rows: {diff:.2e}")


if __name__ == "__main__":
    main()
