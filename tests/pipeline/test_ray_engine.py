"""`deita-hf score --engine ray` / `score_on_ray` on a local Ray cluster (2 CPUs, started once for
the module and stopped after it): the same folder as the one-process run, a worker killed
mid-run, a driver killed and re-run, and a worker's error as one message."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import psutil
import pytest
import ray_helpers
import torch
from datasets import Dataset

from deita_hf.cli.main import main
from deita_hf.components import build_component
from deita_hf.data.loading import load_pool
from deita_hf.folder.writer import KILL_ENV
from deita_hf.pipeline.ray_engine import score_on_ray
from deita_hf.pipeline.score_run import partial_dir

REPO_ROOT = Path(__file__).resolve().parents[2]
LENGTH = ["--complexity-scorer", "length", "--quality-scorer", "length", "--embedder", "none",
          "--no-progress"]


@pytest.fixture(scope="module")
def cluster():
    """A local Ray cluster for the module (its address); nothing of it is left afterwards."""
    import ray
    from ray import cloudpickle

    before = {p.pid for p in psutil.Process().children(recursive=True)}
    cloudpickle.register_pickle_by_value(ray_helpers)  # the workers cannot import tests/
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
        cloudpickle.unregister_pickle_by_value(ray_helpers)
    deadline = time.monotonic() + 30
    while True:
        left = [p for p in psutil.Process().children(recursive=True)
                if p.pid not in before and p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert left == [], f"Ray processes left behind: {[p.name() for p in left]}"


def _one_thread_main(argv: list[str]) -> int:
    """The one-process reference with the workers' one torch thread (float sums over other
    thread counts round differently)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return main(argv)
    finally:
        torch.set_num_threads(threads)


def _settings(folder: Path) -> dict:
    return json.loads((folder / "deita_score.json").read_text(encoding="utf-8"))


def test_ray_run_equals_the_one_process_run(cluster, pool_file, tiny_chat_llama, tmp_path):
    common = [pool_file, "--complexity-scorer", tiny_chat_llama, "--quality-scorer", "length",
              "--embedder", "minilm", "--shard-size", "6", "--max-length", "512", "--no-progress"]
    ray_out, local_out = tmp_path / "ray", tmp_path / "local"
    assert main(["score", *common, "--output", str(ray_out), "--engine", "ray",
                 "--num-workers", "2"]) == 0
    assert _one_thread_main(["score", *common, "--output", str(local_out)]) == 0
    on_ray, local, src = load_pool(ray_out), load_pool(local_out), load_pool(pool_file)
    assert on_ray.column_names == local.column_names == [*src.column_names, "complexity",
                                                         "quality", "embedding"]
    assert on_ray["instruction"] == src["instruction"]  # the pool's order
    assert on_ray["quality"] == local["quality"]
    assert np.allclose(np.array(on_ray["complexity"]), np.array(local["complexity"]), atol=1e-6)
    gap = np.abs(np.array(on_ray["embedding"]) - np.array(local["embedding"])).max()
    assert gap < 1e-5, gap
    ray_settings, local_settings = _settings(ray_out), _settings(local_out)
    assert ray_settings.pop("engine")["name"] == "ray" and local_settings.pop("engine")["name"] == "local"
    assert ray_settings == local_settings  # interchangeable: the resume check would pass
    assert len(list((ray_out / "data").glob("*.parquet"))) == 4 and not partial_dir(ray_out).exists()


def test_worker_killed_mid_run_completes_without_recomputing_finished_shards(cluster, tmp_path):
    rows = [{"instruction": f"Question {i}: " + "why " * (i % 5), "output": "Because " * i}
            for i in range(20)]
    ds = Dataset.from_list(rows)
    out, log = tmp_path / "scored", tmp_path / "rows.log"
    counting = ray_helpers.CountingScorer(log, kill_row=9, shards=partial_dir(out) / "shards")
    score_on_ray(ds, [build_component("complexity", "length"), counting], output_dir=out,
                 shard_size=2, num_workers=2, progress=False)
    assert Path(f"{log}.killed").is_file()  # a worker was killed while scoring shard 4 (rows 8-9)
    result = load_pool(out)
    assert result["count"] == [float(i) for i in range(20)]
    assert result["complexity"] == [[float(len(r["instruction"]))] for r in rows]
    counts = Counter(ray_helpers.read_ints(log))
    assert {i: counts[i] for i in (8, 9)} == {8: 2, 9: 2}  # the killed shard, scored again
    assert all(counts[i] == 1 for i in range(20) if i not in (8, 9))  # every other row once
    finished = Path(f"{log}.finished").read_text(encoding="utf-8").split()
    assert "shard-00004-of-00010.parquet" not in finished
    loads = ray_helpers.read_ints(f"{log}.loads")
    assert len(loads) == len(set(loads)) <= 3  # once per worker process: 2 + the restarted one


def test_a_worker_that_always_dies_ends_the_run_with_one_message(cluster, tmp_path):
    """Issue 24 (h): Ray Data's actor restarts are bounded (ACTOR_RESTARTS), not endless."""
    from deita_hf.errors import DeitaError
    from deita_hf.pipeline.ray_address import ACTOR_RESTARTS

    ds = Dataset.from_list([{"instruction": f"Question {i}", "output": "Because"} for i in range(6)])
    log = tmp_path / "rows.log"
    start = time.monotonic()
    with pytest.raises(DeitaError, match=r"a Ray worker died \d+ times \(max_restarts 3\)"):
        score_on_ray(ds, [ray_helpers.AlwaysKilled(log, kill_row=3)], output_dir=tmp_path / "out",
                     shard_size=2, num_workers=1, progress=False)
    kills = ray_helpers.read_ints(f"{log}.kills")
    assert 2 <= len(kills) <= (ACTOR_RESTARTS["max_restarts"] + 1) * (ACTOR_RESTARTS["max_task_retries"] + 1)
    assert time.monotonic() - start < 170


def test_driver_killed_then_rerun_scores_only_the_missing_shards(cluster, tmp_path):
    pool = tmp_path / "pool.jsonl"
    rows = [{"instruction": f"Question {i}: " + "why " * (i % 7), "output": "Because " * (i % 9)}
            for i in range(20)]
    pool.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "scored"
    argv = ["score", str(pool), "--output", str(out), *LENGTH, "--shard-size", "2",
            "--engine", "ray", "--num-workers", "2"]
    env = {**__import__("os").environ, KILL_ENV: "score.shard#2:KILL", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "deita_hf.cli.main", *argv, "--address", cluster],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == -9, proc.stderr[-3000:]  # killed after two shards reached it
    shards = partial_dir(out) / "shards"
    done = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in shards.glob("shard-*.parquet")}
    assert len(done) >= 2 and not out.exists()
    assert main(argv) == 0  # the same command resumes
    for name, stamp in done.items():  # finished shards were linked into place, not rewritten
        data = out / "data" / name.replace("shard-", "train-")
        assert (data.stat().st_ino, data.stat().st_mtime_ns) == stamp, name
    assert main(["score", str(pool), "--output", str(tmp_path / "local"), *LENGTH,
                 "--shard-size", "2"]) == 0
    assert load_pool(out)[:] == load_pool(tmp_path / "local")[:]
    assert not partial_dir(out).exists()
    again = {p.name: p.stat().st_ino for p in (out / "data").glob("*.parquet")}
    assert main(argv) == 0  # complete: nothing to do
    assert {p.name: p.stat().st_ino for p in (out / "data").glob("*.parquet")} == again


def test_worker_error_is_one_message(cluster, tmp_path, capsys):
    pool = tmp_path / "bad.jsonl"
    rows = [{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]},
            {"messages": [{"role": "user", "content": "Hi"}, {"role": "user", "content": "Again"}]}]
    pool.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    capsys.readouterr()
    assert main(["score", str(pool), "--output", str(tmp_path / "out"), *LENGTH, "--engine", "ray",
                 "--num-workers", "1"]) == 2
    err = capsys.readouterr().err
    assert "deita-hf score: error: row 1: roles out of order" in err and "Traceback" not in err


def test_file_pool_is_read_by_row_range_not_staged(cluster, tmp_path, monkeypatch):
    """A pool read from a file: each worker reads its shard's rows from the pool's Arrow file;
    the driver writes no second copy (``input/``) of the pool."""
    from deita_hf.pipeline.ray_engine import PoolRows, pool_rows
    from deita_hf.pipeline.score_run import ScoreRun

    rows = [{"instruction": "x" * (i + 1), "output": "y" * (2 * i + 1)} for i in range(10)]
    path = tmp_path / "pool.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    pool = load_pool(path)
    source = pool_rows(pool)
    assert isinstance(source, PoolRows) and source.num_rows == 10
    assert source.read(range(3, 6))["instruction"][:] == ["xxxx", "xxxxx", "xxxxxx"]

    def no_staging(self, *args, **kwargs):
        raise AssertionError("the driver staged a copy of the pool")

    monkeypatch.setattr(ScoreRun, "stage_input", no_staging)
    comps = [build_component("complexity", "length"), build_component("quality", "length")]
    out = score_on_ray(pool, comps, output_dir=tmp_path / "scored", shard_size=3,
                       address=cluster, num_workers=2, progress=False)
    scored = load_pool(out)
    assert scored["instruction"][:] == [r["instruction"] for r in rows]
    assert scored["quality"][:] == [[float(len(r["output"]))] for r in rows]
    assert pool_rows(pool.select([1, 0])) is None  # an index mapping: staged instead
