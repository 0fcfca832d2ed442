"""Benchmark ``select_kcenter`` against a per-pick-allocating reference and the bandwidth bound.

In one run, on one clustered pool (``bench_select.make_pool``: an Arrow file opened with
``Dataset.from_file``), this prints:

* the time of ``select_kcenter`` (the whole call: reading and validating the pool, the greedy,
  building the output ``Dataset``);
* the time of the reference the way common k-center code is written: float64 pool in RAM,
  per pick a fresh distance array (``np.linalg.norm(X - c, axis=1)`` for l2,
  ``1 - X @ c`` for cosine) and ``np.minimum`` into the running minimum, ``argmax``. With
  ``--reference-picks N`` (default 40) only the first N picks are timed and the total is
  EXTRAPOLATED linearly to the budget (each pick costs the same: one pass over the pool); the
  picks are compared on that prefix;
* this machine's read bandwidth, measured in the same run just before and just after
  ``select_kcenter`` (best of a few float32 ``torch.mv`` and ``X.sum()`` over the pool; the
  best rate seen is used), and the bound ``picks × pool bytes / bandwidth``: k-center greedy
  must read the whole pool once per pick.

Example:
    python benchmarks/bench_kcenter.py                       # 100,000 x 1,024, budget 5,000
    python benchmarks/bench_kcenter.py --rows 20000 --dim 256 --budget 500 --reference-picks 0
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch
from bench_select import make_pool
from datasets import Dataset

from deita_hf.selection.kcenter import select_kcenter


def pool_matrix(ds: Dataset) -> np.ndarray:
    """The float32 embeddings as one ``n × dim`` array in RAM (a copy, as select_kcenter's)."""
    col = ds.data.column("embedding").combine_chunks()
    return col.values.to_numpy(zero_copy_only=False).reshape(len(ds), -1).copy()


def bandwidth(x32: np.ndarray, reps: int) -> tuple[float, float]:
    """Best read rate (bytes/s) of a float32 matrix-vector product and of a sum over ``x32``."""
    x = torch.from_numpy(x32)
    v, out = x[0].clone(), torch.empty(x.shape[0])
    best_mv = best_sum = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        torch.mv(x, v, out=out)
        best_mv = min(best_mv, time.perf_counter() - t)
        t = time.perf_counter()
        x.sum()
        best_sum = min(best_sum, time.perf_counter() - t)
    return x32.nbytes / best_mv, x32.nbytes / best_sum


def reference_kcenter(x: np.ndarray, budget: int, metric: str, picks: int):
    """Farthest-first as commonly written: a fresh distance array per pick. Returns the picks
    and the seconds of each pick."""
    if metric == "cosine":
        x = x / np.linalg.norm(x, axis=1)[:, None]
    min_d = np.full(len(x), np.inf)
    rows, times = [0], []
    for _ in range(min(picks, budget - 1)):
        t = time.perf_counter()
        c = x[rows[-1]]
        d = np.linalg.norm(x - c, axis=1) if metric == "l2" else 1.0 - x @ c
        min_d = np.minimum(min_d, d)
        min_d[rows] = -np.inf
        rows.append(int(np.argmax(min_d)))
        times.append(time.perf_counter() - t)
    return rows, np.array(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--dim", type=int, default=1024)
    p.add_argument("--budget", type=int, default=5000)
    p.add_argument("--metric", choices=["l2", "cosine"], default="l2")
    p.add_argument("--clusters-per-row", type=float, default=0.1)
    p.add_argument("--reference-picks", type=int, default=40,
                   help="time the reference on this many picks and EXTRAPOLATE (0: all)")
    p.add_argument("--reference-dtype", choices=["float64", "float32"], default="float64")
    p.add_argument("--device", default="cpu")
    p.add_argument("--bandwidth-reps", type=int, default=7)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "deita_bench"))
    args = p.parse_args()
    n, dim, budget = args.rows, args.dim, args.budget
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} cpus; "
          f"pool {n:,} x {dim:,} float32, budget {budget:,}, metric {args.metric}")
    path = Path(args.cache) / f"pool_{n}x{dim}_c{args.clusters_per_row}_s{args.seed}.arrow"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        make_pool(path, n, dim, max(1, int(n * args.clusters_per_row)), args.seed)
    ds = Dataset.from_file(str(path))
    x32 = pool_matrix(ds)
    before = bandwidth(x32, args.bandwidth_reps)
    out, stats = select_kcenter(ds, budget, metric=args.metric, device=args.device,
                                progress=False, return_stats=True)
    fast_rows, fast_s = out["id"][:], stats.seconds
    after = bandwidth(x32, args.bandwidth_reps)
    bw = max(*before, *after)  # the best rate seen: the strictest bound
    bound = (budget - 1) * x32.nbytes / bw
    print(f"read bandwidth (mv, sum) before: {before[0] / 1e9:.1f}, {before[1] / 1e9:.1f} GB/s; "
          f"after: {after[0] / 1e9:.1f}, {after[1] / 1e9:.1f} GB/s; bound = {budget - 1:,} "
          f"picks x {x32.nbytes / 2**20:.0f} MiB / {bw / 1e9:.1f} GB/s = {bound:.1f} s")
    print(f"select_kcenter: {fast_s:.1f} s ({fast_s / (budget - 1) * 1e3:.1f} ms/pick), "
          f"near-tie rechecks {stats.params['near_tie_rechecks']:,} of {budget - 1:,} picks")

    x_ref = x32.astype(np.float64) if args.reference_dtype == "float64" else x32
    limit = budget if args.reference_picks <= 0 else args.reference_picks
    ref_rows, times = reference_kcenter(x_ref, budget, args.metric, limit)
    del x_ref
    full = len(times) >= budget - 1
    ref_s = float(times.sum()) if full else float(times.mean()) * (budget - 1)
    how = "measured" if full else f"EXTRAPOLATED from the first {len(times)} picks"
    same = ref_rows == fast_rows[: len(ref_rows)]
    print(f"reference ({args.reference_dtype}, fresh arrays per pick): {ref_s:.1f} s ({how}; "
          f"{ref_s / (budget - 1) * 1e3:.0f} ms/pick); same picks "
          f"({'all' if full else f'first {len(ref_rows)}'}): {same}")
    print(f"RATIO speed-up vs reference: {ref_s / fast_s:.1f}x (goal >= 20x); "
          f"time / bandwidth bound: {fast_s / bound:.2f}x (goal <= 2x)")


if __name__ == "__main__":
    main()
