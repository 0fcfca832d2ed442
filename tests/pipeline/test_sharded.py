"""`accelerate launch --num_processes 2` on CPU (gloo): each rank scores its shards, rank 0 assembles."""

import os
import subprocess
import sys

import torch

from deita_hf.cli.main import main
from deita_hf.data.loading import load_pool


def test_two_process_run_matches_single_process(pool_file, tiny_chat_llama, tmp_path):
    common = [pool_file, "--complexity-scorer", tiny_chat_llama, "--quality-scorer", "length",
              "--embedder", "none", "--shard-size", "5", "--max-length", "512"]
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false",
               OMP_WAIT_POLICY="PASSIVE")
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
              "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
              "-m", "deita_hf.cli.main", "score"]
    proc = subprocess.run(launch + common + ["--output", str(tmp_path / "two")], env=env,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "[rank 1]" in proc.stderr and "[rank 0]" in proc.stderr  # both ranks scored shards
    # the reference runs with the launched ranks' one thread: float sums in another thread count
    # round differently, and the results must be identical, not just close
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(["score", *common, "--output", str(tmp_path / "one")]) == 0
    finally:
        torch.set_num_threads(threads)
    two, one = load_pool(tmp_path / "two"), load_pool(tmp_path / "one")
    src = load_pool(pool_file)
    assert two["instruction"] == src["instruction"]  # assembled in the original order
    assert two["complexity"] == one["complexity"] and two["quality"] == one["quality"]
    assert len(list((tmp_path / "two" / "data").glob("*.parquet"))) == 4
