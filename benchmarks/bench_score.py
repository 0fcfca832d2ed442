"""Benchmark the DEITA scorers against the original one-sample ``generate`` loop.

Prints, from one run: samples/s of ComplexityScorer and QualityScorer (batched, one forward pass
per batch, last-position logits only) and of the original method (one prompt at a time,
``generate(max_new_tokens=2, output_scores=True)``, expected score from the first step's scores),
the largest score difference between the two, and the achieved FLOP/s of the scorers as a
fraction of this machine's matrix-multiply rate measured in the same run and dtype.

The model is a randomly initialised LLaMA built offline (throughput does not depend on weights):
``--config 60m`` (hidden 512, 8 layers, 8 heads, intermediate 1536, vocab 32000, ~60M params)
or ``--config 7b`` (LLaMA-1 7B shape: hidden 4096, 32 layers, intermediate 11008; GPU only).
The tokenizer is a byte-level BPE trained on the rows (8,000 entries; the model's embedding
and LM head have the full 32,000 rows, so the loop's full-vocabulary head costs what LLaMA's does).

Usage:
    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_score.py --rows 128 --loop-rows 32
    python benchmarks/bench_score.py --device cuda --dtype bfloat16 --config 7b --rows 512 \\
        --loop-rows 32 --batch-size 32
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import time
from pathlib import Path

import torch

from deita_hf.data.formats import to_turns
from deita_hf.scoring import COMPLEXITY_TEMPLATE, QUALITY_TEMPLATE, ComplexityScorer, QualityScorer
from deita_hf.testing import build_tokenizer

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "alpaca" / "alpaca_random_9k.jsonl.gz"
CONFIGS = {
    "60m": dict(hidden_size=512, intermediate_size=1536, num_hidden_layers=8, num_attention_heads=8),
    "7b": dict(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32),
}


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def matmul_rate(dtype, device: str, n: int) -> float:
    """Best FLOP/s of an n x n x n matmul in ``dtype`` on ``device``."""
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    best = math.inf
    for _ in range(5):
        sync(device)
        t = time.perf_counter()
        for _ in range(3):
            a @ b
        sync(device)
        best = min(best, (time.perf_counter() - t) / 3)
    return 2 * n ** 3 / best


def model_flops(config, lengths: list[int], cached: int = 0) -> float:
    """FLOPs executed by forward passes over sequences of ``lengths`` (real tokens only, no
    padding), the first ``cached`` tokens of each coming from the prefix cache (not computed),
    with the LM head at the last position only."""
    h, i, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    kv = config.num_key_value_heads * (h // config.num_attention_heads)
    per_token = layers * 2 * (2 * h * h + 2 * h * kv + 3 * h * i)
    total = 0.0
    for n in lengths:
        new = n - cached
        total += new * per_token + layers * 4 * new * n * h + 2 * h * config.vocab_size
    return total


def original_loop(model, tokenizer, prompts: list[str], device: str) -> list[float]:
    """The original DEITA scorer: one prompt at a time, generate 2 tokens, score the first step."""
    ids = [tokenizer.get_vocab()[d] for d in "123456"]
    out = []
    for prompt in prompts:
        input_ids = tokenizer(prompt, return_tensors="pt")["input_ids"].to(device)
        gen = model.generate(input_ids, attention_mask=torch.ones_like(input_ids), max_new_tokens=2,
                             do_sample=False, num_beams=1, return_dict_in_generate=True,
                             output_scores=True, pad_token_id=tokenizer.pad_token_id)
        logits = gen.scores[0][0].float().cpu()
        probs = torch.softmax(logits[ids], dim=-1).tolist()
        out.append(sum((k + 1) * p for k, p in enumerate(probs)))
    return out


def timed(fn, device):
    sync(device)
    t = time.perf_counter()
    result = fn()
    sync(device)
    return result, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=128, help="Alpaca rows for the scorers")
    ap.add_argument("--loop-rows", type=int, default=32, help="rows for the slow one-at-a-time loop")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="float32", help="scorer dtype (the loop always runs fp32)")
    ap.add_argument("--config", choices=sorted(CONFIGS), default="60m")
    ap.add_argument("--matmul-n", type=int, default=None,
                    help="size of the square matmul for the peak rate (default 2048 on CPU, 8192 on GPU)")
    args = ap.parse_args()
    if args.matmul_n is None:
        args.matmul_n = 8192 if args.device.startswith("cuda") else 2048
    from transformers import LlamaConfig, LlamaForCausalLM

    rows = []
    with gzip.open(DATA, "rt", encoding="utf-8") as fh:
        for line in fh:
            rows.append(json.loads(line))
            if len(rows) == max(args.rows, 2000):
                break
    tokenizer = build_tokenizer([r["instruction"] + " " + r["output"] for r in rows], vocab_size=8000)
    rows = rows[: args.rows]
    config = LlamaConfig(vocab_size=32000, max_position_embeddings=4096, tie_word_embeddings=False,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id, **CONFIGS[args.config])
    torch.manual_seed(0)
    with torch.device(args.device):
        model = LlamaForCausalLM(config).eval()
    n_params = sum(p.numel() for p in model.parameters())
    dtype = getattr(torch, args.dtype)
    turns = [to_turns(r)[0] for r in rows]
    batch = {"instruction": [t[0] for t in turns], "output": [t[1] for t in turns]}

    print(f"device={args.device} dtype={args.dtype} config={args.config} params={n_params / 1e6:.1f}M "
          f"rows={args.rows} loop_rows={args.loop_rows} batch_size={args.batch_size} "
          f"threads={torch.get_num_threads()}")
    rate = matmul_rate(dtype, args.device, args.matmul_n)
    print(f"matmul rate ({args.dtype}, n={args.matmul_n}): {rate / 1e9:.1f} GFLOP/s")

    # the original loop, fp32 (its default), on loop_rows rows spread evenly over the sample
    loop_idx = list(range(0, args.rows, max(1, args.rows // args.loop_rows)))[: args.loop_rows]
    loop_turns = [turns[i] for i in loop_idx]
    loop_rate, diffs = {}, []
    small = {k: [v[i] for i in loop_idx] for k, v in batch.items()}
    for cls, template in ((ComplexityScorer, COMPLEXITY_TEMPLATE), (QualityScorer, QUALITY_TEMPLATE)):
        ref = cls("bench", batch_size=args.batch_size)
        ref.use_model(model, tokenizer)
        prompts = [template.format(**ref._fields(*t)) for t in loop_turns]
        loop_scores, loop_s = timed(lambda: original_loop(model, tokenizer, prompts, args.device), args.device)
        loop_rate[cls.column] = len(prompts) / loop_s
        print(f"original generate loop, {cls.column} prompts (fp32, 1 at a time): "
              f"{loop_rate[cls.column]:.2f} samples/s")
        ref_scores = [s[0] for s in ref(small)[cls.column]]  # fp32 batched scorer, same rows
        diffs.append(max(abs(a - b) for a, b in zip(ref_scores, loop_scores)))
    print(f"largest |scorer - loop| score difference (fp32): {max(diffs):.2e}")

    model.to(dtype)
    for cls, template in ((ComplexityScorer, COMPLEXITY_TEMPLATE), (QualityScorer, QUALITY_TEMPLATE)):
        scorer = cls("bench", batch_size=args.batch_size)
        scorer.use_model(model, tokenizer)
        scorer({k: v[: args.batch_size] for k, v in batch.items()})  # warm-up
        out, secs = timed(lambda: scorer(batch), args.device)
        fields = [scorer._fields(*t) for t in turns]
        lengths = [len(tokenizer(template.format(**f))["input_ids"]) for f in fields]
        n_cached = len(scorer._rt["prefix"][0]) if scorer._rt.get("prefix") else 0
        executed, full = model_flops(config, lengths, n_cached), model_flops(config, lengths)
        print(f"{cls.__name__} ({args.dtype}, batch {args.batch_size}): {args.rows / secs:.2f} samples/s "
              f"= {args.rows / secs / loop_rate[cls.column]:.1f}x the loop; mean "
              f"{sum(lengths) / len(lengths):.0f} tokens ({n_cached} from the prefix cache); executed "
              f"{executed / secs / 1e9:.1f} GFLOP/s = {executed / secs / rate:.0%} of the matmul rate "
              f"(full-prompt equivalent {full / secs / 1e9:.1f} GFLOP/s)")
    rate2 = matmul_rate(dtype, args.device, args.matmul_n)
    print(f"matmul rate again after the run: {rate2 / 1e9:.1f} GFLOP/s (the machine is shared: "
          f"fractions above use the first measurement)")


if __name__ == "__main__":
    main()
