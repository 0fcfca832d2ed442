"""`deita-hf score`: shard-by-shard output, resume after an interruption, settings check."""

import pytest

from deita_hf.cli.main import main
from deita_hf.data.formats import to_turns
from deita_hf.data.loading import load_pool
from deita_hf.errors import IncompleteFolderError
from deita_hf.pipeline.sharded import partial_dir
from deita_hf.scoring import QualityScorer


def _args(pool, out, tiny, *extra):
    return ["score", pool, "--output", str(out), "--complexity-scorer", "length",
            "--quality-scorer", tiny, "--embedder", "none", "--shard-size", "6",
            "--max-length", "512", *extra]


class Killed(Exception):
    pass


def test_score_resumes_and_matches_uninterrupted_run(pool_file, tiny_chat_llama, tmp_path, capsys,
                                                     monkeypatch):
    assert main(_args(pool_file, tmp_path / "ref", tiny_chat_llama)) == 0
    assert "instruction-length [length-baseline] (a stand-in" in capsys.readouterr().out
    ref = load_pool(tmp_path / "ref")
    assert len(list((tmp_path / "ref" / "data").glob("train-*.parquet"))) == 4  # 20 rows / 6
    src = load_pool(pool_file)
    assert ref["instruction"] == src["instruction"]  # original order
    assert ref["complexity"] == [[float(len(to_turns(r)[0][0]))] for r in src]

    # a run that dies in shard 2 (rows 12..17)
    out = tmp_path / "resumed"
    original = QualityScorer.score_texts
    calls = []

    def dying(self, items, where=None):
        if any(src[12]["instruction"] in f["instruction"] for f in items):
            raise Killed("process killed")
        calls.append(len(items))
        return original(self, items, where=where)

    monkeypatch.setattr(QualityScorer, "score_texts", dying)
    with pytest.raises(Killed):
        main(_args(pool_file, out, tiny_chat_llama))
    done = sorted((partial_dir(out) / "shards").glob("shard-*.parquet"))
    assert [p.name for p in done] == ["shard-00000-of-00004.parquet", "shard-00001-of-00004.parquet"]
    stamps = {p.name.replace("shard-", "train-"): p.stat().st_mtime_ns for p in done}

    # the unfinished run is not loadable as if it were complete
    with pytest.raises(IncompleteFolderError, match="unfinished `deita-hf score` run"):
        load_pool(out)
    # other settings into the same folder: refused, with one message (exit code 2)
    capsys.readouterr()
    assert main(_args(pool_file, out, tiny_chat_llama, "--batch-size", "2")) == 2
    assert "other settings" in capsys.readouterr().err

    # resume: only shards 2 and 3 are computed (8 rows), the finished ones are reused
    monkeypatch.setattr(QualityScorer, "score_texts", lambda self, items, where=None: (
        calls.append(len(items)), original(self, items, where=where))[1])
    calls.clear()
    assert main(_args(pool_file, out, tiny_chat_llama)) == 0
    assert sum(calls) == 8
    for name, ns in stamps.items():
        assert (out / "data" / name).stat().st_mtime_ns == ns
    res = load_pool(out)
    assert res["quality"] == ref["quality"] and res["complexity"] == ref["complexity"]
    assert res.column_names == ref.column_names

    # a complete run re-run: nothing recomputed
    calls.clear()
    assert main(_args(pool_file, out, tiny_chat_llama)) == 0 and calls == []
