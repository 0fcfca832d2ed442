"""render_report: Markdown and HTML reports of a selection folder."""

from __future__ import annotations

import base64
import io
import re

import pytest

from deita_hf.hub import render_report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_markdown_report_has_the_card_statistics_and_figures(folder, tmp_path):
    out = render_report(folder, output=tmp_path / "rep.md")
    text = out.read_text()
    card = (folder / "README.md").read_text()
    stats_rows = [line for line in card.splitlines() if line.startswith("| DEITA score")]
    assert len(stats_rows) == 2 and all(row in text for row in stats_rows)
    assert "| dolly |" in text and "### Diversity" in text
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert links == ["rep_figures/scores.png", "rep_figures/max_similarity.png",
                     "rep_figures/lengths.png"]
    for link in links:
        assert (tmp_path / link).read_bytes()[:8] == PNG_SIGNATURE


def test_html_report_is_self_contained(folder, tmp_path):
    import matplotlib.image as mpimg

    out = render_report(folder, format="html", output=tmp_path / "rep.html")
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") and "</html>" in html
    assert "hkust-nlp/deita-quality-scorer" in html
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(images) == 3
    for data in images:
        raw = base64.b64decode(data)
        assert raw[:8] == PNG_SIGNATURE
        assert mpimg.imread(io.BytesIO(raw), format="png").ndim == 3
    # row text is escaped in HTML
    assert "<script" not in html


def test_report_default_output_and_errors(folder, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    assert render_report(copy) == copy / "report.md"
    with pytest.raises(ValueError, match="format must be one of"):
        render_report(copy, format="pdf")
    with pytest.raises(FileNotFoundError, match="no deita_selection.json"):
        render_report(tmp_path)
