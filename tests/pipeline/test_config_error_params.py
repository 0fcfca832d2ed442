"""Issue 21: library errors name parameters (``embedder``, ``shard_size``), the CLI names its
flags (``--embedder``, ``--shard-size``), from the one error handler."""

from __future__ import annotations

import pickle

import pytest

from deita_hf.cli.main import error_message, main
from deita_hf.errors import ConfigError
from deita_hf.pipeline.config import ScoreConfig, SelectionConfig
from deita_hf.pipeline.run_select import run_selection


def test_python_messages_name_parameters(tmp_path):
    pool = str(tmp_path / "pool.jsonl")
    with pytest.raises(ConfigError, match=r"^budget must be a positive number of rows, got 0\.$"):
        SelectionConfig(input=pool, budget=0, output="o").check()
    with pytest.raises(ConfigError, match=r"^budget is required: the most rows to select\.$"):
        SelectionConfig(input=pool, output="o").check()
    with pytest.raises(ConfigError, match=r"^shard_size must be a positive") as err:
        ScoreConfig(input=pool, output="o", shard_size=0).check()
    assert err.value.params == ("shard_size",)
    with pytest.raises(ConfigError, match=r"^num_workers only applies to engine ray; add engine "
                                          r"ray or drop it\.$") as err:
        ScoreConfig(input=pool, output="o", num_workers=2).check()
    assert err.value.params == ("num_workers", "engine")
    with pytest.raises(ConfigError, match=r"^batch_size and max_length must be positive"):
        SelectionConfig(input=pool, budget=1, output="o", max_length=0).check()
    with pytest.raises(ConfigError, match=r"^embedder: '/nowhere' is a local path that does not "
                                          r"exist\.") as err:
        run_selection(SelectionConfig(input=pool, budget=1, output=str(tmp_path / "o"),
                                      complexity_scorer="length", quality_scorer="length",
                                      embedder="/nowhere"))
    assert err.value.params == ("embedder",)
    assert "--" not in str(err.value)


def test_the_cli_names_the_flags(tmp_path, capsys):
    pool = str(tmp_path / "pool.jsonl")
    assert main(["select", pool, "--budget", "0", "--output", "o"]) == 2
    assert capsys.readouterr().err.strip() == (
        "deita-hf select: error: --budget must be a positive number of rows, got 0.")
    assert main(["select", pool, "--output", "o"]) == 2
    assert "error: --budget is required: the most rows to select." in capsys.readouterr().err
    assert main(["select", "--budget", "2", "--output", "o"]) == 2
    assert "error: INPUT (the first argument) is required" in capsys.readouterr().err
    assert main(["score", pool, "--output", "o", "--shard-size", "0"]) == 2
    assert "error: --shard-size must be a positive" in capsys.readouterr().err
    assert main(["score", pool, "--output", "o", "--gpus-per-worker", "1"]) == 2
    assert ("error: --gpus-per-worker only applies to --engine ray; add --engine ray or drop it."
            in capsys.readouterr().err)
    assert main(["select", pool, "--budget", "1", "--output", str(tmp_path / "o"),
                 "--complexity-scorer", "length", "--quality-scorer", "length", "--embedder",
                 "/nowhere"]) == 2
    assert "error: --embedder: '/nowhere' is a local path" in capsys.readouterr().err


def test_error_message_rewrites_only_whole_parameter_names():
    err = ConfigError("max_length must be positive; see max_lengths and --max_length_x.",
                      param="max_length")
    assert error_message(err) == ("--max-length must be positive; see max_lengths and "
                                  "--max_length_x.")
    assert error_message(ConfigError("budget is bad.")) == "budget is bad."  # no param: as is
    copy = pickle.loads(pickle.dumps(ConfigError("x", param="budget")))  # Ray workers pickle
    assert str(copy) == "x" and isinstance(copy, ConfigError)
