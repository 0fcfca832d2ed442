"""Benchmark RDS+ selection (``select_rds``) against the authors' pipeline, and selection from a
pool larger than memory (``select_deita`` and ``select_rds`` on a 10M × 1,024 file).

``--part rds``: a clustered ``--rds-pool`` (default 1M × 4,096 float32, 16 GB) written as a
memory-mapped Arrow file, a target of ``--tasks`` tasks × ``--per-task`` examples (noisy copies
of random pool rows), ``--budget`` rows. Printed in one run:

* ``select_rds`` on the whole pool: time, peak RSS and anonymous memory (what it allocated
  beyond the mapped pool);
* the reference, a port of the authors' pipeline (hamishivi/automated-instruction-selection @
  df71a044, ``compute_influence_cosinesim.py`` + ``get_top_aggregated_influences.py``): the
  whole pool normalised in memory, one target example at a time multiplied against it, a
  ``{train row: score}`` dict per example (their pickles), the per-task max over those dicts,
  a full sort per task and the ``pop(0)`` round-robin. It cannot hold a 1M × 4,096 pool plus
  its dicts in 24 GB, so it runs on the first ``--ref-rows`` rows (two sizes, budget scaled
  by the same fraction) and its time and memory are EXTRAPOLATED linearly in rows to the full
  pool (labelled so). Same rows and order are checked on the smaller subsample (the reference
  in float64 there; its timed runs are float32, as the authors' are bf16 on GPU).

``--part scale``: a ``--scale-pool`` (default 10M × 1,024 float32, 41 GB: larger than this
machine's 23 GiB of memory) → ``--budget`` rows in one process: ``select_deita`` (threshold
0.9) and ``select_rds``, each with time and anonymous memory (goal < 5 min and < 2 GB). The
file is deleted at the end unless ``--keep``.

Example:
    HF_HUB_OFFLINE=1 OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_rds.py --part rds
    HF_HUB_OFFLINE=1 OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_rds.py --part scale
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from datasets import Dataset

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_select import PeakRSS, make_pool  # noqa: E402

from deita_hf.selection import select_deita  # noqa: E402
from deita_hf.selection.rds import select_rds  # noqa: E402
from deita_hf.selection.vectors import EmbeddingReader  # noqa: E402


def load(path: Path, n: int, dim: int, seed: int) -> Dataset:
    if not path.exists():
        t = time.perf_counter()
        make_pool(path, n, dim, max(1, n // 10), seed)
        print(f"  wrote {path} ({path.stat().st_size / 2**30:.1f} GiB) in "
              f"{time.perf_counter() - t:.0f} s", flush=True)
    return Dataset.from_file(str(path))  # memory-mapped: nothing read yet


def make_target(ds: Dataset, tasks: int, per_task: int, seed: int) -> Dataset:
    rng = np.random.default_rng(seed + 1)
    rows = np.sort(rng.choice(len(ds), tasks * per_task, replace=False))
    vec = EmbeddingReader(ds, "embedding").raw_rows(rows).astype(np.float32)
    vec += 0.3 * np.linalg.norm(vec, axis=1, keepdims=True) / math.sqrt(vec.shape[1]) \
        * rng.standard_normal(vec.shape, dtype=np.float32)
    return Dataset.from_dict({"embedding": vec.tolist(),
                              "task": [f"task{i % tasks}" for i in range(len(rows))]})


def authors_reference(ds: Dataset, target: Dataset, budget: int, dtype=torch.float32):
    """The authors' pipeline on ``ds`` (held in memory), one target example at a time."""
    flat = ds.data.column("embedding").combine_chunks()
    dim = len(flat[0])
    train = torch.from_numpy(flat.values.to_numpy().reshape(-1, dim).copy()).to(dtype)
    train = train / torch.linalg.vector_norm(train, dim=1, keepdim=True)
    tasks = target["task"][:]
    tvec = torch.tensor(target["embedding"][:], dtype=dtype)
    per_dataset = {}
    for name in dict.fromkeys(tasks):  # one pickle per task
        influence_dict = {}
        for i in [k for k, t in enumerate(tasks) if t == name]:
            t = tvec[i:i + 1] / torch.linalg.vector_norm(tvec[i:i + 1], dim=1, keepdim=True)
            infl = torch.matmul(t, train.T).numpy()[0]
            influence_dict[i] = {j: infl[j].item() for j in range(infl.shape[0])}
        all_train_scores = {}
        for _, influences in influence_dict.items():
            for j, score in influences.items():
                all_train_scores.setdefault(j, []).append(score)
        per_dataset[name] = sorted({k: max(v) for k, v in all_train_scores.items()}.items(),
                                   key=lambda x: x[1], reverse=True)
    picked = {}
    while len(picked) < budget:
        for name in per_dataset:
            if len(picked) >= budget:
                break
            idx, score = per_dataset[name].pop(0)
            picked[idx] = min(score, picked.get(idx, math.inf))
    return list(picked)


def part_rds(args) -> None:
    n, dim = (int(x) for x in args.rds_pool.lower().split("x"))
    path = Path(args.root) / f"rds_pool_{n}x{dim}.arrow"
    path.parent.mkdir(parents=True, exist_ok=True)
    ds = load(path, n, dim, args.seed)
    target = make_target(ds, args.tasks, args.per_task, args.seed)
    print(f"pool {n:,} x {dim:,} float32 ({n * dim * 4 / 2**30:.1f} GiB), target {args.tasks} "
          f"tasks x {args.per_task}, budget {args.budget:,}", flush=True)
    with PeakRSS() as mem:
        out, stats = select_rds(ds, args.budget, target=target, progress=False,
                                return_stats=True)
    print(f"  select_rds: {stats.seconds:.1f} s, kept {stats.kept:,}, peak RSS "
          f"+{mem.used / 2**20:,.0f} MiB, anonymous +{mem.anon / 2**20:,.0f} MiB", flush=True)
    del out
    fit = []
    for m in (int(x) for x in args.ref_rows.split(",")):
        b = max(1, round(args.budget * m / n))
        # a fresh process per run: the reference's memory is not masked by freed heap pages
        proc = subprocess.run([sys.executable, __file__, *sys.argv[1:], "--part", "ref",
                               "--ref-rows", str(m), "--budget", str(b), "--keep"],
                              capture_output=True, text=True, check=True)
        ref_s, anon = (float(x) for x in proc.stdout.split("REF ")[1].split())
        fit.append((m, ref_s, anon))
        print(f"  reference on the first {m:,} rows (budget {b}, own process): {ref_s:.1f} s, "
              f"anonymous +{anon / 2**20:,.0f} MiB", flush=True)
    (m1, s1, a1), (m2, s2, a2) = fit[0], fit[-1]
    est_s = s2 + (s2 - s1) / (m2 - m1) * (n - m2)
    est_mem = a2 + (a2 - a1) / (m2 - m1) * (n - m2)
    print(f"  reference at {n:,} rows: ~{est_s:,.0f} s and ~{est_mem / 2**30:,.1f} GiB anonymous "
          f"(EXTRAPOLATED linearly from {m1:,} and {m2:,} rows)")
    print(f"  speed-up: ~{est_s / stats.seconds:,.0f}x; memory: select_rds +"
          f"{mem.anon / 2**20:,.0f} MiB vs reference ~{est_mem / 2**30:,.1f} GiB")
    m, b = fit[0][0], max(1, round(args.budget * fit[0][0] / n))
    sub = ds.select(range(m))
    want = authors_reference(sub, target, b, dtype=torch.float64)
    got = select_rds(sub, b, target=target, progress=False)
    print(f"  same rows and order as the reference (float64) on the first {m:,} rows, budget "
          f"{b}: {got.flatten_indices()['id'][:] == [int(sub[i]['id']) for i in want]}")
    if not args.keep:
        path.unlink()


def part_ref(args) -> None:
    """One timed reference run (a child of ``--part rds``): prints ``REF seconds anon_bytes``."""
    n, dim = (int(x) for x in args.rds_pool.lower().split("x"))
    ds = Dataset.from_file(str(Path(args.root) / f"rds_pool_{n}x{dim}.arrow"))
    target = make_target(ds, args.tasks, args.per_task, args.seed)
    sub = ds.select(range(int(args.ref_rows)))
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        authors_reference(sub, target, args.budget)
        seconds = time.perf_counter() - t0
    print(f"REF {seconds} {mem.anon}")


def part_scale(args) -> None:
    n, dim = (int(x) for x in args.scale_pool.lower().split("x"))
    path = Path(args.root) / f"scale_pool_{n}x{dim}.arrow"
    path.parent.mkdir(parents=True, exist_ok=True)
    ds = load(path, n, dim, args.seed)
    target = make_target(ds, args.tasks, args.per_task, args.seed)
    print(f"pool {n:,} x {dim:,} float32 ({n * dim * 4 / 2**30:.1f} GiB on disk), budget "
          f"{args.budget:,}", flush=True)
    with PeakRSS() as mem:
        out, stats = select_deita(ds, args.budget, threshold=0.9, progress=False,
                                  return_stats=True)
    print(f"  select_deita: {stats.seconds:.1f} s, kept {stats.kept:,}, examined "
          f"{stats.examined:,}, peak RSS +{mem.used / 2**20:,.0f} MiB, anonymous "
          f"+{mem.anon / 2**20:,.0f} MiB", flush=True)
    del out
    with PeakRSS() as mem:
        out, stats = select_rds(ds, args.budget, target=target, progress=False,
                                return_stats=True)
    print(f"  select_rds ({args.tasks} tasks x {args.per_task}): {stats.seconds:.1f} s, kept "
          f"{stats.kept:,}, peak RSS +{mem.used / 2**20:,.0f} MiB, anonymous "
          f"+{mem.anon / 2**20:,.0f} MiB", flush=True)
    if not args.keep:
        path.unlink()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--part", choices=("rds", "scale", "ref"), required=True)
    p.add_argument("--rds-pool", default="1000000x4096")
    p.add_argument("--scale-pool", default="10000000x1024")
    p.add_argument("--ref-rows", default="10000,20000", help="reference subsample sizes")
    p.add_argument("--budget", type=int, default=10_000)
    p.add_argument("--tasks", type=int, default=4)
    p.add_argument("--per-task", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--keep", action="store_true", help="keep the pool file")
    p.add_argument("--root", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "deita_bench"))
    args = p.parse_args()
    if args.part != "ref":
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
              f"{os.cpu_count()} cpus, load average {os.getloadavg()[0]:.1f}", flush=True)
    {"rds": part_rds, "scale": part_scale, "ref": part_ref}[args.part](args)


if __name__ == "__main__":
    main()
