"""Issue 24: `deita-hf score` shows one overall bar over the run's rows and shards, and a
resumed run says how many shards were already scored."""

from __future__ import annotations

import json

from deita_hf.cli.main import main
from deita_hf.pipeline import sharded
from deita_hf.pipeline.progress import ShardProgress


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
    err = capsys.readouterr().err
    assert "deita-hf score [rank 0]: resuming: 2 of 5 shards already scored (4 of 10 rows); 3 to score" \
        in err, err[-2000:]
    assert "shards 5/5" in err  # the overall bar's last state
