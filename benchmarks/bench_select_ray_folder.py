"""Selection stays one process: ``select_deita`` on a large pool read from the folder a Ray run
wrote (``score_on_ray``), with time and peak memory.

1. A synthetic pool of ``--rows`` short rows is scored on a local Ray cluster (``--workers``
   actors) by the length baselines and a synthetic embedder that writes clustered float32
   vectors of ``--dim`` dimensions (``--clusters-per-row`` as in ``bench_select.py``: many
   near-duplicates), into a Hub-layout folder (Parquet shards of ``--shard-size`` rows).
2. The folder is opened with ``load_pool`` (``datasets`` converts the Parquet shards once into a
   memory-mapped Arrow cache; timed on its own) and ``select_deita`` picks ``--budget`` rows,
   streaming the embeddings from the memory-mapped Arrow table block by block.

Printed: the Ray scoring time, the open time, the selection time, and the selection's peak
memory (all pages, and anonymous memory only: what it allocated beyond the mapped pool)
against the pool's embedding bytes. Everything is written under ``--root`` and removed at the
end (1M x 1,024 float32 is 4 GB of vectors; the Parquet folder and the Arrow cache take about
twice that on disk).

Example:
    HF_HUB_OFFLINE=1 OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_select_ray_folder.py \\
        --rows 1000000 --dim 1024 --budget 6000
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_select import PeakRSS  # noqa: E402


class ClusteredEmbedder:
    """A component: row ``i`` gets ``center[c(i)] + noise(c) * N(0, 1)``, L2-normalised float32,
    with ``c(i)`` a fixed hash of the row number (so any shard split gives the same vectors)."""

    column = "embedding"

    def __init__(self, dim: int, n_clusters: int, seed: int = 0) -> None:
        self.dim, self.n_clusters, self.seed = int(dim), int(n_clusters), int(seed)

    def describe(self) -> dict:
        return {"name": "clustered-synthetic", "kind": "synthetic", "column": self.column,
                "dim": self.dim, "clusters": self.n_clusters, "seed": self.seed}

    def __call__(self, batch: dict, indices: list[int]) -> dict:
        idx = np.asarray(indices, dtype=np.int64)
        clusters = (idx * 2654435761) % self.n_clusters
        out = np.empty((len(idx), self.dim), dtype=np.float32)
        for c in np.unique(clusters):
            rng = np.random.default_rng([self.seed, int(c)])
            center = rng.standard_normal(self.dim, dtype=np.float32)
            noise = np.float32(rng.uniform(0.05, 0.4))
            rows = np.nonzero(clusters == c)[0]
            out[rows] = center + noise * rng.standard_normal((len(rows), self.dim),
                                                            dtype=np.float32)
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return {self.column: out}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--dim", type=int, default=1024)
    p.add_argument("--budget", type=int, default=6000)
    p.add_argument("--threshold", type=float, default=0.9)
    p.add_argument("--clusters-per-row", type=float, default=0.1)
    p.add_argument("--shard-size", type=int, default=50_000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--root", default=None, help="where to write (default: a temporary folder)")
    args = p.parse_args()

    root = Path(args.root or tempfile.mkdtemp(prefix="bench-select-ray-"))
    cache = root / "hf-datasets-cache"
    os.environ["HF_DATASETS_CACHE"] = str(cache)  # the Arrow cache goes under root, removed after

    import datasets
    import ray

    from deita_hf.data.loading import load_pool
    from deita_hf.pipeline.ray_engine import score_on_ray
    from deita_hf.scoring import InstructionLengthScorer, ResponseLengthScorer
    from deita_hf.selection import select_deita

    rng = np.random.default_rng(0)
    n = args.rows
    ds = datasets.Dataset.from_dict({
        "instruction": [f"Question {i}: " + "why " * int(k) for i, k in
                        enumerate(rng.integers(1, 40, n))],
        "output": ["Because " * int(k) for k in rng.integers(1, 80, n)]})
    comps = [InstructionLengthScorer(), ResponseLengthScorer(),
             ClusteredEmbedder(args.dim, max(1, int(n * args.clusters_per_row)))]
    out = root / "scored"
    try:
        ray.init(num_cpus=args.workers, include_dashboard=False, logging_level=logging.WARNING)
        t = time.perf_counter()
        score_on_ray(ds, comps, output_dir=out, shard_size=args.shard_size,
                     num_workers=args.workers, map_batch_size=1000, progress=False)
        scored_s = time.perf_counter() - t
        ray.shutdown()
        parquet_bytes = sum(f.stat().st_size for f in (out / "data").glob("*.parquet"))
        print(f"Ray ({args.workers} workers): {n:,} rows x {args.dim} scored and written in "
              f"{scored_s:.1f} s ({n / scored_s:,.0f} rows/s); Parquet {parquet_bytes / 2**30:.2f} GiB",
              flush=True)
        t = time.perf_counter()
        pool = load_pool(out)
        open_s = time.perf_counter() - t
        print(f"load_pool (Parquet -> memory-mapped Arrow cache, once): {open_s:.1f} s", flush=True)
        emb_bytes = n * args.dim * 4
        with PeakRSS() as mem:
            t = time.perf_counter()
            selected, stats = select_deita(pool, args.budget, threshold=args.threshold,
                                           progress=False, return_stats=True)
            select_s = time.perf_counter() - t
        result = {"rows": n, "dim": args.dim, "budget": args.budget, "selected": len(selected),
                  "examined": stats.examined,
                  "ray_score_s": round(scored_s, 1), "open_s": round(open_s, 1),
                  "select_s": round(select_s, 2), "peak_rss_mib": mem.used / 2**20,
                  "peak_anon_mib": mem.anon / 2**20, "embedding_mib": emb_bytes / 2**20}
        print(f"select_deita: {len(selected):,} kept, {stats.examined:,} of {n:,} rows examined, "
              f"in {select_s:.1f} s; peak memory "
              f"{mem.used / 2**20:,.0f} MiB ({mem.used / emb_bytes:.2f}x the pool's embeddings), "
              f"anonymous {mem.anon / 2**20:,.0f} MiB ({mem.anon / emb_bytes:.2f}x)", flush=True)
        print(json.dumps(result, indent=1))
    finally:
        if ray.is_initialized():
            ray.shutdown()
        shutil.rmtree(root, ignore_errors=True)
        print(f"removed {root}", file=sys.stderr)


if __name__ == "__main__":
    main()
