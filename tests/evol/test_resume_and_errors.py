"""Interrupted runs resume from the generation cache without repeating answered requests;
expected errors stop before anything loads, with one message."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from evol_helpers import MARK, chains, judge, rewriter

from deita_hf.cli.main import main
from deita_hf.errors import GenerationError
from deita_hf.evol import run_evol
from deita_hf.generation import GenerationCache, build_generator
from deita_hf.folder.writer import read_folder
from helpers.openai_server import Fault

REPO = Path(__file__).resolve().parents[2]


def _evol_args(seeds_file, url, out, *extra):
    return ["evol", seeds_file, "--kind", "complexity", "--rounds", "3", "--limit", "20",
            "--generator", f"openai:{url}#w", "--output", str(out), "--no-progress", *extra]


def test_a_killed_evol_run_resumes_from_the_cache(seeds_file, tmp_path, openai_server):
    k, proc = 25, {}
    base = rewriter()

    def respond(body, path):
        if len(killer.requests) == k:  # the k-th request: kill the client (SIGKILL, no clean-up)
            os.kill(proc["p"].pid, signal.SIGKILL)
            return Fault(delay=0.5, text="too late")
        return base(body, path)

    killer = openai_server(respond)
    out = tmp_path / "evol"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    proc["p"] = subprocess.Popen([sys.executable, "-m", "deita_hf.cli.main",
                                  *_evol_args(seeds_file, killer.url, out, "--concurrency", "1")],
                                 env=env, cwd=str(REPO), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc["p"].communicate(timeout=120)
    assert proc["p"].returncode == -signal.SIGKILL and not out.exists()
    cached = len(GenerationCache(tmp_path / ".evol.cache" / "generations.sqlite"))
    assert k - 2 <= cached <= k - 1
    answered = {json.dumps(q["body"]["messages"]) for q in killer.requests[:cached]}

    healthy = openai_server(rewriter())
    assert main(_evol_args(seeds_file, healthy.url, out)) == 0
    assert len(healthy.requests) == 20 * 3 - cached  # answered requests are not repeated
    assert not answered & {json.dumps(q["body"]["messages"]) for q in healthy.requests}
    rows = read_folder(out).to_list()
    assert len(rows) == 20 * 4 and all(r["status"] == "ok" for r in rows)
    assert all(r["instruction"].count(MARK) == r["round"] for r in rows)
    assert all(len(c) == 4 for c in chains(rows).values())


def test_a_server_that_goes_away_stops_the_run_and_a_rerun_resumes(seeds_file, tmp_path, openai_server):
    k = 30
    base = rewriter()
    going = openai_server(lambda body, path: base(body, path) if len(going.requests) <= k
                           else Fault(status=503, message="shutting down"))
    out, cache = tmp_path / "evol", tmp_path / "cache"
    gen = build_generator(f"openai:{going.url}#w", cache_dir=cache, max_retries=0, max_concurrency=1)
    with pytest.raises(GenerationError, match="All 10 generations of round 3 failed"):
        run_evol(seeds_file, out, kind="complexity", generator=gen, rounds=3, limit=20, progress=False)
    assert not out.exists() and len(GenerationCache(cache / "generations.sqlite")) == k

    back = openai_server(rewriter())
    _, settings = run_evol(seeds_file, out, kind="complexity", rounds=3, limit=20, cache_dir=cache,
                           generator=f"openai:{back.url}#w", progress=False)
    assert len(back.requests) == 20 * 3 - k
    assert [r["failed"] for r in settings["per_round"]] == [0, 0, 0, 0]


def test_an_interrupted_rank_resumes_without_asking_again(seeds_file, tmp_path, openai_server,
                                                         monkeypatch):
    gen = openai_server(rewriter())
    evol = tmp_path / "evol"
    assert main(_evol_args(seeds_file, gen.url, evol)) == 0
    judge_server = openai_server(judge())
    args = ["rank", str(evol), "--judge", f"openai:{judge_server.url}#j", "--output",
            str(tmp_path / "rank"), "--concurrency", "1", "--no-progress"]
    put, count = GenerationCache.put, {"n": 0}

    def flaky_put(self, key, text):  # the process is interrupted after 7 answers are stored
        put(self, key, text)
        count["n"] += 1
        if count["n"] == 7:
            raise KeyboardInterrupt

    monkeypatch.setattr(GenerationCache, "put", flaky_put)
    assert main(args) == 130
    monkeypatch.setattr(GenerationCache, "put", put)
    asked_first = len(judge_server.requests)
    assert main(args) == 0
    assert len(judge_server.requests) - asked_first == 20 - 7
    ranked = read_folder(tmp_path / "rank").to_list()
    assert all(r["usable"] and r["score"] == r["round"] + 1 for r in ranked)


def test_expected_errors_give_one_message(seeds_file, tmp_path, capsys, openai_server, seed_rows_50):
    out = str(tmp_path / "o")
    cases = [
        (["evol", seeds_file, "--kind", "complexity", "--rounds", "0", "--generator", "hf:x",
          "--output", out], "--rounds must be >= 1"),
        (["evol", seeds_file, "--kind", "quality", "--generator", "gpt-4", "--output", out],
         "--generator: Bad generator spec 'gpt-4'"),
        (["evol", str(tmp_path / "missing.jsonl"), "--kind", "quality", "--generator",
          "openai:http://127.0.0.1:9#m", "--output", out], "does not exist"),
        (["rank", seeds_file, "--judge", "openai:http://127.0.0.1:9#m", "--output", out],
         "`deita-hf rank` reads the output of `deita-hf evol`"),
        (["rank", str(tmp_path), "--judge", "openai:http://127.0.0.1:9#m", "--output", out,
          "--judge-retries", "-1"], "--judge-retries must be >= 0"),
    ]
    no_response = tmp_path / "no_response.jsonl"
    rows = [dict(r) for r in seed_rows_50[:5]]
    rows[3]["output"] = " "
    no_response.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cases.append((["evol", str(no_response), "--kind", "quality", "--generator",
                   "openai:http://127.0.0.1:9#m", "--output", out], "Row 3 has no response"))
    for args, message in cases:
        assert main(args + ["--no-progress"]) == 2, args
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
    assert not Path(out).exists()
    down = openai_server(lambda body, path: Fault(status=400, message="no"))
    assert main(["evol", seeds_file, "--kind", "complexity", "--limit", "3", "--generator",
                 f"openai:{down.url}#m", "--output", out, "--no-progress"]) == 2
    assert "All 3 generations of round 1 failed" in capsys.readouterr().err


def test_rank_stops_when_nothing_can_be_ranked_or_the_judge_never_answers(seeds_file, tmp_path,
                                                                           capsys, openai_server):
    empty = openai_server(rewriter(empty=("",)))  # every round-1 generation comes back empty
    evol = tmp_path / "evol-empty"
    assert main(_evol_args(seeds_file, empty.url, evol, "--limit", "3")) == 0
    assert "3 empty generations" in capsys.readouterr().out
    rank = ["rank", str(evol), "--judge", "openai:http://127.0.0.1:9#j", "--output",
            str(tmp_path / "r"), "--no-progress"]
    assert main(rank) == 2
    assert "None of the 3 seeds has 2 usable variants" in capsys.readouterr().err

    good = openai_server(rewriter())
    evol = tmp_path / "evol"
    assert main(_evol_args(seeds_file, good.url, evol, "--limit", "3")) == 0
    chatty = openai_server(judge(bad=("",), garbage="They are all great!"))
    rank[1], rank[3] = str(evol), f"openai:{chatty.url}#j"
    assert main(rank + ["--judge-retries", "1"]) == 2
    err = capsys.readouterr().err
    assert "gave no valid answer for any of the 3 seeds" in err and "They are all great!" in err
    assert len(chatty.requests) == 3 * 2 and not (tmp_path / "r").exists()
