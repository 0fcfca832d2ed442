"""Benchmark ``deita-hf score`` on its engines, side by side in one process tree: the local path
(one process), ``accelerate launch --num_processes N`` and ``--engine ray`` with N workers.

The same real rows (Alpaca, ``../shared/data``; benchmark only) are scored by two workloads:

* ``minilm``: the length baselines and the packaged MiniLM embedder;
* ``llama``: complexity and quality from a tiny LLaMA scorer built offline.

Each run is the real command line in a subprocess, timed from start to the finished output
folder (model loading, Ray start-up and assembly included); with ``--repeats N`` the best of N
runs counts (the machine may be shared). The script prints rows/s, each
engine's throughput as a ratio to the local run, Ray's ratio to accelerate's (goal here: ≥ 0.8)
and checks that every engine wrote the same rows and values (embeddings within 1e-5).
With ``--device cuda`` (a GPU machine) it reports rows/s per GPU instead.

Example:
    HF_HUB_OFFLINE=1 OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_engines.py --rows 5000
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

#: ``../shared/data`` beside the checkout (``--data`` for another place)
DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "alpaca" / "alpaca_random_9k.jsonl.gz"


def _rows(n: int, data: Path) -> list[dict]:
    with gzip.open(data, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line, _ in zip(fh, range(n))]
    if len(rows) < n:
        raise SystemExit(f"{data} has only {len(rows)} rows")
    return [{k: r[k] for k in ("instruction", "input", "output")} for r in rows]


def _engines(n: int) -> dict[str, tuple[list[str], list[str]]]:
    """engine -> (launcher prefix, extra score flags)."""
    cli = [sys.executable, "-m", "deita_hf.cli.main"]
    accelerate = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu",
                  "--num_processes", str(n), "--num_machines", "1", "--mixed_precision", "no",
                  "--dynamo_backend", "no", "-m", "deita_hf.cli.main"]
    return {"local": (cli, []), f"accelerate x{n}": (accelerate, []),
            f"ray x{n}": (cli, ["--engine", "ray", "--num-workers", str(n)])}


def _run(prefix: list[str], argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run([*prefix, "score", *argv], env=env, capture_output=True, text=True)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(prefix[-3:])} score failed:\n{proc.stderr[-4000:]}")
    return took


def _compare(a, b) -> float:
    """Largest difference between two scored folders' added columns (raises on other changes)."""
    assert a.column_names == b.column_names, (a.column_names, b.column_names)
    assert a["instruction"] == b["instruction"]
    gap = 0.0
    for col in ("complexity", "quality", "embedding"):
        if col in a.column_names:
            gap = max(gap, float(np.abs(np.array(a[col]) - np.array(b[col])).max()))
    return gap


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=5000)
    p.add_argument("--workers", type=int, default=2, help="accelerate processes / Ray workers")
    p.add_argument("--shard-size", type=int, default=250)
    p.add_argument("--workloads", default="minilm,llama")
    p.add_argument("--device", default=None, help="cuda: per-GPU rows/s (one GPU per worker)")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder")
    p.add_argument("--data", type=Path, default=DATA, help="Alpaca rows (.jsonl.gz)")
    p.add_argument("--repeats", type=int, default=1, help="runs per engine; the best counts")
    args = p.parse_args()
    rows = _rows(args.rows, args.data)
    root = Path(tempfile.mkdtemp(prefix="bench-engines-"))
    try:
        _bench(args, rows, root)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


def _bench(args: argparse.Namespace, rows: list[dict], root: Path) -> None:
    from deita_hf.data.loading import load_pool
    from deita_hf.testing import build_tiny_llama

    pool = root / "pool.jsonl"
    pool.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    tiny = build_tiny_llama(root / "tiny", texts=[r["instruction"] + " " + r["output"]
                                                  for r in rows[:500]])
    workloads = {
        "minilm": ["--complexity-scorer", "length", "--quality-scorer", "length",
                   "--embedder", "minilm"],
        "llama": ["--complexity-scorer", str(tiny), "--quality-scorer", str(tiny),
                  "--embedder", "none", "--max-length", "512"],
    }
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
    print(f"{args.rows} rows, shard size {args.shard_size}, {args.workers} workers, "
          f"{os.cpu_count()} CPUs; device {args.device or 'auto'}; best of {args.repeats}; "
          f"load average {os.getloadavg()[0]:.1f}")
    results = {}
    for name in args.workloads.split(","):
        times, folders = {}, {}
        for engine, (prefix, extra) in _engines(args.workers).items():
            out = root / f"{name}-{engine.split()[0]}"
            flags = [str(pool), "--output", str(out), *workloads[name], "--shard-size",
                     str(args.shard_size), "--no-progress", *extra,
                     *(["--device", args.device] if args.device else [])]
            run_env = dict(env)
            if engine != "local":  # N processes on N cores: one thread each
                run_env["OMP_NUM_THREADS"] = "1"
            runs = []
            for _ in range(args.repeats):  # best of N: the machine may be shared
                shutil.rmtree(out, ignore_errors=True)
                runs.append(_run(prefix, flags, run_env))
            times[engine] = min(runs)
            folders[engine] = load_pool(out)
            print(f"  {name:7s} {engine:14s} {times[engine]:8.1f} s  "
                  f"{args.rows / times[engine]:8.1f} rows/s  (runs: "
                  f"{', '.join(f'{t:.1f}' for t in runs)} s)", flush=True)
        local = times["local"]
        acc = times[f"accelerate x{args.workers}"]
        ray_t = times[f"ray x{args.workers}"]
        gaps = {e: _compare(folders["local"], f) for e, f in folders.items() if e != "local"}
        results[name] = {"seconds": times, "rows_per_s": {e: args.rows / t for e, t in times.items()},
                         "vs_local": {e: local / t for e, t in times.items()},
                         "ray_vs_accelerate": acc / ray_t, "max_difference": gaps}
        print(f"  {name}: throughput vs local: " + ", ".join(
            f"{e} {local / t:.2f}x" for e, t in times.items()) +
            f"; ray / accelerate = {acc / ray_t:.2f}x (goal >= 0.8); max difference vs local "
            + ", ".join(f"{e} {g:.1e}" for e, g in gaps.items()), flush=True)
        if args.device == "cuda":
            print(f"  {name}: per GPU: ray {args.rows / ray_t / args.workers:.1f} rows/s, "
                  f"accelerate {args.rows / acc / args.workers:.1f} rows/s")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
