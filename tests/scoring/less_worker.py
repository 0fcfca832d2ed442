"""Run by ``test_less_multiprocess.py`` under ``accelerate launch``: LESS features of a pool
over all processes; the main process saves them (``.npy``).

The work runs only as a script (``pytest --doctest-modules`` imports this file too).
"""

import json
import sys

import numpy as np
from accelerate import PartialState
from datasets import load_dataset

from deita_hf.scoring import LessGradientScorer
from deita_hf.scoring.less_extract import extract_features, shares


def main() -> None:
    model, warmup, pool, out, options = sys.argv[1:6]
    ds = load_dataset("json", data_files=pool, split="train")
    scorer = LessGradientScorer(model, warmup_dir=warmup, device="cpu", **json.loads(options))
    state = PartialState(cpu=True)
    feats = extract_features(ds, scorer.prepare(), state=state, progress=False, batch_size=4)
    start, stop = shares(len(ds), state.num_processes)[state.process_index]
    print(f"[rank {state.process_index}] rows {start}:{stop} of {len(ds)}", file=sys.stderr, flush=True)
    if state.is_main_process:
        np.save(out, feats)


if __name__ == "__main__":
    main()
