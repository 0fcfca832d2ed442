"""Benchmark answer generation: ``TransformersGenerator`` vs a one-prompt-at-a-time loop.

Prints, from one run on the same model and the same real prompts (chats rendered with the
model's chat template): prompts/s and generated tokens/s of ``TransformersGenerator.generate``
(batched, length-sorted, left-padded) and of the original method (one ``model.generate`` call
per prompt, no padding), their ratio, and how many outputs agree exactly (greedy).

The model is a randomly initialised LLaMA built offline (hidden 256, 4 layers, 4 heads,
intermediate 768, 4,000-token BPE trained on the prompts): throughput does not depend on the
weights. Random weights emit EOS at random, so both sides run with
``generation_config.min_new_tokens = max_new_tokens``: every prompt generates exactly
``--max-new-tokens`` tokens and the two rates count the same work.

Prompts: the first ``--rows`` Alpaca rows of ``../shared/data/alpaca/alpaca_random_9k.jsonl.gz``
if present, else ``examples/pool.jsonl``.

Usage:
    HF_HUB_OFFLINE=1 OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/bench_generate.py \\
        --rows 48 --batch-size 16 --max-new-tokens 64
"""

from __future__ import annotations

import argparse
import gzip
import json
import tempfile
import time
from pathlib import Path

import torch

from deita_hf.generation import GenerationParams, TransformersGenerator
from deita_hf.testing import VICUNA_STYLE_TEMPLATE, build_tiny_llama

ROOT = Path(__file__).resolve().parents[1]
ALPACA = ROOT.parent / "shared" / "data" / "alpaca" / "alpaca_random_9k.jsonl.gz"
POOL = ROOT / "examples" / "pool.jsonl"


def load_prompts(n: int) -> tuple[list[str], list[str], str]:
    """(the first ``n`` user prompts, ~500 texts to train the tokenizer on, the source name)."""
    prompts, texts = [], []
    if ALPACA.exists():
        source = str(ALPACA.relative_to(ROOT.parent))
        with gzip.open(ALPACA, "rt", encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                prompts.append(row["instruction"] + ("\n\n" + row["input"] if row["input"] else ""))
                texts.append(prompts[-1] + " " + row["output"])
                if len(texts) >= max(n, 500):
                    break
    else:
        source = str(POOL.relative_to(ROOT))
        with open(POOL, encoding="utf-8") as fh:
            for line in fh:
                messages = json.loads(line)["messages"]
                prompts.append(messages[0]["content"])
                texts.append(" ".join(m["content"] for m in messages))
                if len(texts) >= max(n, 500):
                    break
    return prompts[:n], texts, source


def one_at_a_time(model, tokenizer, chats: list[list[dict]], max_new_tokens: int) -> tuple[list[str], int]:
    """The original method: render, tokenize and ``generate`` each prompt on its own."""
    texts, n_tokens = [], 0
    for chat in chats:
        rendered = tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
        ids = tokenizer(rendered, add_special_tokens=False, return_tensors="pt")["input_ids"]
        with torch.inference_mode():
            out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                 max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id)
        new = out[0, ids.shape[1]:].tolist()
        if tokenizer.eos_token_id in new:
            new = new[:new.index(tokenizer.eos_token_id)]
        n_tokens += len(new)
        texts.append(tokenizer.decode(new, skip_special_tokens=True))
    return texts, n_tokens


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=48, help="prompts (both methods run all of them)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (the CPU is shared)")
    ap.add_argument("--max-prompt-chars", type=int, default=2000, help="clip very long prompts")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    prompts, texts, source = load_prompts(args.rows)
    chats = [[{"role": "user", "content": p[:args.max_prompt_chars]}] for p in prompts]
    with tempfile.TemporaryDirectory() as tmp:
        path = build_tiny_llama(tmp, texts=texts, vocab_size=4000, hidden_size=256, num_hidden_layers=4,
                                num_attention_heads=4, intermediate_size=768, chat_template=VICUNA_STYLE_TEMPLATE)
        from transformers import AutoModelForCausalLM, AutoTokenizer

        model, tokenizer = AutoModelForCausalLM.from_pretrained(path).eval(), AutoTokenizer.from_pretrained(path)
    gen = TransformersGenerator(str(path), batch_size=args.batch_size)
    gen.use_model(model, tokenizer)  # the same model object on both sides
    model.generation_config.min_new_tokens = args.max_new_tokens  # no early EOS on either side
    params = GenerationParams(max_new_tokens=args.max_new_tokens)
    n_params = sum(p.numel() for p in model.parameters())
    lengths = [len(gen.encode(c)) for c in chats]

    # warm-up (first-call overheads) on both paths
    gen.generate(chats[:2], params, progress=False)
    one_at_a_time(model, tokenizer, chats[:1], args.max_new_tokens)

    t = time.perf_counter()
    batched = gen.generate(chats, params, progress=False)
    t_batched = time.perf_counter() - t
    t = time.perf_counter()
    looped, n_tokens = one_at_a_time(model, tokenizer, chats, args.max_new_tokens)
    t_loop = time.perf_counter() - t

    assert n_tokens == len(chats) * args.max_new_tokens, "min_new_tokens should fix the output length"
    same = sum(a == b for a, b in zip(batched, looped))
    rate_b, rate_l = len(chats) / t_batched, len(chats) / t_loop
    print(f"model: LLaMA {n_params / 1e6:.1f}M params (hidden 256, 4 layers), fp32, cpu, "
          f"{torch.get_num_threads()} thread(s)")
    print(f"prompts: {len(chats)} from {source}; prompt tokens min/median/max "
          f"{min(lengths)}/{sorted(lengths)[len(lengths) // 2]}/{max(lengths)}; "
          f"{args.max_new_tokens} new tokens each (greedy)")
    print(f"TransformersGenerator (batch {args.batch_size}): {t_batched:7.2f} s  {rate_b:6.2f} prompts/s  "
          f"{rate_b * args.max_new_tokens:7.1f} tokens/s")
    print(f"one-at-a-time generate loop:       {t_loop:7.2f} s  {rate_l:6.2f} prompts/s  "
          f"{rate_l * args.max_new_tokens:7.1f} tokens/s")
    print(f"speed-up: {rate_b / rate_l:.2f}x (goal >= 3x)")
    print(f"identical outputs: {same}/{len(chats)}")


if __name__ == "__main__":
    main()
