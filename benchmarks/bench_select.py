"""Benchmark ``select_deita`` against a one-candidate-at-a-time reference (the original's way).

For each pool (clustered embeddings with many near-duplicates, stored as a memory-mapped Arrow
file and opened as a ``datasets.Dataset``) this prints, in one run:

* the time and peak memory of ``select_deita`` (embeddings streamed from Arrow in blocks);
* the time of the reference: hkust-nlp/deita's ``IterativeFilter.filter`` with batch size 1, i.e.
  for every candidate, gather ALL kept embeddings from the pool array (``embeddings[kept]``),
  convert them to a float32 torch tensor, normalise both sides (twice, as the original does)
  and take ``torch.mm``; drop the candidate if any similarity > threshold;
* whether both keep the same rows, the speed ratio, and peak memory against
  ``pool embeddings bytes + budget × dim × 4``.

With ``--reference-limit N`` the reference walks only the first N candidates; its total time is
then ESTIMATED (and labelled so): per-candidate time is fitted as ``a + b·k`` (k = rows kept at
that moment) on the timed prefix and summed over the walk ``select_deita`` actually made. The
row check then covers that prefix only.

Example:
    python benchmarks/bench_select.py --pools 50000x4096 --budget 6000
    python benchmarks/bench_select.py --pools 300000x1024 --reference-limit 3000
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import pyarrow as pa
import torch
from datasets import Dataset

from deita_hf.selection import select_deita

PROC = psutil.Process()


def _rss() -> tuple[int, int]:
    """(RSS, anonymous RSS) in bytes; anonymous excludes memory-mapped file pages (Linux)."""
    rss = PROC.memory_info().rss
    try:
        with open("/proc/self/status") as f:
            anon = next(int(line.split()[1]) * 1024 for line in f if line.startswith("RssAnon:"))
    except (OSError, StopIteration):
        anon = rss
    return rss, anon


class PeakRSS:
    """Sample RSS every few ms; ``used`` = peak − start (all pages), ``anon`` = same for
    anonymous memory only (what the step allocated, without the pool's memory-mapped pages)."""

    def __init__(self, interval=0.005):
        self.interval, self._stop = interval, threading.Event()

    def __enter__(self):
        gc.collect()
        self.start = self.peak = _rss()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _sample(self):
        now = _rss()
        self.peak = (max(self.peak[0], now[0]), max(self.peak[1], now[1]))

    def _run(self):
        while not self._stop.is_set():
            self._sample()
            time.sleep(self.interval)

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        self._sample()

    @property
    def used(self) -> int:
        return self.peak[0] - self.start[0]

    @property
    def anon(self) -> int:
        return self.peak[1] - self.start[1]


def make_pool(path: Path, n: int, dim: int, n_clusters: int, seed: int) -> None:
    """Write an Arrow stream file: id, complexity, quality, embedding (list<float32>)."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((n_clusters, dim), dtype=np.float32)
    noise = rng.uniform(0.05, 0.4, n_clusters).astype(np.float32)  # within-cluster cos 0.86..1
    schema = pa.schema([("id", pa.int64()), ("complexity", pa.float32()),
                        ("quality", pa.float32()), ("embedding", pa.list_(pa.float32()))])
    tmp = path.with_suffix(".tmp")
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_stream(sink, schema) as writer:
        for lo in range(0, n, 10_000):
            m = min(10_000, n - lo)
            c = rng.integers(0, n_clusters, m)
            emb = centers[c] + noise[c, None] * rng.standard_normal((m, dim), dtype=np.float32)
            offsets = pa.array(np.arange(m + 1, dtype=np.int32) * dim)
            writer.write_batch(pa.record_batch([
                pa.array(np.arange(lo, lo + m)),
                pa.array(rng.uniform(1, 6, m).astype(np.float32)),
                pa.array(rng.uniform(1, 6, m).astype(np.float32)),
                pa.ListArray.from_arrays(offsets, pa.array(emb.ravel())),
            ], schema=schema))
    tmp.rename(path)


def reference_select(ds: Dataset, budget: int, threshold: float, limit: int | None):
    """hkust-nlp/deita ``IterativeFilter.filter`` with batch_size=1 (float32 pool array in RAM)."""
    scores = (np.asarray(ds.data.column("complexity"), dtype=np.float64)
              * np.asarray(ds.data.column("quality"), dtype=np.float64))
    order = np.argsort(-scores, kind="stable")
    flat = ds.data.column("embedding").combine_chunks()
    dim = len(flat[0])
    embeddings = flat.values.to_numpy().reshape(-1, dim)[order]  # the original: df -> np.array

    def compute_distance(a, b):  # as the original: normalise, then normalise again, then mm
        a = a / a.norm(dim=1)[:, None]
        b = b / b.norm(dim=1)[:, None]
        a = a / a.norm(dim=1)[:, None]
        b = b / b.norm(dim=1)[:, None]
        return torch.mm(a, b.t())

    kept, times, ks = [0], [], []
    stop = len(order) if limit is None else min(limit, len(order))
    for i in range(1, stop):
        t0 = time.perf_counter()
        cur = torch.tensor(embeddings[i : i + 1], dtype=torch.float32)
        existing = torch.tensor(embeddings[kept], dtype=torch.float32)  # re-gather the kept set
        drop = bool(torch.any(compute_distance(cur, existing) > threshold))
        ks.append(len(kept))
        if not drop:
            kept.append(i)
        times.append(time.perf_counter() - t0)
        if len(kept) >= budget:
            break
    return order[kept].tolist(), np.array(times), np.array(ks), len(times) + 1


def walk_kept_counts(order_pos_of_kept: np.ndarray, examined: int) -> np.ndarray:
    """k (rows kept so far) at each examined candidate 1..examined-1, from the kept positions."""
    kept_before = np.zeros(examined, dtype=np.int64)
    kept_before[np.asarray(order_pos_of_kept)[np.asarray(order_pos_of_kept) < examined]] = 1
    return np.cumsum(kept_before)[:-1]


def bench(n, dim, args):
    path = Path(args.cache) / f"pool_{n}x{dim}_c{args.clusters_per_row}_s{args.seed}.arrow"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        t = time.perf_counter()
        make_pool(path, n, dim, max(1, int(n * args.clusters_per_row)), args.seed)
        print(f"  wrote {path} in {time.perf_counter() - t:.0f} s")
    ds = Dataset.from_file(str(path))  # memory-mapped: nothing read yet
    pool_bytes = n * dim * 4
    bound = 1.5 * (pool_bytes + args.budget * dim * 4)

    with PeakRSS() as mem:
        out, stats = select_deita(ds, args.budget, threshold=args.threshold, device=args.device,
                                  block_size=args.block_size, progress=False, return_stats=True)
    fast_s, fast_rows = stats.seconds, out["id"][:]
    del out
    print(f"  select_deita: {fast_s:.2f} s, kept {stats.kept}, examined {stats.examined:,}, "
          f"peak RSS +{mem.used / 2**20:.0f} MiB (anonymous +{mem.anon / 2**20:.0f} MiB; "
          f"bound {bound / 2**20:.0f} MiB)")

    with PeakRSS() as ref_mem:
        ref_rows, times, ks, walked = reference_select(ds, args.budget, args.threshold,
                                                       args.reference_limit)
    full = walked >= stats.examined
    if full:
        ref_s, how = float(times.sum()), "measured"
        same = ref_rows == fast_rows
    else:
        a, b = np.polyfit(ks, times, 1)[::-1]  # per-candidate time = a + b*k
        scores = (np.asarray(ds.data.column("complexity"), dtype=np.float64)
                  * np.asarray(ds.data.column("quality"), dtype=np.float64))
        order = np.argsort(-scores, kind="stable")
        pos = np.empty(n, dtype=np.int64)
        pos[order] = np.arange(n)
        k_walk = walk_kept_counts(pos[np.asarray(fast_rows)], stats.examined)
        ref_s = float(len(k_walk) * a + b * k_walk.sum())
        how = f"ESTIMATED from {walked:,} timed candidates (a + b·k fit)"
        same = ref_rows == [r for r in fast_rows if pos[r] < walked]
    print(f"  reference: {ref_s:.1f} s ({how}), peak RSS +{ref_mem.used / 2**20:.0f} MiB "
          f"(anonymous +{ref_mem.anon / 2**20:.0f} MiB)")
    print(f"  same rows: {same}   speed-up: {ref_s / fast_s:.0f}x   "
          f"memory: {mem.used / (pool_bytes + args.budget * dim * 4):.2f} x (pool + budget x dim)")
    return dict(n=n, dim=dim, fast_s=fast_s, ref_s=ref_s, how=how, same=same,
                kept=stats.kept, examined=stats.examined, peak_mib=mem.used / 2**20,
                anon_mib=mem.anon / 2**20, ref_anon_mib=ref_mem.anon / 2**20,
                ref_peak_mib=ref_mem.used / 2**20, bound_mib=bound / 2**20,
                pool_mib=pool_bytes / 2**20, budget_mib=args.budget * dim * 4 / 2**20)


def sweep_block_sizes(n, dim, args):
    """Time select_deita alone for several block sizes (same rows expected for all)."""
    path = Path(args.cache) / f"pool_{n}x{dim}_c{args.clusters_per_row}_s{args.seed}.arrow"
    if not path.exists():
        make_pool(path, n, dim, max(1, int(n * args.clusters_per_row)), args.seed)
    ds = Dataset.from_file(str(path))
    rows = None
    for spec in args.sweep_block_sizes.split(","):
        bs = None if spec == "auto" else int(spec)
        out, stats = select_deita(ds, args.budget, threshold=args.threshold, device=args.device,
                                  block_size=bs, progress=False, return_stats=True)
        ids = out["id"][:]
        rows = ids if rows is None else rows
        print(f"  block_size={spec}: {stats.seconds:.2f} s, kept {stats.kept}, "
              f"examined {stats.examined:,}, same rows as first: {ids == rows}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pools", default="50000x4096,300000x1024", help="NxDIM, comma separated")
    p.add_argument("--budget", type=int, default=6000)
    p.add_argument("--threshold", type=float, default=0.9)
    p.add_argument("--clusters-per-row", type=float, default=0.1,
                   help="clusters = rows × this (rows per cluster ≈ 1 / this)")
    p.add_argument("--reference-limit", type=int, default=None,
                   help="time the reference on this many candidates and ESTIMATE the rest")
    p.add_argument("--device", default="cpu")
    p.add_argument("--block-size", type=int, default=None, help="default: adaptive")
    p.add_argument("--sweep-block-sizes", default=None,
                   help="e.g. 64,256,1024,auto: time select_deita only, per block size")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "deita_bench"))
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    specs = [tuple(int(x) for x in spec.lower().split("x")) for spec in args.pools.split(",")]
    if not args.child:
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} cpus")
    if args.sweep_block_sizes:
        for n, dim in specs:
            print(f"pool {n:,} x {dim:,}, budget {args.budget:,}, threshold {args.threshold}")
            sweep_block_sizes(n, dim, args)
        return
    if args.child:  # one pool, in a fresh process so memory peaks are not masked
        n, dim = specs[0]
        print(f"pool {n:,} x {dim:,}, budget {args.budget:,}, threshold {args.threshold}", flush=True)
        print("RESULT " + json.dumps(bench(n, dim, args)), flush=True)
        return
    results = []
    for n, dim in specs:
        argv = [a for a in sys.argv[1:]]
        if "--pools" in argv:
            i = argv.index("--pools")
            del argv[i : i + 2]
        argv = [a for a in argv if not a.startswith("--pools=")]
        proc = subprocess.run([sys.executable, __file__, *argv, "--pools", f"{n}x{dim}", "--child"],
                              stdout=subprocess.PIPE, text=True, check=True)
        for line in proc.stdout.splitlines():
            if line.startswith("RESULT "):
                results.append(json.loads(line[7:]))
            else:
                print(line, flush=True)
    print("\n| pool | kept / examined | select_deita | reference | speed-up | same rows | "
          "peak RSS (select_deita) | of which anonymous | pool + budget×dim | "
          "reference peak RSS |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['n']:,} × {r['dim']:,} | {r['kept']:,} / {r['examined']:,} | "
              f"{r['fast_s']:.1f} s | {r['ref_s']:.0f} s ({r['how']}) | {r['ref_s'] / r['fast_s']:.0f}× | "
              f"{r['same']} | {r['peak_mib']:.0f} MiB | {r['anon_mib']:.0f} MiB | "
              f"{r['pool_mib'] + r['budget_mib']:.0f} MiB | {r['ref_peak_mib']:.0f} MiB |")


if __name__ == "__main__":
    main()
