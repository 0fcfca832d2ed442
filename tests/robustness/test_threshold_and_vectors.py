"""Regression tests for issue 13 #5 and #9: thresholds, duplicate rows at 1.0, extreme vectors."""

import numpy as np
import pytest
from datasets import Dataset

from deita_hf.errors import ConfigError
from deita_hf.selection import select_deita


def _dupes(vector, n=10):
    return Dataset.from_dict({"s": [float(n - i) for i in range(n)], "embedding": [vector] * n})


@pytest.mark.parametrize("seed", range(20))
def test_threshold_one_keeps_every_duplicate(seed):
    # float64 self-cosine of many vectors rounds to 1.0000000000000002; at 1.0 nothing is dropped
    vector = np.random.default_rng(seed).normal(size=37).tolist()
    out = select_deita(_dupes(vector), 10, threshold=1.0, score_column="s", progress=False)
    assert len(out) == 10
    with pytest.warns(UserWarning, match="Only 1 rows survive"):
        kept = select_deita(_dupes(vector), 10, threshold=0.999999, score_column="s",
                            progress=False)
    assert len(kept) == 1


@pytest.mark.parametrize("good", [0.9, 1, -1, 1.0, np.float32(0.5), np.float64(0.9), np.int64(1)])
def test_threshold_accepts_real_numbers_in_range(good):
    # opposite vectors: similarity -1, kept at every threshold in [-1, 1]
    ds = Dataset.from_dict({"s": [2.0, 1.0], "embedding": [[1.0, 0.0], [-1.0, 0.0]]})
    assert len(select_deita(ds, 2, threshold=good, score_column="s", progress=False)) == 2


@pytest.mark.parametrize("bad", [True, False, np.bool_(True), 1.5, -1.01, float("nan"),
                                 float("inf"), "0.9", None])
def test_threshold_refuses_the_rest(bad):
    ds = Dataset.from_dict({"s": [2.0, 1.0], "embedding": [[1.0, 0.0], [0.0, 1.0]]})
    with pytest.raises(ConfigError, match="threshold must be a finite number in \\[-1, 1\\]"):
        select_deita(ds, 2, threshold=bad, score_column="s", progress=False)


def test_cli_refuses_bad_threshold_before_loading(tmp_path, capsys):
    from deita_hf.cli.main import main

    missing = tmp_path / "does-not-exist.jsonl"  # never read: the threshold is checked first
    assert main(["select", str(missing), "--budget", "3", "--threshold", "nan",
                 "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "--threshold" in err and "does-not-exist" not in err


@pytest.mark.parametrize("scale", [1e-300, 1e-40, 1e200, 1e38])
def test_tiny_and_huge_vectors_are_valid_directions(scale):
    base = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.001, 0.0]]
    ds = Dataset.from_dict({"s": [3.0, 2.0, 1.0],
                            "embedding": [[v * scale for v in row] for row in base]})
    out = select_deita(ds, 2, score_column="s", progress=False)
    assert out["s"][:] == [3.0, 2.0]  # row 2 is a near-duplicate of row 0 at any scale


def test_zero_and_inf_vectors_still_named():
    from deita_hf.errors import SelectionError

    for bad, what in (([0.0, 0.0], "all zeros"), ([float("inf"), 1.0], "inf"),
                      ([float("nan"), 1.0], "NaN")):
        ds = Dataset.from_dict({"s": [2.0, 1.0], "embedding": [[1.0, 0.0], bad]})
        with pytest.raises(SelectionError, match=f"row 1: embedding (is|contains) {what}"):
            select_deita(ds, 2, score_column="s", progress=False, threshold=0.99)


def test_score_overflow_is_an_error_not_inf():
    from deita_hf.errors import SelectionError

    ds = Dataset.from_dict({"complexity": [[1e200], [1.0]], "quality": [[1e200], [1.0]],
                            "embedding": [[1.0, 0.0], [0.0, 1.0]]})
    with pytest.raises(SelectionError, match="Row 0: the DEITA score .* overflows to inf"):
        select_deita(ds, 2, progress=False)
