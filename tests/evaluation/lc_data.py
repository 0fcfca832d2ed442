"""Synthetic AlpacaEval annotations and a synthetic gamed-baseline table for the length-control
tests (``import lc_data``). Only the output lengths and preferences matter to the GLMs, so the
outputs are runs of one letter; everything is drawn from fixed numpy seeds (PCG64 is stable)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

N = 160


def difficulty(n: int = N) -> np.ndarray:
    """The instructions' difficulty (the table's, and what drives the synthetic preferences)."""
    return np.random.default_rng(1).normal(0, 1, size=n)


def annotations(n: int = N, seed: int = 0) -> list[dict]:
    """AlpacaEval-layout annotations: output_1 the reference, output_2 the model; preference 1
    (reference better), 2 (model better), 1.5 (tie), a few continuous ones and a few missing."""
    rng = np.random.default_rng(seed)
    ref = rng.integers(200, 1600, size=n)
    model = np.maximum(20, ref + rng.normal(250, 500, size=n)).astype(int)
    logit = 0.3 + 1.2 * np.tanh((model - ref) / 500) - 0.8 * difficulty(n)
    p = 1 / (1 + np.exp(-logit))
    rows = []
    for i in range(n):
        u = rng.random()
        pref = 2.0 if u < p[i] * 0.9 else (1.5 if u < p[i] * 0.9 + 0.1 else 1.0)
        if i % 23 == 5:
            pref = float(1 + rng.random())       # a weighted (continuous) annotator's preference
        if i % 37 == 11:
            pref = None                          # no verdict
        rows.append({"instruction": f"instruction {i}", "output_1": "r" * int(ref[i]), "generator_1": "reference",
                     "output_2": "m" * int(model[i]), "generator_2": "my-model", "annotator": "judge",
                     "preference": pref})
    return rows


def write_gamed_table(path: Path, n: int = N, *, gamed: bool = True) -> Path:
    """A table in AlpacaEval's df_gamed.csv layout (two gamed baselines, verbose and concise), or
    with ``gamed=False`` in instruction_difficulty.csv's layout."""
    rng = np.random.default_rng(2)
    hard = difficulty(n)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        if not gamed:
            writer.writerow(["", "instruction_difficulty"])
            writer.writerows([i, repr(float(d))] for i, d in enumerate(hard))
            return path
        writer.writerow(["model", "index", "preference", "std_delta_len", "instruction_difficulty",
                         "not_gamed_baseline"])
        for name, sign in (("gpt4_1106_preview_verbose", -1.0), ("gpt4_1106_preview_concise", 1.0)):
            for i in range(n):
                sdl = sign * abs(rng.normal(1.0, 0.5))
                pref = float(np.clip(1 / (1 + np.exp(-(-0.8 * np.tanh(sdl) - 0.5 * hard[i]))) +
                                     rng.normal(0, 0.1), 0, 1))
                writer.writerow([name, i, repr(pref), repr(float(sdl)), repr(float(hard[i])), "False"])
    return path
