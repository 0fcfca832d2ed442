"""Issue 24: `deita-hf score` shows one overall bar over the run's rows and shards, and a
resumed run says how many shards were already scored."""

from __future__ import annotations

import json

from deita_hf.cli.main import main
from deita_hf.pipeline import sharded
from deita_hf.pipeline.config import ScoreConfig
from deita_hf.pipeline.progress import ShardCounts, ShardProgress
from deita_hf.pipeline.run_score import run_scoring


def test_shard_progress_counts_rows_and_shards():
    bar = ShardProgress({0: 3, 1: 3, 2: 1}, done=[], disable=True)
    assert bar.resume_line() is None and bar.total == 7 and bar.rows_done == 0
    bar.update(0)
    bar.update(0)  # counted once
    bar.update(2)
    assert bar.rows_done == 4 and bar.done == {0, 2}
    bar.close()
    done = ShardProgress({0: 3, 1: 3}, done=[0, 1], disable=True)
    assert done.resume_line() == "already complete: 2 shards, 6 rows; nothing to score"


def test_a_resumed_score_run_says_what_was_already_done(tmp_path, monkeypatch, capsys):
    pool = tmp_path / "pool.jsonl"
    pool.write_text("".join(json.dumps({"instruction": f"Question {i}?", "output": "Yes " * i}) + "\n"
                            for i in range(10)), encoding="utf-8")
    argv = ["score", str(pool), "--output", str(tmp_path / "scored"), "--complexity-scorer", "length",
            "--quality-scorer", "length", "--embedder", "none", "--shard-size", "2"]
    seen = {"n": 0}

    def killed_after_two_shards(name):
        if name == "score.shard":
            seen["n"] += 1
            if seen["n"] == 2:
                raise KeyboardInterrupt

    monkeypatch.setattr(sharded, "kill_point", killed_after_two_shards)
    assert main(argv) == 130
    monkeypatch.undo()
    capsys.readouterr()
    assert main(argv) == 0
    captured = capsys.readouterr()
    err = captured.err
    assert ("deita-hf score: 6 rows scored by this run; 4 rows of 2 of 5 shards were already "
            "scored; ") in captured.out, captured.out
    assert "10 rows scored" not in captured.out
    assert "deita-hf score [rank 0]: resuming: 2 of 5 shards already scored (4 of 10 rows); 3 to score" \
        in err, err[-2000:]
    assert "shards 5/5" in err  # the overall bar's last state
    assert main(argv) == 0  # a finished run: nothing scored, and it says so
    out = capsys.readouterr().out
    assert "deita-hf score: already complete: nothing scored" in out, out
    assert "rows scored" not in out


def test_shard_counts_and_the_score_result_say_what_was_scored(tmp_path):
    counts = ShardCounts()
    counts.record({0: 4, 1: 4, 2: 2}, done=[1, 7])  # 7 is not one of these shards
    assert (counts.shards, counts.rows, counts.found_shards, counts.found_rows) == (3, 10, 1, 4)
    assert (counts.scored_shards, counts.scored_rows) == (2, 6)
    assert counts.resume_line() == "resuming: 1 of 3 shards already scored (4 of 10 rows); 2 to score"
    pool = tmp_path / "pool.jsonl"
    pool.write_text("".join(json.dumps({"instruction": f"Q{i}?", "output": "A"}) + "\n"
                            for i in range(5)), encoding="utf-8")
    config = ScoreConfig(input=str(pool), output=str(tmp_path / "s"), complexity_scorer="length",
                         quality_scorer="length", embedder="none", shard_size=2)
    first = run_scoring(config, progress=False)
    assert (first.shards, first.scored_shards, first.scored_rows, first.found_shards,
            first.found_rows, first.written) == (3, 3, 5, 0, 0, True)
    again = run_scoring(config, progress=False)
    assert again.complete and not again.written
    assert (again.scored_shards, again.scored_rows, again.found_shards, again.found_rows) == \
        (0, 0, 3, 5)
