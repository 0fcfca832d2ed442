"""Issue 13 #1, #2, #3, #8: output folders are never mixed, never silently reused, and an
unfinished `deita-hf score` never reads as complete (in-process runs; the killed-process runs
are in test_interrupts.py)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from robust_helpers import (
    LENGTH,
    assert_complete,
    leftovers,
    pool_rows,
    sigint_raises,
    write_jsonl,
)

from deita_hf.cli.main import main
from deita_hf.data.loading import load_pool
from deita_hf.errors import ConfigError, FolderInUseError, IncompleteFolderError
from deita_hf.folder import writer as folder_mod
from deita_hf.folder import guard as guard_mod
from deita_hf.folder.writer import write_folder
from deita_hf.folder.guard import FolderLock
from deita_hf.pipeline import score_run, sharded


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _score(pool: Path, out: Path, *extra: str) -> int:
    return main(["score", str(pool), "--output", str(out), *LENGTH, *extra])


@pytest.fixture()
def pool(tmp_path) -> Path:
    return write_jsonl(pool_rows(7, seed=1), tmp_path / "pool.jsonl")


def _selection(pool: Path, out: Path, budget: int = 3, *extra: str) -> None:
    assert main(["select", str(pool), "--budget", str(budget), "--output", str(out),
                 "--complexity-scorer", "length", "--quality-scorer", "length", "--no-progress",
                 *extra]) == 0


def _preference(tmp_path: Path, out: Path) -> None:
    rows = [{"prompt": f"Q{i}?", "chosen": "good " * (i + 1), "rejected": "bad"} for i in range(5)]
    src = write_jsonl(rows, tmp_path / "prefs.jsonl")
    assert main(["preference", str(src), "--budget", "3", "--output", str(out),
                 "--no-progress"]) == 0


# -- #1: score into a folder of another kind ---------------------------------------------------

@pytest.mark.parametrize("kind", ["selection", "preference", "readme"])
def test_score_refuses_another_folder_and_overwrite_keeps_no_old_rows(kind, tmp_path, pool, capsys):
    out = tmp_path / "out"
    if kind == "selection":
        _selection(pool, out, 3, "--include-pool")
    elif kind == "preference":
        _preference(tmp_path, out)
    else:
        out.mkdir()
        (out / "README.md").write_text("# my notes\n")
    before = _tree(out)
    capsys.readouterr()
    assert _score(pool, out) == 2
    err = capsys.readouterr().err
    assert err.count("deita-hf score: error:") == 1 and "is not empty" in err
    assert ("files deita-hf did not write" if kind == "readme" else f"deita-hf {kind} folder") in err
    assert _tree(out) == before  # untouched
    assert _score(pool, out, "--overwrite") == 0
    settings = assert_complete(out, "scores")
    assert settings["num_rows"] == 7
    scored = load_pool(out)
    assert scored.column_names == ["instruction", "output", "embedding", "complexity", "quality"]
    assert scored["instruction"][:] == [r["instruction"] for r in pool_rows(7, seed=1)]
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "data", "deita_score.json"]
    assert leftovers(out) == []


# -- #2: an unfinished score run is not a dataset ---------------------------------------------

def _interrupt_after(monkeypatch, point: str, nth: int) -> None:
    """Make the package's kill point ``point`` raise KeyboardInterrupt (as Ctrl-C) the nth time."""
    seen = {"n": 0}

    def hook(name: str) -> None:
        if name == point:
            seen["n"] += 1
            if seen["n"] == nth:
                raise KeyboardInterrupt

    monkeypatch.setattr(sharded, "kill_point", hook)
    monkeypatch.setattr(score_run, "kill_point", hook)
    monkeypatch.setattr(folder_mod, "kill_point", hook)


@pytest.mark.parametrize("precreated", [False, True])
def test_unfinished_score_is_refused_by_load_pool_and_select(precreated, tmp_path, pool,
                                                             monkeypatch, capsys):
    out = tmp_path / "scored"
    if precreated:
        out.mkdir()  # an empty folder made beforehand: still not a dataset
    _interrupt_after(monkeypatch, "score.shard", 2)
    assert _score(pool, out, "--shard-size", "2") == 130
    assert "interrupted" in capsys.readouterr().err
    monkeypatch.undo()
    assert len(list((sharded.partial_dir(out) / "shards").glob("shard-*.parquet"))) == 2
    with pytest.raises(IncompleteFolderError,
                       match="unfinished `deita-hf score` run.*re-run the same command"):
        load_pool(out)
    assert main(["select", str(out), "--budget", "2", "--output", str(tmp_path / "sel"),
                 "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "deita-hf select: error:" in err and "unfinished `deita-hf score` run" in err
    assert not (tmp_path / "sel").exists()
    # re-running finishes it, with the rows of an uninterrupted run
    assert _score(pool, out, "--shard-size", "2") == 0
    assert _score(pool, tmp_path / "ref", "--shard-size", "2") == 0
    assert_complete(out, "scores")
    assert load_pool(out)[:] == load_pool(tmp_path / "ref")[:]
    assert not sharded.partial_dir(out).exists() and leftovers(out) == []


def test_killed_after_the_output_is_in_place_leaves_no_partial_folder(tmp_path, pool, monkeypatch):
    out = tmp_path / "scored"
    _interrupt_after(monkeypatch, "score.assembled", 1)
    assert _score(pool, out, "--shard-size", "3") == 130
    monkeypatch.undo()
    assert_complete(out, "scores")  # complete already; the partial folder is a leftover
    assert sharded.partial_dir(out).exists()
    assert _score(pool, out, "--shard-size", "3") == 0  # same command: nothing to do, cleaned up
    assert not sharded.partial_dir(out).exists()


# -- #3: resuming on a changed input ------------------------------------------------------------

def test_resume_on_changed_input_or_settings_is_refused(tmp_path, pool, monkeypatch, capsys):
    out = tmp_path / "scored"
    _interrupt_after(monkeypatch, "score.shard", 1)
    assert _score(pool, out, "--shard-size", "2") == 130
    monkeypatch.undo()
    capsys.readouterr()
    changed = [dict(r) for r in pool_rows(7, seed=1)]
    changed[3]["output"] = "Another answer of another length"
    other = write_jsonl(changed, tmp_path / "other.jsonl")
    assert _score(other, out, "--shard-size", "2") == 2  # same row count, other text
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and "the input changed (rows 7 -> 7, content hash" in err
    assert "--overwrite" in err
    assert _score(pool, out, "--shard-size", "3") == 2
    err = capsys.readouterr().err
    assert "the settings changed (num_shards, shard_size)" in err
    assert _score(other, out, "--shard-size", "2", "--overwrite") == 0  # starts over
    assert load_pool(out)["output"][3] == "Another answer of another length"
    assert load_pool(out)["quality"][3] == [float(len("Another answer of another length"))]


def test_score_into_a_complete_scores_folder_of_another_input(tmp_path, pool, capsys):
    out = tmp_path / "scored"
    assert _score(pool, out) == 0
    other = write_jsonl(pool_rows(5, seed=9, tag="x"), tmp_path / "other.jsonl")
    capsys.readouterr()
    assert _score(other, out) == 2
    assert "deita-hf scores folder" in capsys.readouterr().err
    assert len(load_pool(out)) == 7
    assert _score(other, out, "--overwrite") == 0
    assert load_pool(out)["instruction"][:] == [r["instruction"] for r in pool_rows(5, 9, tag="x")]


# -- #8: atomic writes, locks --------------------------------------------------------------------

def _write(root: Path, rows: list[int], **kw) -> Path:
    from datasets import Dataset

    return write_folder(root, "preference", {"default": Dataset.from_dict({"a": rows})},
                        {"n": len(rows)}, body="# rows\n", **kw)


def test_a_failing_write_leaves_the_previous_folder(tmp_path):
    root = tmp_path / "out"
    _write(root, [1, 2])

    def boom(tmp):
        assert (tmp / "data").is_dir() and tmp.name.startswith(".out.tmp-")
        raise RuntimeError("disk trouble")

    with pytest.raises(RuntimeError, match="disk trouble"):
        _write(root, [3, 4, 5], overwrite=True, extra=boom)
    assert load_pool(root)["a"][:] == [1, 2]
    assert leftovers(root) == [] and not (tmp_path / ".out.lock").exists()


@pytest.mark.parametrize("point", ["write.config", "write.tmp", "write.swap", "write.done"])
@pytest.mark.parametrize("exchange", [True, False])
def test_interrupt_at_every_point_of_a_write(point, exchange, tmp_path, monkeypatch):
    """Ctrl-C anywhere: the previous folder or the new one, whole; the two-rename fallback
    (no renameat2) puts the old folder back when interrupted between its renames."""
    root = tmp_path / "out"
    _write(root, [1, 2])
    if not exchange:
        monkeypatch.setattr(folder_mod, "_exchange", lambda a, b: False)
    monkeypatch.setenv(folder_mod.KILL_ENV, f"{point}:INT")
    monkeypatch.setattr(guard_mod, "_kill_counts", {})
    try:
        with sigint_raises():  # a Ctrl-C, also when the test run ignores SIGINT (background)
            _write(root, [3, 4, 5], overwrite=True)
        interrupted = False
    except KeyboardInterrupt:
        interrupted = True
    monkeypatch.delenv(folder_mod.KILL_ENV)
    reached = point != "write.swap" or not exchange  # no such point with an atomic exchange
    assert interrupted == reached
    rows = load_pool(root)["a"][:]
    assert rows == ([3, 4, 5] if point == "write.done" or not reached else [1, 2])
    assert_complete(root, "preference")
    assert leftovers(root) == [] and not (tmp_path / ".out.lock").exists()


def test_killed_between_the_renames_is_recovered(tmp_path):
    """What a SIGKILL between the two renames of the fallback leaves: no folder, the previous
    one as .NAME.old-PID and a stale lock. Readers say so; the next writer puts it back."""
    root = tmp_path / "out"
    _write(root, [1, 2])
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    os.replace(root, tmp_path / f".out.old-{dead}")
    (tmp_path / f".out.tmp-{dead}").mkdir()
    (tmp_path / ".out.lock").write_text(dead)
    assert FolderLock(root)._stale()
    with pytest.raises(IncompleteFolderError, match=r"interrupted while replacing it.*\.out\.old-"):
        load_pool(root)
    with pytest.raises(FileExistsError, match="is not empty"):  # put back, so not replaced
        _write(root, [3])
    assert load_pool(root)["a"][:] == [1, 2] and leftovers(root) == []
    _write(root, [3], overwrite=True)
    assert load_pool(root)["a"][:] == [3]


def test_stale_lock_does_not_block_and_live_lock_does(tmp_path, pool, capsys):
    root = tmp_path / "out"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (tmp_path / ".out.lock").write_text(dead)
    assert FolderLock(root)._stale()
    _write(root, [1])
    assert not (tmp_path / ".out.lock").exists()
    # a lock held (here, by this process) makes a second writer fail at once
    with FolderLock(root):
        assert (tmp_path / ".out.lock").read_text() == str(os.getpid())
        assert not FolderLock(root)._stale()
        with pytest.raises(FolderInUseError, match=f"in use by another deita-hf process \\(pid "
                                                   f"{os.getpid()}\\)"):
            _write(root, [2], overwrite=True)
        capsys.readouterr()
        assert main(["select", str(pool), "--budget", "2", "--output", str(root), "--overwrite",
                     "--complexity-scorer", "length", "--quality-scorer", "length",
                     "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert "deita-hf select: error:" in err and "in use" in err
    assert load_pool(root)["a"][:] == [1]


def test_two_score_runs_into_one_output(tmp_path, pool, capsys):
    out = tmp_path / "scored"
    with FolderLock(out, name=f"{out.name}.score"):
        assert _score(pool, out) == 2
        assert "in use by another deita-hf process" in capsys.readouterr().err
    assert not out.exists()
    assert _score(pool, out) == 0


def test_read_only_output_is_one_message(tmp_path, pool, monkeypatch, capsys):
    import tempfile

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)  # the writability probe of check_output
    for args in (["score", str(pool), "--output", str(tmp_path / "o"), *LENGTH],
                 ["select", str(pool), "--budget", "2", "--output", str(tmp_path / "o"),
                  *LENGTH[:4], "--no-progress"]):
        assert main(args) == 2
        err = capsys.readouterr().err
        assert err.count("error:") == 1 and "cannot be written" in err and "Traceback" not in err
    monkeypatch.undo()
    # a write refused later (the lock file, the temporary folder) is the same message
    monkeypatch.setattr(folder_mod.os, "open", refuse)
    with pytest.raises(ConfigError, match="cannot be written .*PermissionError"):
        _write(tmp_path / "o2", [1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc refuses new files")
def test_output_on_a_file_system_that_refuses_files(pool, capsys):
    assert main(["score", str(pool), "--output", "/proc/deita-hf-out", *LENGTH]) == 2
    assert "cannot be written" in capsys.readouterr().err


def test_settings_json_has_no_nan(tmp_path):
    from deita_hf.folder.writer import write_settings

    path = write_settings(tmp_path, "x.json", {"a": float("nan"), "b": [float("inf"), 1.5],
                                              "c": {"d": -float("inf")}})
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"a": None, "b": [None, 1.5], "c": {"d": None}}
