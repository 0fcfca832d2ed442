"""Benchmark the scorer recipe: does a scorer trained with it learn what its labels measure?

Synthetic complexity-scorer rows whose label is a learnable property of the text: the number of
constraints (1..6) the instruction states. Each instruction is a task sentence, ``label``
distinct constraint sentences ("Use bullet points.", "Avoid technical jargon.", ...) and 0..N
filler sentences of context that constrain nothing, in shuffled order; filler length is drawn
independently of the label, so instruction length is only a weak proxy for it.

One run trains a tiny random LLaMA with the scorer recipe (``run_scorer_training``: the
same parser, tokenization, masking, TRL trainer and held-out evaluation as
``deita-hf scorer-train``; ``train_fraction`` holds rows out) and reports held-out Spearman of:
the trained scorer, the untrained base model, and the instruction-length baseline
(``InstructionLengthScorer``, characters). Goal: the trained scorer beats the length baseline.

Hyper-parameters are for a tiny model on CPU (lr 1e-3, a few hundred steps), not DEITA's 7B
recipe (lr 2e-5, 6 epochs, batch 512: ``recipes/deita-scorer/complexity.yaml``).

Usage:
    HF_HUB_OFFLINE=1 OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 \\
        .venv/bin/python benchmarks/bench_scorer_training.py --rows 600 --epochs 6
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

TASKS = ["Write a short story about a lighthouse keeper.", "Explain how a bicycle gear works.",
         "Describe a good breakfast for a runner.", "Summarise the plot of a detective novel.",
         "Write a letter to a new neighbour.", "Explain why the sky is blue.",
         "Plan a weekend trip to the mountains.", "Give advice on learning to play the piano.",
         "Describe how bread is baked.", "Write a product description for a desk lamp.",
         "Explain the rules of chess to a child.", "Write a poem about autumn rain."]
CONSTRAINTS = ["Use at most 150 words.", "Use bullet points.", "Avoid technical jargon.",
               "Write in a formal tone.", "Include one concrete example.", "End with a question.",
               "Mention a specific year.", "Do not use the letter z.", "Give the answer a title.",
               "Address the reader directly.", "Include exactly three steps.",
               "Add a one-line summary at the end."]
FILLER = ["My friend asked me about this last week.", "I have been thinking about it for a while.",
          "It is raining here today, so I have time.", "This came up during dinner yesterday.",
          "My teacher mentioned something similar once.", "I read a little about it online.",
          "We talked about it at work this morning.", "I am curious what you think.",
          "The weather has been strange this month.", "I hope this is not too much to ask."]


def make_rows(n: int, seed: int, max_filler: int) -> list[dict]:
    """``n`` plain complexity rows ``{instruction, score}``; score = number of constraints."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        k = 1 + i % 6
        parts = ([rng.choice(TASKS)] + rng.sample(CONSTRAINTS, k)
                 + rng.choices(FILLER, k=rng.randint(0, max_filler)))
        head, rest = parts[0], parts[1:]
        rng.shuffle(rest)
        rows.append({"instruction": " ".join([head, *rest]), "score": k})
    rng.shuffle(rows)
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=600, help="rows in all (default 600)")
    p.add_argument("--train-fraction", type=float, default=0.75, help="rest is held out (0.75)")
    p.add_argument("--epochs", type=float, default=6)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--max-filler", type=int, default=8, help="filler sentences per row: 0..N (8)")
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", default=None, help="work folder (default: a temporary one)")
    p.add_argument("--json", default=None, help="also write the summary here")
    args = p.parse_args()

    import torch

    from deita_hf.scorer_training.agreement import spearman
    from deita_hf.scorer_training.heldout import evaluate_rows, make_scorer
    from deita_hf.scorer_training.train import make_scorer_parser, run_scorer_training
    from deita_hf.scoring import COMPLEXITY_TEMPLATE, InstructionLengthScorer
    from deita_hf.testing import build_tiny_llama

    torch.set_num_threads(1)
    work = Path(args.output or tempfile.mkdtemp(prefix="bench-scorer-"))
    rows = make_rows(args.rows, args.seed, args.max_filler)
    data = work / "rows.jsonl"
    data.parent.mkdir(parents=True, exist_ok=True)
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    texts = [COMPLEXITY_TEMPLATE.format(instruction=r["instruction"]) for r in rows]
    base = build_tiny_llama(work / "base", texts=texts, vocab_size=1024, hidden_size=args.hidden,
                            intermediate_size=2 * args.hidden, num_hidden_layers=args.layers,
                            num_attention_heads=4, seed=args.seed)
    out = work / "scorer"
    parsed = make_scorer_parser().parse_args_and_config(args=[
        "--model_name_or_path", str(base), "--dataset_name", str(data), "--kind", "complexity",
        "--output_dir", str(out), "--train_fraction", str(args.train_fraction),
        "--split_seed", str(args.seed), "--use_cpu", "true", "--bf16", "false",
        "--activation_checkpointing", "false", "--num_train_epochs", str(args.epochs),
        "--per_device_train_batch_size", str(args.batch_size), "--learning_rate", str(args.lr),
        "--lr_scheduler_type", "cosine", "--warmup_steps", "0.1", "--max_length", "512",
        "--save_strategy", "no", "--logging_steps", "20", "--report_to", "none",
        "--seed", str(args.seed), "--resume_from_checkpoint", "false", "--log_level", "warning"])
    t0 = time.perf_counter()
    trainer = run_scorer_training(*parsed)
    train_s = time.perf_counter() - t0
    trained = json.loads((out / "held_out_agreement" / "results.json").read_text())
    preds = [json.loads(x) for x in (out / "held_out_agreement" / "predictions.jsonl").read_text().splitlines()]
    held = [rows[r["row"]] for r in preds]
    labels = [r["score"] for r in held]
    length = [c[0] for c in InstructionLengthScorer()({"instruction": [r["instruction"] for r in held],
                                                       "output": [""] * len(held)})["complexity"]]
    from datasets import Dataset

    from deita_hf.scorer_training.data import to_scorer_rows

    held_ds = to_scorer_rows(Dataset.from_list(held), "complexity")
    untrained = evaluate_rows(held_ds, make_scorer("complexity", str(base), batch_size=16,
                                                   max_length=512))
    summary = {
        "rows": args.rows, "held_out": len(held), "train_steps": trainer.state.global_step,
        "train_seconds": round(train_s, 1), "final_train_loss": trainer.state.log_history[-1].get("train_loss"),
        "params": sum(p.numel() for p in trainer.model.parameters()),
        "spearman_trained": trained["overall"]["spearman"], "kendall_trained": trained["overall"]["kendall"],
        "mae_trained": trained["overall"]["mae"],
        "spearman_length_baseline": spearman(length, labels),
        "spearman_untrained": untrained["overall"]["spearman"],
    }
    summary["goal_met"] = summary["spearman_trained"] > summary["spearman_length_baseline"]
    print(json.dumps(summary, indent=2))
    print(f"figure: {out / 'held_out_agreement' / 'predicted_vs_label.png'}")
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
