"""Issue 24: `deita-hf select --output DIR` with DIR refusing new files fails up front, in one
line, before any scorer runs (as `score` does), not after all the work."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from deita_hf.cli.main import main
from deita_hf.errors import ConfigError
from deita_hf.folder.writer import check_output


@pytest.fixture()
def refusing(monkeypatch):
    """Folders that refuse new files (a read-only mount; chmod says nothing to root)."""
    refused: set[Path] = set()
    real = tempfile.mkstemp

    def mkstemp(*args, dir=None, **kwargs):
        if dir is not None and Path(dir).resolve() in refused:
            raise PermissionError(13, "Permission denied")
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    return refused


def test_check_output_probes_an_existing_folder(tmp_path, refusing):
    out = tmp_path / "out"
    out.mkdir()
    assert check_output(out, "selection", overwrite=False) == out
    refusing.add(out.resolve())
    with pytest.raises(ConfigError, match=r"--output '.*out' cannot be written \(PermissionError: "
                                          r"Permission denied\); nothing was computed"):
        check_output(out, "selection", overwrite=True)


def test_select_refuses_an_unwritable_output_before_scoring(tmp_path, refusing, capsys):
    pool = tmp_path / "pool.jsonl"
    pool.write_text("".join(json.dumps({"instruction": f"Question {i}?", "output": "Answer " * i})
                            + "\n" for i in range(1, 6)), encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    refusing.add(out.resolve())
    code = main(["select", str(pool), "--budget", "2", "--output", str(out), "--overwrite",
                 "--complexity-scorer", "length", "--quality-scorer", "length", "--embedder", "none",
                 "--strategy", "random:seed=0", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "cannot be written" in err and "Traceback" not in err, err
    assert list(out.iterdir()) == []
