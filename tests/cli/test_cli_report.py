"""`deita-hf report DIR [--format md|html] [--output FILE]`."""

from __future__ import annotations

import pytest
from sample_data import build_pool, build_selection, score

from deita_hf.cli.main import main


@pytest.fixture(scope="module")
def plain_folder(tmp_path_factory):
    """A plain select output: data/*.parquet + deita_selection.json, and the pool."""
    import json

    pool = build_pool(n_dolly=40, n_mt_bench=20)
    selected, settings = build_selection(pool, budget=10)
    root = tmp_path_factory.mktemp("cli_report") / "sel"
    (root / "data").mkdir(parents=True)
    (root / "pool").mkdir()
    selected.to_parquet(str(root / "data" / "train-00000-of-00001.parquet"))
    pool.add_column("deita_score", score(pool)).to_parquet(
        str(root / "pool" / "train-00000-of-00001.parquet"))
    (root / "deita_selection.json").write_text(json.dumps(settings))
    return root


def test_report_html(plain_folder, tmp_path, capsys):
    out = tmp_path / "r.html"
    assert main(["report", str(plain_folder), "--format", "html", "--output", str(out)]) == 0
    assert f"Wrote {out}" in capsys.readouterr().out
    html = out.read_text()
    assert "out of a pool of <b>60</b>" in html and html.count("data:image/png;base64,") == 3


def test_report_md_default_output(plain_folder, capsys):
    assert main(["report", str(plain_folder)]) == 0
    text = (plain_folder / "report.md").read_text()
    assert "| DEITA score (per row) | pool |" in text
    assert (plain_folder / "report_figures" / "scores.png").is_file()


def test_report_not_a_selection_folder(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "deita-hf report: error:" in capsys.readouterr().err
