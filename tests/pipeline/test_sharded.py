"""`accelerate launch --num_processes 2` on CPU (gloo): each rank scores its shards, rank 0
assembles; Slurm array tasks (`--num-shards K --shard-index I`, `--assemble`) give the same
folder, lock only what they must and share the partial folder with the one-process run."""

import json
import os
import subprocess
import sys
import threading

import torch

from deita_hf.cli.main import main
from deita_hf.data.loading import load_pool
from deita_hf.folder.guard import FolderLock
from deita_hf.pipeline import sharded
from deita_hf.pipeline.score_run import partial_dir, run_lock


def test_two_process_run_matches_single_process(pool_file, tiny_chat_llama, tmp_path):
    common = [pool_file, "--complexity-scorer", tiny_chat_llama, "--quality-scorer", "length",
              "--embedder", "none", "--shard-size", "5", "--max-length", "512"]
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false",
               OMP_WAIT_POLICY="PASSIVE")
    for name in ("HF_DATASETS_DISABLE_PROGRESS_BARS", "TQDM_DISABLE"):
        env.pop(name, None)  # the ranks' labels are in their bars: on here, whatever the caller set
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
              "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
              "-m", "deita_hf.cli.main", "score"]
    proc = subprocess.run(launch + common + ["--output", str(tmp_path / "two")], env=env,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "[rank 1]" in proc.stderr and "[rank 0]" in proc.stderr  # both ranks scored shards
    # the reference runs with the launched ranks' one thread: float sums in another thread count
    # round differently, and the results must be identical, not just close
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(["score", *common, "--output", str(tmp_path / "one")]) == 0
    finally:
        torch.set_num_threads(threads)
    two, one = load_pool(tmp_path / "two"), load_pool(tmp_path / "one")
    src = load_pool(pool_file)
    assert two["instruction"] == src["instruction"]  # assembled in the original order
    assert two["complexity"] == one["complexity"] and two["quality"] == one["quality"]
    assert len(list((tmp_path / "two" / "data").glob("*.parquet"))) == 4


# -- Slurm array tasks: --num-shards K --shard-index I, --assemble ------------------------------

def _array_args(pool, out, tiny, *extra):
    return ["score", pool, "--output", str(out), "--complexity-scorer", tiny, "--quality-scorer",
            "length", "--embedder", "none", "--shard-size", "3", "--max-length", "512",
            "--no-progress", *extra]


def test_two_concurrent_array_tasks_equal_the_one_process_run(pool_file, tiny_chat_llama, tmp_path):
    out = tmp_path / "array"
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false",
               OMP_WAIT_POLICY="PASSIVE")
    tasks = [subprocess.Popen([sys.executable, "-m", "deita_hf.cli.main",
                               *_array_args(pool_file, out, tiny_chat_llama, "--num-shards", "2",
                                            "--shard-index", str(i))],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(2)]  # two array tasks at the same time, as Slurm starts them
    results = [t.communicate(timeout=180) for t in tasks]
    assert [t.returncode for t in tasks] == [0, 0], [err[-2000:] for _, err in results]
    said = "".join(o for o, _ in results)
    assert said.count(" rows (load with") + said.count("rows scored into") == 1  # one assembled
    assert said.count("is scored (") == 1  # the other one says its shard is done
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the tasks' one thread: identical float sums
    try:
        assert main(_array_args(pool_file, tmp_path / "one", tiny_chat_llama)) == 0
    finally:
        torch.set_num_threads(threads)
    array, one, src = load_pool(out), load_pool(tmp_path / "one"), load_pool(pool_file)
    assert array.column_names == one.column_names
    assert array["instruction"] == src["instruction"]
    assert array["complexity"] == one["complexity"] and array["quality"] == one["quality"]
    settings = json.loads((out / "deita_score.json").read_text(encoding="utf-8"))
    engine = settings["engine"]  # the task that finished last assembled, and says so
    assert engine["name"] == "array" and engine["array_shards"] == 2 and settings["num_shards"] == 7
    assembled = engine["assembled_by"]
    assert f"{out} holds the 20 rows" in results[assembled][0]
    assert f"array shard {1 - assembled} of 2 is scored" in results[1 - assembled][0]
    assert not partial_dir(out).exists() and sorted(p.name for p in tmp_path.glob(".array*")) == []


def test_array_task_killed_before_assembling_then_assemble(pool_file, tmp_path, monkeypatch, capsys):
    out = tmp_path / "scored"
    length = ["score", pool_file, "--output", str(out), "--complexity-scorer", "length",
              "--quality-scorer", "length", "--embedder", "none", "--shard-size", "3",
              "--no-progress", "--num-shards", "3"]
    assert main([*length, "--shard-index", "2"]) == 0  # shards 4..6 of 7
    assert "array shard 2 of 3 is scored" in capsys.readouterr().out and not out.exists()
    assert main([*length, "--assemble"]) == 2  # shards 0..3 are missing
    assert "4 of 7 shards" in capsys.readouterr().err
    seen = {"n": 0}

    def killed_after_last_shard(name):  # array shard 0 (shards 0, 1) dies after its last file
        if name == "score.shard":
            seen["n"] += 1
            if seen["n"] == 2:
                raise KeyboardInterrupt

    monkeypatch.setattr(sharded, "kill_point", killed_after_last_shard)
    assert main([*length, "--shard-index", "0"]) == 130
    monkeypatch.undo()
    assert main([*length, "--shard-index", "1"]) == 0  # the last task: assembles
    assert load_pool(out)["instruction"] == load_pool(pool_file)["instruction"]
    said = capsys.readouterr().out  # the last task scored its 2 shards and wrote the folder
    assert "deita-hf score: 6 rows scored by this run; " in said and " holds the " in said, said
    assert main([*length, "--assemble"]) == 0  # already complete: nothing to do
    assert "already complete: nothing scored" in capsys.readouterr().out


def test_array_run_can_be_finished_in_one_process_and_locks(pool_file, tmp_path, capsys):
    out = tmp_path / "scored"
    base = ["score", pool_file, "--output", str(out), "--complexity-scorer", "length",
            "--quality-scorer", "length", "--embedder", "none", "--shard-size", "4", "--no-progress"]
    with FolderLock(out, name=f"{out.name}.score-00001-of-00002"):  # a running copy of task 1
        assert main([*base, "--num-shards", "2", "--shard-index", "1"]) == 2
        assert "in use" in capsys.readouterr().err
    release = threading.Timer(1.0, lambda: lock.__exit__(None, None, None))
    lock = run_lock(out).__enter__()  # another task holds the run's lock briefly: task 0 waits
    release.start()
    assert main([*base, "--num-shards", "2", "--shard-index", "0"]) == 0  # shards 0, 1 of 5
    release.join()
    shards = partial_dir(out) / "shards"
    done = {p.name: p.stat().st_ino for p in shards.glob("shard-*.parquet")}
    assert sorted(done) == ["shard-00000-of-00005.parquet", "shard-00001-of-00005.parquet"]
    assert main(base) == 0  # the one-process run accepts the array run's partial folder
    for name, ino in done.items():
        assert (out / "data" / name.replace("shard-", "train-")).stat().st_ino == ino


def test_array_flags_are_checked_first(pool_file, tmp_path, capsys):
    base = ["score", pool_file, "--output", str(tmp_path / "o"), "--complexity-scorer", "length",
            "--quality-scorer", "length", "--embedder", "none"]
    for extra, message in ((["--num-shards", "2"], "needs both --num-shards K and --shard-index"),
                           (["--num-shards", "2", "--shard-index", "2"], "must be in 0..1"),
                           (["--num-shards", "0", "--shard-index", "0"], "positive number"),
                           (["--assemble", "--shard-index", "0"], "drop --shard-index")):
        assert main([*base, *extra]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists() and not partial_dir(tmp_path / "o").exists()
