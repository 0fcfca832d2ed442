"""Issue 13 #8 with real processes: ``deita-hf score`` and ``deita-hf select --overwrite`` killed
(SIGKILL) or interrupted (SIGINT) at seeded random points, and two runs into one folder.

A run is stopped either at a named point of the package (the testing hook
``DEITA_HF_TEST_KILL_AT="POINT[#N]:SIGNAL"``, see ``deita_hf.folder.writer.KILL_ENV``) or after a
seeded random delay. Afterwards the output is always one of: the previous complete folder, an
unfinished ``score`` run that only ``score`` accepts (and that a re-run completes with the rows of
an uninterrupted run), or the new complete folder; never a mix, and a stale lock never blocks.
The five seeds of a group run as concurrent processes, each on its own folder."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from robust_helpers import (
    LENGTH,
    REPO_ROOT,
    assert_complete,
    cli_command,
    cli_env,
    default_sigint,
    leftovers,
    pool_rows,
    run_cli,
    write_jsonl,
)

from deita_hf.cli.main import main
from deita_hf.data.loading import load_pool
from deita_hf.errors import IncompleteFolderError
from deita_hf.folder.writer import KILL_ENV, write_folder
from deita_hf.pipeline.sharded import input_fingerprint, partial_dir

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

SEEDS = range(5)
SHARD = "2"  # 10 rows: 5 shards


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("interrupts")
    pool = write_jsonl(pool_rows(10, seed=11), root / "pool.jsonl")
    other = write_jsonl(pool_rows(6, seed=12, tag="old "), root / "other.jsonl")
    ref = root / "reference"  # an uninterrupted run
    assert main(["score", str(pool), "--output", str(ref), *LENGTH, "--shard-size", SHARD]) == 0
    prev = root / "previous-selection"
    assert main(["select", str(ref), "--budget", "3", "--output", str(prev), "--include-pool",
                 "--no-progress"]) == 0
    return {"root": root, "pool": pool, "other": other, "ref": ref, "prev": prev,
            "ref_rows": load_pool(ref)[:], "sha": input_fingerprint(load_pool(pool))["sha256"]}


def _launch(argv: list[str], how: str | None = None, sig: str = "KILL") -> subprocess.Popen:
    """Start the CLI; ``how``: a kill point ("POINT[#N]"), "delay:SECONDS", or None."""
    hook = how is not None and not how.startswith("delay")
    env = cli_env(**{KILL_ENV: f"{how}:{sig}"}) if hook else cli_env()
    proc = subprocess.Popen(cli_command(argv), cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint)
    proc.timer = None
    if how is not None and how.startswith("delay"):
        proc.timer = threading.Timer(float(how.split(":")[1]), _signal,
                                     (proc, getattr(signal, f"SIG{sig}")))
        proc.timer.daemon = True
        proc.timer.start()
    return proc


def _signal(proc: subprocess.Popen, number: int) -> None:
    if proc.poll() is None:
        proc.send_signal(number)


def _wait_all(procs: list[subprocess.Popen]) -> list[tuple[int, str]]:
    out = []
    for proc in procs:
        try:
            _, err = proc.communicate(timeout=120)
        finally:
            if proc.timer is not None:
                proc.timer.cancel()
        out.append((proc.returncode, err))
    return out


def _points(name: str, hooks: list[str], *, delay: tuple[float, float]) -> list[str]:
    """One stop per seed: a random delay and four distinct kill points, in a seeded order."""
    rng = random.Random(name)
    points = [f"delay:{rng.uniform(*delay):.2f}", *rng.sample(hooks, len(SEEDS) - 1)]
    rng.shuffle(points)
    return points


def _score_state(out: Path, data: dict, previous: bool) -> str:
    """Which of the allowed states the score output is in (fails on anything else)."""
    if out.is_dir() and any(out.iterdir()):
        settings = assert_complete(out, "scores")
        if settings["input"]["sha256"] == data["sha"]:
            assert load_pool(out)[:] == data["ref_rows"]
            return "new"
        assert previous, "an old folder appeared from nowhere"
        assert settings["num_rows"] == 6
        return "previous"
    assert not previous, "the previous complete folder is gone"
    if (partial_dir(out) / "deita_score.json").is_file():
        with pytest.raises(IncompleteFolderError, match="unfinished `deita-hf score` run"):
            load_pool(out)
        return "partial"
    return "untouched"


@pytest.mark.parametrize("sig", ["KILL", "INT"])
def test_score_interrupted_anywhere(sig, data, tmp_path):
    runs = []
    points = _points(f"score-{sig}", ["score.shard", "write.config", "write.tmp", "write.done",
                                      "score.assembled"], delay=(0.3, 2.5))
    for seed in SEEDS:
        rng = random.Random(f"score-{sig}-{seed}")
        out = tmp_path / f"scored-{seed}"
        previous = rng.random() < 0.5
        if previous:  # a complete folder of another input, replaced with --overwrite
            assert main(["score", str(data["other"]), "--output", str(out), *LENGTH]) == 0
        how = points[seed]
        if how == "score.shard":
            how = f"score.shard#{rng.randint(1, 5)}"
        argv = ["score", str(data["pool"]), "--output", str(out), *LENGTH, "--shard-size", SHARD,
                *(["--overwrite"] if previous else [])]
        runs.append((seed, out, previous, how, argv))
    results = _wait_all([_launch(argv, how, sig) for _, _, _, how, argv in runs])
    for (seed, out, previous, how, argv), (code, err) in zip(runs, results):
        where = f"seed {seed}, {how}:{sig}, exit {code}\n{err[-2000:]}"
        state = _score_state(out, data, previous)
        if not how.startswith("delay"):
            assert code != 0, where  # the kill point was reached
            if sig == "INT":
                assert code == 130 and "interrupted" in err and "Traceback" not in err, where
            expected = {"write.done": "new", "score.assembled": "new"}.get(
                how, "previous" if previous else "partial")
            assert state == expected, where
        if state == "partial":  # only `score` accepts it
            assert main(["select", str(out), "--budget", "2", "--output",
                         str(tmp_path / f"sel-{seed}"), "--no-progress"]) == 2, where
        # a re-run (here, in this process) finishes the job: stale locks do not block it
        assert main(argv) == 0, where
        assert _score_state(out, data, previous) == "new", where
        assert not partial_dir(out).exists() and leftovers(out) == [], where
        assert not (out.parent / f".{out.name}.score.lock").exists(), where


def _selection_budget(out: Path) -> int:
    settings = assert_complete(out, "selection")
    assert len(load_pool(out)) == settings["kept"]
    return settings["budget"]


@pytest.mark.parametrize("sig", ["KILL", "INT"])
def test_select_overwrite_interrupted_anywhere(sig, data, tmp_path):
    runs = []
    points = _points(f"select-{sig}", ["write.config", "write.config#2", "write.tmp",
                                       "write.done"], delay=(0.5, 3.0))
    for seed in SEEDS:
        out = tmp_path / f"sel-{seed}"
        shutil.copytree(data["prev"], out)
        how = points[seed]
        argv = ["select", str(data["ref"]), "--budget", "5", "--output", str(out), "--overwrite",
                "--include-pool", "--no-progress"]
        runs.append((seed, out, how, argv))
    results = _wait_all([_launch(argv, how, sig) for _, _, how, argv in runs])
    for (seed, out, how, argv), (code, err) in zip(runs, results):
        where = f"seed {seed}, {how}:{sig}, exit {code}\n{err[-2000:]}"
        budget = _selection_budget(out)  # complete, whichever it is
        assert budget in (3, 5), where
        if not how.startswith("delay"):
            assert code != 0 and budget == (5 if how == "write.done" else 3), where
            if sig == "INT":
                assert code == 130 and "Traceback" not in err, where
        elif code == 0:
            assert budget == 5, where
        assert not any(p.name.startswith(".") for p in out.iterdir()), where
        # the next run is not blocked by what this one left (a stale lock, a temporary folder):
        # the real command once, the package's writer (what it calls) for the other seeds
        if seed == 0:
            assert main([*argv[:3], "4", *argv[4:]]) == 0, where
        else:
            write_folder(out, "selection", {"default": load_pool(data["ref"]).select(range(4))},
                         {"budget": 4, "kept": 4}, body="# four rows\n", overwrite=True)
        assert _selection_budget(out) == 4 and leftovers(out) == [], where
        assert not (out.parent / f".{out.name}.lock").exists(), where


def _stopped(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("T")
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/PID/stat")
def test_second_writer_fails_while_the_first_holds_the_lock(data, tmp_path):
    """The first run stops itself (SIGSTOP) holding the lock, its new folder complete but not
    in place; a second run fails with "in use"; resumed, the first completes."""
    out = tmp_path / "sel"
    shutil.copytree(data["prev"], out)
    argv = ["select", str(data["ref"]), "--budget", "5", "--output", str(out), "--overwrite",
            "--no-progress"]
    first = _launch(argv, "write.tmp", "STOP")
    try:
        deadline = time.monotonic() + 60
        while not _stopped(first.pid):
            assert first.poll() is None and time.monotonic() < deadline, first.communicate()
            time.sleep(0.05)
        assert (tmp_path / ".sel.lock").read_text() == str(first.pid)
        second = run_cli([*argv[:3], "4", *argv[4:]])
        assert second.returncode == 2 and "Traceback" not in second.stderr, second.stderr
        line = [x for x in second.stderr.splitlines() if x.startswith("deita-hf select: error:")]
        assert len(line) == 1 and "in use by another deita-hf process" in line[0]
        assert f"pid {first.pid}" in line[0]
        assert _selection_budget(out) == 3  # untouched meanwhile
    finally:
        os.kill(first.pid, signal.SIGCONT)
    code, err = _wait_all([first])[0]
    assert code == 0, err
    assert _selection_budget(out) == 5 and leftovers(out) == []


def test_two_runs_started_together(data, tmp_path):
    """Two `select --overwrite` processes at once: each completes or fails with "in use"; the
    folder is complete and is one of theirs."""
    out = tmp_path / "sel"
    shutil.copytree(data["prev"], out)
    procs = [_launch(["select", str(data["ref"]), "--budget", str(b), "--output", str(out),
                      "--overwrite", "--no-progress"]) for b in (4, 5)]
    results = _wait_all(procs)
    codes = [code for code, _ in results]
    assert 0 in codes and set(codes) <= {0, 2}, results
    for code, err in results:
        if code == 2:
            assert "in use by another deita-hf process" in err and "Traceback" not in err
    assert _selection_budget(out) in [b for b, c in zip((4, 5), codes) if c == 0]
    assert leftovers(out) == []
