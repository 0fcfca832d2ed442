"""``--export alpaca_eval``: AlpacaEval's model_outputs.json, annotations.json and leaderboard row,
read back with alpaca_eval's own loader and metrics (when installed) and against a direct
computation from the stored judgments."""

from __future__ import annotations

import csv
import json

import lc_data
import numpy as np
import pytest
from eval_helpers import answer_in, read_jsonl_file

from deita_hf.cli.main import main
from deita_hf.evaluation.alpaca_export import LEADERBOARD_FIELDS, export_alpaca_eval
from deita_hf.evaluation.benchmark_data import load_reference_outputs


def _judge(body, path):
    """Prefers the longer answer; a tie now and then; no verdict for one prompt."""
    prompt = body["messages"][1]["content"]
    a, b = answer_in(prompt, "A"), answer_in(prompt, "B")
    if "Answer 3:" in prompt and a.startswith("Answer"):
        return "I cannot tell."
    if abs(len(a) - len(b)) < 60:
        return "[[C]]"
    return "[[A]]" if len(a) > len(b) else "[[B]]"


@pytest.fixture(scope="module")
def exported(tmp_path_factory, reference_file):
    from helpers.openai_server import ScriptedOpenAIServer

    tmp = tmp_path_factory.mktemp("export")
    rows = load_reference_outputs(reference_file)
    outputs = tmp / "model_outputs.json"
    outputs.write_text(json.dumps([{"instruction": r["instruction"], "output": f"Answer {i}: " + "y" * (70 * i),
                                    "generator": "my-model"} for i, r in enumerate(rows)]))
    table = lc_data.write_gamed_table(tmp / "df_gamed.csv")
    with ScriptedOpenAIServer(_judge) as server:
        assert main(["eval", "--answers", str(outputs), "--benchmark", "win_rate", "--reference", str(reference_file),
                     "--judge", f"openai:{server.url}#judge", "--output", str(tmp / "wr"), "--judge-retries", "0",
                     "--length-control-data", str(table), "--export", "alpaca_eval", "--no-progress"]) == 0
    return {"dir": tmp / "wr", "table": table, "rows": rows,
            "results": json.loads((tmp / "wr" / "results.json").read_text())}


def _leaderboard(folder):
    with open(folder / "alpaca_eval" / "leaderboard.csv", newline="") as fh:
        header, row = list(csv.reader(fh))
    return header, row


def test_files_and_the_leaderboard_row_equal_a_direct_computation(exported):
    folder, m = exported["dir"], exported["results"]["metrics"]
    header, row = _leaderboard(folder)
    assert header == ["", *LEADERBOARD_FIELDS] and row[0] == "my-model"
    got = dict(zip(LEADERBOARD_FIELDS, row[1:]))
    judged = read_jsonl_file(folder / "judgments.jsonl")
    prefs = np.array([j["preference"] for j in judged if j["preference"] is not None])
    assert len(prefs) == 7 and m["num_missing_pairs"] == 1
    assert float(got["win_rate"]) == pytest.approx(100 * prefs.mean())
    assert float(got["standard_error"]) == pytest.approx(100 * prefs.std(ddof=1) / np.sqrt(len(prefs)))
    assert (int(got["n_wins"]), int(got["n_wins_base"]), int(got["n_draws"]), int(got["n_total"])) == (
        int((prefs > 0.5).sum()), int((prefs < 0.5).sum()), int((prefs == 0.5).sum()), 7)
    outputs = json.loads((folder / "alpaca_eval" / "model_outputs.json").read_text())
    assert int(got["avg_length"]) == int(np.mean([len(o["output"]) for o in outputs]))
    assert got["mode"] == "community" and got["lc_estimator"] == "length_controlled_v1"
    assert float(got["length_controlled_winrate"]) == pytest.approx(m["lc_win_rate"])
    annotations = json.loads((folder / "alpaca_eval" / "annotations.json").read_text())
    assert [a["output_2"] for a in annotations] == [o["output"] for o in outputs]
    assert [a["output_1"] for a in annotations] == [r["output"] for r in exported["rows"]]
    assert sum(a["preference"] is None for a in annotations) == 1
    assert {a["generator_2"] for a in annotations} == {"my-model"} and annotations[0]["annotator"] == "judge"


@pytest.mark.filterwarnings("ignore::FutureWarning:sklearn")
@pytest.mark.filterwarnings("ignore:pkg_resources is deprecated")
def test_alpaca_eval_reads_the_files_and_gives_the_same_row(exported, monkeypatch):
    pytest.importorskip("alpaca_eval", reason="the alpaca_eval extra (in `test`) is not installed")
    import sklearn
    from alpaca_eval import utils
    from alpaca_eval.metrics import glm_winrate

    folder = exported["dir"] / "alpaca_eval"
    outputs = utils.load_or_convert_to_dataframe(folder / "model_outputs.json")   # alpaca_eval's own loader
    assert list(outputs.columns[:3]) == ["instruction", "output", "generator"] and len(outputs) == 8
    annotations = utils.load_or_convert_to_dataframe(folder / "annotations.json")
    monkeypatch.setattr(glm_winrate, "hf_hub_download", lambda **kwargs: str(exported["table"]))
    with sklearn.config_context():
        theirs = glm_winrate.get_length_controlled_winrate(annotations, save_weights_dir=None,
                                                           is_warn_extreme_changes=False)
    _, row = _leaderboard(exported["dir"])
    got = dict(zip(LEADERBOARD_FIELDS, row[1:]))
    for key in ("win_rate", "standard_error", "discrete_win_rate", "length_controlled_winrate", "lc_standard_error"):
        assert float(got[key]) == pytest.approx(float(theirs[key]), rel=1e-9, abs=1e-9), key
    for key in ("n_wins", "n_wins_base", "n_draws", "n_total"):
        assert int(got[key]) == int(theirs[key]), key
    assert int(got["avg_length"]) == int(outputs["output"].str.len().mean())


def test_export_later_and_without_v1(exported, tmp_path, capsys):
    import shutil

    copy = tmp_path / "wr"
    shutil.copytree(exported["dir"], copy)
    results = json.loads((copy / "results.json").read_text())
    results["metrics"]["lc_estimator"] = "length_controlled_minimal"
    (copy / "results.json").write_text(json.dumps(results))
    assert main(["eval", "--output", str(copy), "--export", "alpaca_eval", "--model-name", "mine"]) == 0
    assert "has no length_controlled_winrate: the run used length_controlled_minimal" in capsys.readouterr().err
    header, row = _leaderboard(copy)
    got = dict(zip(LEADERBOARD_FIELDS, row[1:]))
    assert row[0] == "mine" and got["length_controlled_winrate"] == "" and got["lc_estimator"] == \
        "length_controlled_minimal"
    (copy / "results.json").write_text(json.dumps({**results, "benchmark": "mt_bench"}))
    with pytest.raises(Exception, match="needs a win-rate run"):
        export_alpaca_eval(copy)
