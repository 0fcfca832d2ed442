"""Issue 13 #4, #6, #7 and the command-line parts of #9: every expected error is ONE message
``deita-hf <cmd>: error: ...`` with exit code 2 and no traceback, and arguments are checked
before a pool or a model loads."""

from __future__ import annotations

import gzip
import json
import socket
import subprocess
from pathlib import Path

import pytest
from robust_helpers import (
    LENGTH,
    REPO_ROOT,
    cli_command,
    cli_env,
    pool_rows,
    write_jsonl,
)

from deita_hf.cli.main import main

OFFLINE_SCORER = "hkust-nlp/deita-complexity-scorer"  # never in this test machine's Hub cache


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("inputs")
    rows = pool_rows(7, seed=3)
    out = {"pool": write_jsonl(rows, root / "pool.jsonl"), "dir": root}
    (root / "empty.jsonl").write_text("")
    out["empty"] = root / "empty.jsonl"
    lines = [json.dumps(r) for r in rows]
    lines[4] = '{"instruction": "five", "output": oops}'
    (root / "badline.jsonl").write_text("\n".join(lines) + "\n")
    out["badline"] = root / "badline.jsonl"
    latin = [json.dumps(r).encode() for r in rows[:3]]
    latin.insert(2, '{"instruction": "caf\xe9", "output": "x"}'.encode("latin-1"))
    (root / "latin1.jsonl").write_bytes(b"\n".join(latin) + b"\n")
    out["latin1"] = root / "latin1.jsonl"
    with gzip.open(root / "latin1.jsonl.gz", "wb") as fh:
        fh.write((root / "latin1.jsonl").read_bytes())
    out["latin1gz"] = root / "latin1.jsonl.gz"
    (root / "afile").write_text("not a folder")
    out["afile"] = root / "afile"
    prefs = [{"prompt": f"Q{i}?", "chosen": "yes " * (i + 1), "rejected": "no"} for i in range(4)]
    out["prefs"] = write_jsonl(prefs, root / "prefs.jsonl")
    # messages rows: row 5 has a message without its content key, row 6 a null text part
    conv = [[{"role": "user", "content": f"question {i}"},
             {"role": "assistant", "content": "answer " * (i + 1)}] for i in range(7)]
    conv[5][1] = {"role": "assistant", "text": "the answer under another key"}
    conv[6][0] = {"role": "user", "content": [{"type": "text", "text": None}]}
    out["nocontent"] = write_jsonl([{"messages": c} for c in conv[:6]], root / "nocontent.jsonl")
    out["nulltext"] = write_jsonl([{"messages": c} for c in conv[:5] + conv[6:]],
                                  root / "nulltext.jsonl")
    return out


def _one_error(capsys, command: str, *needles: str) -> str:
    err = capsys.readouterr().err
    assert err.count(f"deita-hf {command}: error:") == 1, err
    assert "Traceback" not in err
    line = next(x for x in err.splitlines() if x.startswith(f"deita-hf {command}: error:"))
    for needle in needles:
        assert needle in line, (needle, line)
    return line


CASES = {
    # name: (argv built from files and an output folder, command, needles)
    "score missing input": (lambda f, o: ["score", str(f["dir"] / "missing.jsonl"), "--output", o,
                                          *LENGTH], "score", ["missing.jsonl", "does not exist"]),
    "score empty file": (lambda f, o: ["score", str(f["empty"]), "--output", o, *LENGTH], "score",
                         ["empty.jsonl", "is empty"]),
    "score shard size 0": (lambda f, o: ["score", str(f["pool"]), "--output", o, *LENGTH,
                                         "--shard-size", "0"], "score", ["--shard-size", "got 0"]),
    "score offline model": (lambda f, o: ["score", str(f["pool"]), "--output", o,
                                          "--complexity-scorer", OFFLINE_SCORER,
                                          "--quality-scorer", "length", "--embedder", "none"],
                            "score", [OFFLINE_SCORER, "not available offline"]),
    "score output is a file": (lambda f, o: ["score", str(f["pool"]), "--output", str(f["afile"]),
                                             *LENGTH], "score", ["is a file"]),
    "score bad json line": (lambda f, o: ["score", str(f["badline"]), "--output", o, *LENGTH],
                            "score", ["badline.jsonl", "line 5 is not valid JSON"]),
    "score non-utf8": (lambda f, o: ["score", str(f["latin1"]), "--output", o, *LENGTH], "score",
                       ["latin1.jsonl", "line 3 is not UTF-8"]),
    "score non-utf8 gz": (lambda f, o: ["score", str(f["latin1gz"]), "--output", o, *LENGTH],
                          "score", ["latin1.jsonl.gz", "line 3 is not UTF-8"]),
    "score missing content key": (lambda f, o: ["score", str(f["nocontent"]), "--output", o,
                                                *LENGTH, "--shard-size", "2"], "score",
                                  ["row 5", "message 1 of 'messages'", "no 'content' key"]),
    "score null text part": (lambda f, o: ["score", str(f["nulltext"]), "--output", o, *LENGTH,
                                           "--shard-size", "4"], "score",
                             ["row 5", "message 0 of 'messages'", "text=None"]),
    "score device cuda:7": (lambda f, o: ["score", str(f["pool"]), "--output", o, *LENGTH,
                                          "--device", "cuda:7"], "score", ["--device", "cuda:7"]),
    "score scorer path missing": (lambda f, o: ["score", str(f["pool"]), "--output", o,
                                                "--complexity-scorer", "./no/such/scorer",
                                                "--quality-scorer", "length", "--embedder", "none"],
                                  "score", ["./no/such/scorer", "local path that does not exist"]),
    "preference missing input": (lambda f, o: ["preference", str(f["dir"] / "nope.jsonl"),
                                               "--budget", "2", "--output", o], "preference",
                                 ["nope.jsonl", "does not exist"]),
    "preference empty file": (lambda f, o: ["preference", str(f["empty"]), "--budget", "2",
                                            "--output", o], "preference", ["is empty"]),
    "preference offline model": (lambda f, o: ["preference", str(f["prefs"]), "--budget", "2",
                                               "--output", o, "--strategy", "deita"], "preference",
                                 ["hkust-nlp/deita-quality-scorer", "not available offline"]),
    "preference scorer path missing": (lambda f, o: ["preference", str(f["prefs"]), "--budget", "2",
                                                     "--output", o, "--strategy", "deita",
                                                     "--complexity-scorer", "/no/such/scorer",
                                                     "--quality-scorer", "length"], "preference",
                                       ["/no/such/scorer", "local path that does not exist"]),
    "select unknown hub id offline": (lambda f, o: ["select", "nobody-here/no-such-dataset",
                                                    "--budget", "2", "--output", o, *LENGTH],
                                      "select", ["nobody-here/no-such-dataset", "Hub dataset id"]),
    "select empty file": (lambda f, o: ["select", str(f["empty"]), "--budget", "2", "--output", o,
                                        *LENGTH], "select", ["is empty"]),
    "select missing content key": (lambda f, o: ["select", str(f["nocontent"]), "--budget", "2",
                                                 "--output", o, *LENGTH[:4], "--embedder",
                                                 "minilm", "--no-progress"], "select",
                                   ["row 5", "no 'content' key"]),
    "select device cuda:7": (lambda f, o: ["select", str(f["pool"]), "--budget", "2", "--output", o,
                                           *LENGTH[:4], "--device", "cuda:7"], "select",
                             ["--device", "cuda:7"]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_one_message_exit_2(name, files, tmp_path, capsys):
    argv, command, needles = CASES[name]
    out = tmp_path / "out"
    assert main(argv(files, str(out))) == 2
    _one_error(capsys, command, *needles)
    assert not out.exists() or not any(out.iterdir())  # nothing written, nothing half-written


def test_messages_without_content_never_score_zero(files, tmp_path, capsys):
    """#4: the length baselines used to read a missing content key as "" and exit 0 with every
    score 0; now the run stops at the bad row and writes nothing."""
    out = tmp_path / "scored"
    assert main(["score", str(files["nocontent"]), "--output", str(out), *LENGTH]) == 2
    _one_error(capsys, "score", "row 5")
    assert not out.exists()
    # the five good rows score as they should
    good = write_jsonl([json.loads(x) for x in files["nocontent"].read_text().splitlines()[:5]],
                       tmp_path / "good.jsonl")
    assert main(["score", str(good), "--output", str(tmp_path / "good"), *LENGTH]) == 0
    from deita_hf.data.loading import load_pool

    scored = load_pool(tmp_path / "good")
    assert all(q[0] > 0 for q in scored["quality"]) and all(c[0] > 0 for c in scored["complexity"])


@pytest.mark.parametrize("argv, needles", [
    (["select", "{pool}", "--budget", "3", "--threshold", "nan"], ["--threshold", "nan"]),
    (["select", "{pool}", "--budget", "3", "--threshold", "1.5"], ["--threshold"]),
    (["select", "{pool}", "--budget", "3", "--threshold=-inf"], ["--threshold"]),
    (["select", "{pool}", "--budget", "0"], ["--budget", "got 0"]),
    (["select", "{pool}", "--budget=-4", "--threshold", "0.5"], ["--budget"]),
    (["preference", "{prefs}", "--budget", "0"], ["--budget", "got 0"]),
    (["score", "{pool}", *LENGTH, "--batch-size", "0"], ["--batch-size"]),
    (["select", "{pool}", "--budget", "3", *LENGTH[:4], "--device", "cuda:7"], ["--device"]),
    (["preference", "{prefs}", "--budget", "2", "--device", "cuda:7"], ["--device"]),
])
def test_arguments_checked_before_anything_loads(argv, needles, files, tmp_path, monkeypatch,
                                                 capsys):
    """#7: a bad budget/threshold/device fails before the pool (or a model) loads."""
    import deita_hf.components
    import deita_hf.data.loading

    def must_not_load(*args, **kwargs):
        raise AssertionError("loaded before the arguments were checked")

    monkeypatch.setattr(deita_hf.data.loading, "load_pool", must_not_load)
    monkeypatch.setattr(deita_hf.components, "build_component", must_not_load)
    argv = [a.format(pool=files["pool"], prefs=files["prefs"]) for a in argv]
    assert main([*argv, "--output", str(tmp_path / "out")]) == 2
    _one_error(capsys, argv[0], *needles)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_subprocess_errors_have_no_traceback(files, tmp_path):
    """The real entry point (``python -m deita_hf.cli.main``): one line, exit 2, no traceback."""
    runs = [
        (["score", str(files["latin1"]), "--output", str(tmp_path / "a"), *LENGTH], {},
         "deita-hf score: error:", "line 3 is not UTF-8"),
        (["select", str(files["badline"]), "--budget", "2", "--output", str(tmp_path / "b"),
          *LENGTH], {}, "deita-hf select: error:", "line 5 is not valid JSON"),
    ]
    sel = tmp_path / "sel"
    assert main(["select", str(files["pool"]), "--budget", "2", "--output", str(sel),
                 *LENGTH[:4], "--no-progress"]) == 0
    runs.append((["publish", str(sel), "--repo-id", "me/deita-test", "--token", "hf_fake"],
                 {"online": True, "HF_ENDPOINT": f"http://127.0.0.1:{_free_port()}",
                  "HF_HUB_ETAG_TIMEOUT": "2", "HF_HUB_DOWNLOAD_TIMEOUT": "2"},
                 "deita-hf publish: error:", "Could not push"))
    procs = [subprocess.Popen(cli_command(argv), cwd=REPO_ROOT, env=cli_env(**env), text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for argv, env, _, _ in runs]  # at once: three interpreters start in parallel
    for proc, (_, _, prefix, needle) in zip(procs, runs):
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 2, stderr
        assert "Traceback" not in stderr
        lines = [x for x in stderr.splitlines() if x.startswith(prefix)]
        assert len(lines) == 1 and needle in lines[0], stderr


def test_publish_offline_is_one_message(tmp_path, files, capsys):
    sel = tmp_path / "sel"
    assert main(["select", str(files["pool"]), "--budget", "2", "--output", str(sel),
                 *LENGTH[:4], "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["publish", str(sel), "--repo-id", "me/x", "--token", "hf_fake"]) == 2
    _one_error(capsys, "publish", "HF_HUB_OFFLINE")


def test_loading_errors_name_file_and_line(files, tmp_path):
    """load_pool itself: empty files, blank lines, a bad line, non-UTF-8, folders with no data."""
    from deita_hf.data.loading import load_pool
    from deita_hf.errors import InputError

    (tmp_path / "blank.jsonl").write_text("\n   \n\n")
    (tmp_path / "nodata").mkdir()
    (tmp_path / "nodata" / "notes.bin").write_bytes(b"\0")
    for source, pattern in [(files["empty"], "is empty"),
                            (tmp_path / "blank.jsonl", "only blank lines"),
                            (files["badline"], "badline.jsonl.*line 5 is not valid JSON"),
                            (files["latin1"], "latin1.jsonl.*line 3 is not UTF-8"),
                            (tmp_path / "nodata", "Cannot read the folder")]:
        with pytest.raises(InputError, match=pattern):
            load_pool(source)
