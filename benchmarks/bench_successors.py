"""Benchmark ``select_mig`` and decontamination against the straightforward ways to compute them.

In one run this prints two side-by-side comparisons:

* **MIG**: ``select_mig`` (sparse label graph, lazy priority queue over gains that never grow)
  against the authors' sampler written in numpy (yichengchen24/MIG ``mig/sampler.py``: the dense
  propagated matrix U = V P, and per pick the gains of every row left, ``U[left] @ Φ'(x)``,
  then the argmax), on seeded synthetic tags (``--rows`` rows, ``--labels`` labels in groups of
  near labels, 1-6 tags per row, Zipf-like label frequencies). The picks are compared.
* **Decontamination**: ``find_contamination`` (a word 13-gram index restricted to runs of
  benchmark words) against a brute-force substring search of every prompt n-gram in every
  normalised pool turn, on a real pool (``--pool``: default the shared 9K Alpaca sample, with
  a few paraphrased MT-Bench questions planted) against ``mt_bench``. The matched rows are
  compared.

Example:
    python benchmarks/bench_successors.py
    python benchmarks/bench_successors.py --rows 5000 --labels 500 --budget 300
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

import numpy as np
from datasets import Dataset

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the tests' paraphrases and n-gram reference

from contamination_helpers import brute_force_matches, paraphrase  # noqa: E402

from deita_hf.data.benchmark_prompts import load_prompt_sets  # noqa: E402
from deita_hf.selection.decontamination import find_contamination  # noqa: E402
from deita_hf.selection.mig import select_mig  # noqa: E402

SHARED_POOL = ROOT.parent / "shared" / "data" / "alpaca" / "alpaca_random_9k.jsonl.gz"


def tag_pool(rows: int, labels: int, seed: int):
    rng = np.random.default_rng(seed)
    groups = max(1, labels // 8)
    base = rng.standard_normal((groups, 32))
    vectors = base[np.arange(labels) % groups] + 0.15 * rng.standard_normal((labels, 32))
    weights = 1.0 / np.arange(1, labels + 1)
    weights /= weights.sum()
    tags = [sorted({f"tag{int(t)}" for t in rng.choice(labels, rng.integers(1, 7), p=weights)})
            for _ in range(rows)]
    return tags, rng.uniform(1.0, 36.0, rows), {f"tag{j}": vectors[j] for j in range(labels)}


def reference_mig(tags, scores, vectors, budget, tau=0.9, a=1e-6, b=0.8):
    """The authors' sampler: dense U = V P, every row's gain each pick."""
    names = sorted({t for row in tags for t in row})
    index = {t: j for j, t in enumerate(names)}
    e = np.array([vectors[t] for t in names])
    e /= np.linalg.norm(e, axis=1)[:, None]
    w = e @ e.T
    w = np.where(w >= tau, w, 0.0)
    p = w / w.sum(axis=0)
    v = np.zeros((len(tags), len(names)))
    for i, row in enumerate(tags):
        v[i, [index[t] for t in row]] = scores[i]
    u = v @ p
    x = np.zeros(len(names))
    left = np.ones(len(tags), dtype=bool)
    picks = []
    for _ in range(budget):
        g = b * (x + a) ** (b - 1)
        rows = np.flatnonzero(left)
        i = int(rows[np.argmax(u[rows] @ g)])
        picks.append(i)
        left[i] = False
        x += u[i]
    return picks


def read_pool(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return [r["instruction"] + (f"\n\n{r['input']}" if r.get("input") else "") for r in rows]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=20000)
    p.add_argument("--labels", type=int, default=1000)
    p.add_argument("--budget", type=int, default=1000)
    p.add_argument("--pool", type=Path, default=SHARED_POOL)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    tags, scores, vectors = tag_pool(args.rows, args.labels, args.seed)
    ds = Dataset.from_dict({"tags": tags, "score": scores.tolist(), "i": list(range(len(tags)))})
    embed = lambda texts: [vectors[t] for t in texts]  # noqa: E731
    t = time.perf_counter()
    out = select_mig(ds, args.budget, score_column="score", label_embedder=embed,
                     progress=False)
    ours = time.perf_counter() - t
    t = time.perf_counter()
    ref = reference_mig(tags, scores, vectors, args.budget)
    theirs = time.perf_counter() - t
    same = out["i"][:] == ref
    print(f"MIG, {args.rows:,} rows x {args.labels:,} labels, budget {args.budget:,}:")
    print(f"  select_mig            {ours:8.2f} s")
    print(f"  authors' sampler      {theirs:8.2f} s   (dense U = V P, all gains per pick)")
    print(f"  ratio                 {theirs / ours:8.1f}x   same picks: {same}")

    texts = read_pool(args.pool)
    questions = [q for q in load_prompt_sets("mt_bench")[0].prompts[::2]
                 if len(q.split()) >= 27][:10]
    rng = np.random.default_rng(args.seed)
    for k, q in enumerate(questions):
        texts.insert(int(rng.integers(0, len(texts) + 1)), paraphrase(q, k))
    pool = Dataset.from_dict({"instruction": texts, "output": [""] * len(texts)})
    t = time.perf_counter()
    report = find_contamination(pool, "mt_bench", progress=False)
    ours = time.perf_counter() - t
    prompts = load_prompt_sets("mt_bench")[0].prompts
    t = time.perf_counter()
    ref = brute_force_matches([[t] for t in texts], prompts)
    theirs = time.perf_counter() - t
    print(f"Decontamination, {len(texts):,} rows of {args.pool.name} (+{len(questions)} planted) "
          f"vs mt_bench ({len(prompts)} prompts):")
    print(f"  find_contamination    {ours:8.2f} s   ({len(texts) / ours:,.0f} rows/s)")
    print(f"  brute-force search    {theirs:8.2f} s")
    print(f"  ratio                 {theirs / ours:8.1f}x   rows matched: "
          f"{len(report.dropped_rows)}, same rows: {report.dropped_rows == ref}")


if __name__ == "__main__":
    main()
