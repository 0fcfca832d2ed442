"""`deita-hf score`'s scale-out flags: checked before anything loads, and `--engine ray` without
Ray installed says how to install it (one line, exit 2)."""

import sys

import pytest

from deita_hf.cli.main import main
from deita_hf.errors import ConfigError
from deita_hf.pipeline.ray_engine import RAY_INSTALL, require_ray, score_on_ray
from deita_hf.pipeline.score_run import partial_dir

LENGTH = ["--complexity-scorer", "length", "--quality-scorer", "length", "--embedder", "none"]


@pytest.fixture
def no_ray(monkeypatch):
    """Ray hidden from this process: ``import ray`` raises ImportError."""
    monkeypatch.setitem(sys.modules, "ray", None)
    monkeypatch.setitem(sys.modules, "ray.data", None)


def test_engine_ray_without_ray_says_how_to_install_it(no_ray, pool_file, tmp_path, capsys):
    out = tmp_path / "scored"
    assert main(["score", pool_file, "--output", str(out), *LENGTH, "--engine", "ray"]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("deita-hf score: error: --engine ray needs Ray")
    assert RAY_INSTALL == "pip install 'deita_hf[ray]'" and RAY_INSTALL in err
    assert not out.exists() and not partial_dir(out).exists()
    with pytest.raises(ConfigError, match=r"pip install 'deita_hf\[ray\]'"):
        require_ray()
    with pytest.raises(ConfigError, match=r"pip install 'deita_hf\[ray\]'"):
        score_on_ray(pool_file, [], output_dir=out)
    # the local engine needs no Ray
    assert main(["score", pool_file, "--output", str(out), *LENGTH, "--no-progress"]) == 0


@pytest.mark.parametrize(("extra", "message"), [
    (["--address", "auto"], "--address only applies to --engine ray"),
    (["--num-workers", "2", "--gpus-per-worker", "1"],
     "--num-workers, --gpus-per-worker only apply to --engine ray"),
    (["--engine", "ray", "--num-shards", "2", "--shard-index", "0"], "Ray schedules the shards"),
    (["--engine", "ray", "--assemble"], "Ray schedules the shards"),
    (["--engine", "ray", "--num-workers", "0"], "--num-workers must be a positive number"),
    (["--engine", "ray", "--gpus-per-worker", "-1"], "--gpus-per-worker must be 0 or more"),
])
def test_scale_out_flags_that_do_not_fit_together(extra, message, pool_file, tmp_path, capsys):
    out = tmp_path / "scored"
    assert main(["score", pool_file, "--output", str(out), *LENGTH, *extra]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists() and not partial_dir(out).exists()
