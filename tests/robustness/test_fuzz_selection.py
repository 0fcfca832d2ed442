"""Fuzz (seeded, no hypothesis): ``select_deita`` against a one-row-at-a-time numpy reference on
generated pools: random dimensions, duplicate rows, scaled copies, orthogonal rows, tied and
zero scores, thresholds -1, 0, 1 and in between, per-turn and scalar scores, block sizes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from datasets import Dataset

from deita_hf.selection import select_deita

N_CASES = 400


def _vectors(rng: np.random.Generator, n: int, dim: int) -> list[list[float]]:
    rows: list[np.ndarray] = []
    for i in range(n):
        kind = rng.choice(["fresh", "fresh", "copy", "scaled", "sparse"]) if i else "fresh"
        if kind == "copy":  # an identical row: similarity exactly 1
            v = rows[int(rng.integers(i))].copy()
        elif kind == "scaled":  # same direction, other length
            v = rows[int(rng.integers(i))] * float(rng.choice([2.0, 0.5, 3.0]))
        elif kind == "sparse" and dim > 1:  # few non-zeros: disjoint supports are exactly orthogonal
            v = np.zeros(dim)
            at = rng.choice(dim, size=int(rng.integers(1, max(2, dim // 2) + 1)), replace=False)
            v[at] = rng.normal(size=len(at))
        else:
            v = rng.normal(size=dim)
        if not np.any(v):
            v[0] = 1.0
        rows.append(v)
    return [v.tolist() for v in rows]


def _scores(rng: np.random.Generator, n: int) -> tuple[dict[str, list], list[float], str | None]:
    """Columns, the reference score per row, and the score column (None: complexity x quality)."""
    mode = rng.choice(["ready", "scalar", "turns"])
    values = [0.0, 0.5, 1.0, 1.0, 2.0, 3.0]  # exact in float64: ties are ties
    if mode == "ready":
        s = [float(rng.choice([*values, -1.0, -2.5])) for _ in range(n)]
        return {"s": s}, s, "s"
    if mode == "scalar":
        c = [float(rng.choice(values)) for _ in range(n)]
        q = [float(rng.choice(values)) for _ in range(n)]
        return {"complexity": c, "quality": q}, [a * b for a, b in zip(c, q)], None
    turns = [int(rng.integers(1, 4)) for _ in range(n)]
    c = [[float(rng.choice(values)) for _ in range(t)] for t in turns]
    q = [[float(rng.choice(values)) for _ in range(t)] for t in turns]
    return ({"complexity": c, "quality": q},
            [float(sum(a * b for a, b in zip(x, y))) for x, y in zip(c, q)], None)


def reference(scores: list[float], vectors: list[list[float]], budget: int,
              threshold: float) -> list[int]:
    """DEITA, literally: rows by descending score (ties: lower index first); keep a row iff its
    cosine similarity to every kept row is <= threshold; stop at the budget."""
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    vecs = [np.asarray(v, dtype=np.float64) for v in vectors]
    unit = [v / np.linalg.norm(v) for v in vecs]
    kept: list[int] = []
    for i in order:
        if len(kept) == budget:
            break
        sims = [1.0 if np.array_equal(vecs[i], vecs[j])
                else float(np.clip(np.dot(unit[i], unit[j]), -1.0, 1.0)) for j in kept]
        if all(s <= threshold for s in sims):
            kept.append(i)
    return kept


def _case(seed: int):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    dim = int(rng.choice([1, 2, 3, 5, 8, 16]))
    columns, scores, score_column = _scores(rng, n)
    vectors = _vectors(rng, n, dim)
    threshold = float(rng.choice([-1.0, 0.0, 1.0, 0.9, 0.5, -0.3, float(rng.uniform(-1, 1))]))
    budget = int(rng.integers(1, n + 3))
    block = rng.choice([None, 1, 2, 3, 7, 64])
    ds = Dataset.from_dict({"id": list(range(n)), **columns, "embedding": vectors})
    return ds, scores, vectors, threshold, budget, (None if block is None else int(block)), score_column


@pytest.mark.parametrize("chunk", range(8))
def test_select_deita_matches_the_one_at_a_time_reference(chunk):
    for seed in range(chunk, N_CASES, 8):
        ds, scores, vectors, threshold, budget, block, score_column = _case(seed)
        expected = reference(scores, vectors, budget, threshold)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = select_deita(ds, budget, threshold=threshold, score_column=score_column,
                               block_size=block, progress=False)
        where = f"seed {seed}: n={len(ds)} budget={budget} threshold={threshold} block={block}"
        assert out["id"][:] == expected, where
        assert out["deita_rank"][:] == list(range(len(expected))), where
        assert out["deita_score"][:] == [scores[i] for i in expected], where
        short = [w for w in caught if "survive the similarity filter" in str(w.message)]
        assert bool(short) == (len(expected) < budget), where


@pytest.mark.parametrize("threshold", [-1.0, 0.0, 0.5, 1.0])
def test_identical_rows_keep_their_order(threshold):
    """Copies of one row with tied scores: at 1.0 all are kept, in row order; below, the first."""
    rng = np.random.default_rng(7)
    v = rng.normal(size=6).tolist()
    other = rng.normal(size=6).tolist()
    ds = Dataset.from_dict({"id": list(range(8)), "s": [1.0] * 8,
                            "embedding": [v, v, other, v, other, v, v, other]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = select_deita(ds, 8, threshold=threshold, score_column="s", progress=False)
    expected = reference([1.0] * 8, ds["embedding"][:], 8, threshold)
    assert out["id"][:] == expected
    if threshold == 1.0:
        assert expected == list(range(8))
    else:
        assert expected[0] == 0 and 1 not in expected and 3 not in expected


def test_opposite_rows_are_kept_at_threshold_minus_one():
    dropped = []
    for seed in range(60):
        v = np.random.default_rng(seed).normal(size=7)
        ds = Dataset.from_dict({"s": [2.0, 1.0], "embedding": [v.tolist(), (-v).tolist()]})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if len(select_deita(ds, 2, threshold=-1.0, score_column="s", progress=False)) != 2:
                dropped.append(seed)
    assert dropped == []
