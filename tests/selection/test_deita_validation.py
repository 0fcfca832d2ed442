"""select_deita / deita_score: every bad input gets an error naming the column and row."""

import math

import numpy as np
import pytest
from datasets import Dataset, Sequence, Value

from deita_hf.selection import deita_score, select_deita


def good(**over):
    cols = {
        "complexity": [1.0, 2.0, 3.0, 4.0],
        "quality": [1.0, 1.0, 1.0, 1.0],
        "embedding": [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.5]],
    }
    cols.update(over)
    return Dataset.from_dict(cols)


def sel(ds, budget=2, **kw):
    return select_deita(ds, budget, progress=False, **kw)


# -- deita_score --------------------------------------------------------------------------
def test_deita_score_values():
    assert deita_score(2, 3.5) == 7.0
    assert deita_score([1.0, 2.0, 3.0], [1.0, 0.5, 2.0]) == 8.0
    assert deita_score(np.array([1.0, 2.0]), np.array([2.0, 2.0])) == 6.0


@pytest.mark.parametrize(
    "c, q, match",
    [
        (math.nan, 1.0, "row 7: complexity score is nan"),
        (1.0, math.inf, "row 7: quality score is inf"),
        (-1.0, 1.0, "row 7: complexity score is negative"),
        ([1.0, 2.0], [1.0], "row 7: 2 complexity scores but 1 quality"),
        ([1.0], 2.0, "row 7: complexity is a list but quality is a number"),
        ([], [], "row 7: no per-turn scores"),
        ("3", 1.0, "row 7: complexity score '3' is not a number"),
    ],
)
def test_deita_score_rejects(c, q, match):
    with pytest.raises(ValueError, match=match):
        deita_score(c, q, index=7)


# -- columns and scores ------------------------------------------------------------------
def test_missing_column_named_with_available_columns():
    with pytest.raises(ValueError, match=r"embedding_column='emb'.*\['complexity', 'quality', 'embedding'\]"):
        sel(good(), embedding_column="emb")
    with pytest.raises(ValueError, match="quality_column='q'"):
        sel(good(), quality_column="q")
    with pytest.raises(ValueError, match="score_column='s'"):
        sel(good(), score_column="s")


@pytest.mark.parametrize(
    "over, match",
    [
        ({"complexity": [1.0, math.nan, 3.0, 4.0]}, r"'complexity', row 1: score is nan"),
        ({"quality": [1.0, 1.0, -2.0, 1.0]}, r"'quality', row 2: negative score"),
        ({"complexity": [1.0, None, 3.0, 4.0]}, r"'complexity', row 1: missing score"),
        (
            {"complexity": [[1.0], [1.0, 2.0], [1.0], [1.0]], "quality": [[1.0], [1.0], [1.0], [1.0]]},
            r"Row 1: 2 values in 'complexity' but 1 in 'quality'",
        ),
        (
            {"complexity": [[1.0], [1.0], [1.0, math.nan], [1.0]], "quality": [[1.0], [1.0], [1.0, 1.0], [1.0]]},
            r"'complexity', row 2: score is nan",
        ),
        (
            {"complexity": [[1.0], [1.0], [1.0], [-1.0]], "quality": [[1.0], [1.0], [1.0], [1.0]]},
            r"'complexity', row 3: negative",
        ),
        ({"complexity": [[1.0], [2.0], [3.0], [4.0]]}, "both must be per-row numbers or both per-turn"),
    ],
)
def test_bad_scores(over, match):
    with pytest.raises(ValueError, match=match):
        sel(good(**over))


def test_bad_ready_score_column():
    with pytest.raises(ValueError, match=r"'s', row 3: score is inf"):
        sel(good(s=[1.0, 2.0, 3.0, math.inf]), score_column="s")
    with pytest.raises(ValueError, match="holds lists"):
        sel(good(s=[[1.0]] * 4), score_column="s")
    out = sel(good(s=[-1.0, -2.0, 0.5, -3.0]), score_column="s")  # negative ready scores are fine
    assert out["deita_score"][:] == [0.5, -1.0]


def test_existing_deita_score_is_not_clobbered():
    with pytest.raises(ValueError, match="already has a 'deita_score' column"):
        sel(good(deita_score=[1.0] * 4))
    out = sel(good(deita_score=[1.0, 5.0, 2.0, 3.0], deita_rank=[9, 9, 9, 9]), score_column="deita_score")
    assert out["deita_score"][:] == [5.0, 3.0] and out["deita_rank"][:] == [0, 1]


# -- embeddings --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "emb, match",
    [
        ([[1.0, 0.0], [0.0, 0.0], [1.0, 1.0], [-1.0, 0.5]], r"'embedding', row 1: embedding is all zeros"),
        ([[1.0, 0.0], [0.0, 1.0], [math.nan, 1.0], [-1.0, 0.5]], r"'embedding', row 2: embedding contains NaN"),
        ([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-math.inf, 0.5]], r"'embedding', row 3: embedding contains inf"),
        ([[1.0, 0.0], [0.0, 1.0, 2.0], [1.0, 1.0], [-1.0, 0.5]], r"'embedding', row 1: embedding has 3 values but row 0 has 2"),
        ([[1.0, 0.0], [0.0, 1.0], [1.0], [-1.0, 0.5]], r"row 2: embedding has 1 values"),
        ([[1.0, 0.0], None, [1.0, 1.0], [-1.0, 0.5]], r"'embedding', row 1: embedding is missing"),
        ([[1.0, 0.0], [0.0, 1.0], [1.0, None], [-1.0, 0.5]], r"'embedding', row 2: embedding contains NaN"),
        ([[], [], [], []], r"'embedding' holds list<item: null>"),
        (["a", "b", "c", "d"], r"'embedding' holds string"),
    ],
)
def test_bad_embeddings(emb, match):
    with pytest.raises(ValueError, match=match):
        sel(good(embedding=emb), budget=4, threshold=0.999)


def test_empty_embeddings():
    ds = good().cast_column("embedding", Sequence(Value("float32")))
    ds = ds.map(lambda r: {"embedding": []})
    with pytest.raises(ValueError, match=r"'embedding', row 0: embedding is empty"):
        sel(ds)


def test_bad_embedding_row_index_is_the_dataset_row_after_shuffle():
    ds = good(embedding=[[1.0, 0.0], [0.0, 0.0], [1.0, 1.0], [-1.0, 0.5]], id=[0, 1, 2, 3])
    shuffled = ds.shuffle(seed=3)
    row = shuffled["id"][:].index(1)
    with pytest.raises(ValueError, match=rf"row {row}: embedding is all zeros"):
        sel(shuffled, budget=4, threshold=0.999)


# -- arguments ---------------------------------------------------------------------------
def test_budget_and_threshold_checks():
    # the budget is an upper bound (as in DEITA): more than the pool returns every survivor
    with pytest.warns(UserWarning, match=r"Only \d rows survive.*budget of 5"):
        out = sel(good(), budget=5)
    assert 1 <= len(out) <= 4
    with pytest.raises(ValueError, match="budget must be >= 1"):
        sel(good(), budget=0)
    with pytest.raises(ValueError, match="budget must be >= 1"):
        sel(good(), budget=-3)
    with pytest.raises(TypeError, match="budget must be an int"):
        sel(good(), budget=2.5)
    with pytest.raises(ValueError, match="threshold must be a finite number"):
        sel(good(), threshold=math.nan)
    with pytest.raises(ValueError, match="block_size must be a positive int"):
        sel(good(), block_size=0)


def test_embeddings_out_of_float32_range():
    # issue 13: a vector whose norm overflows float32 is still a direction ([1e30, 1e30] is
    # [1, 1]), not an error: it is rescaled before normalising, so [1, 1] is its duplicate
    ds = good(embedding=[[1.0, 0.0], [1e30, 1e30], [1.0, 1.0], [-1.0, 0.5]], id=[0, 1, 2, 3])
    with pytest.warns(UserWarning, match="Only 3 rows survive"):
        out = sel(ds, budget=4, threshold=0.999)
    assert sorted(out["id"][:]) != [0, 1, 2, 3] and len(out) == 3


def test_bad_device():
    with pytest.raises(ValueError, match="is not a torch device"):
        sel(good(), device="gpu0")
    if not __import__("torch").cuda.is_available():
        with pytest.raises(ValueError, match="torch.cuda.is_available\\(\\) is False"):
            sel(good(), device="cuda")
