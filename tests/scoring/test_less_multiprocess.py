"""LESS feature extraction over two CPU processes (``accelerate launch --multi_gpu
--num_processes 2``, gloo): each rank takes a contiguous share, the result in row order equals
one process's."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from less_helpers import LESS_OPTIONS
from sample_data import short_dolly_rows

from deita_hf.scoring import LessGradientScorer
from deita_hf.scoring.less_extract import extract_features


def test_two_processes_equal_one(tiny_base_llama, tmp_path):
    rows = short_dolly_rows(24)
    warm = LessGradientScorer(str(tiny_base_llama), cache_dir=str(tmp_path / "cache"),
                              **LESS_OPTIONS).prepare(rows, progress=False)
    pool = tmp_path / "pool.jsonl"
    rows.select(range(11)).to_json(str(pool))  # 11 rows: shares of 6 and 5
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1", OMP_WAIT_POLICY="PASSIVE",
               TOKENIZERS_PARALLELISM="false")
    worker = Path(__file__).with_name("less_worker.py")
    proc = subprocess.run(
        [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
         "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", str(worker),
         str(tiny_base_llama), warm.warmup["dir"], str(pool), str(tmp_path / "two.npy"),
         json.dumps(LESS_OPTIONS)], env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "[rank 0] rows 0:6 of 11" in proc.stderr and "[rank 1] rows 6:11 of 11" in proc.stderr
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the launched ranks
    try:
        from datasets import load_dataset

        one = extract_features(load_dataset("json", data_files=str(pool), split="train"), warm,
                               progress=False, batch_size=4)
    finally:
        torch.set_num_threads(threads)
    two = np.load(tmp_path / "two.npy")
    assert two.shape == one.shape == (11, 2 * LESS_OPTIONS["dim"])
    np.testing.assert_allclose(two, one, rtol=1e-5, atol=1e-6)
