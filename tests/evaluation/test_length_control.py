"""AlpacaEval's length-controlled win rates: ours against alpaca_eval's own function (when it is
installed; numbers pinned from it otherwise), the table reader, the Hub/offline rules and the
choice of estimator."""

from __future__ import annotations

import math

import lc_data
import numpy as np
import pytest

from deita_hf.errors import ConfigError, InputError, InputNotFoundError
from deita_hf.evaluation import length_control
from deita_hf.evaluation.length_control import (
    choose_length_control,
    length_controlled_win_rate,
    load_length_control_table,
)
from deita_hf.evaluation.stats import win_rate_stats

# Pinned from alpaca_eval 0.6.6 (scikit-learn 1.9.1): alpaca_eval.metrics.glm_winrate.
# get_length_controlled_winrate(lc_data.annotations(), glm_name=NAME, save_weights_dir=None) with its
# hf_hub_download patched to return lc_data.write_gamed_table(...): (win_rate, length_controlled_winrate,
# lc_standard_error, discrete_win_rate, n_total). The test below recomputes them with alpaca_eval when
# it is importable and checks the pins too.
PINNED = {
    "length_controlled_v1": (60.355619091965075, 55.00307774161859, 1.323729193765632, 60.322580645161295, 155),
    "length_controlled_noreg": (60.355619091965075, 54.89512942401428, 1.419732173328306, 60.322580645161295, 155),
    "length_controlled_minimal": (60.355619091965075, 55.526041652421796, 8.804641301797747e-16,
                                  60.322580645161295, 155),
}


def _alpaca_eval_numbers(monkeypatch, table_path, name):
    try:
        import alpaca_eval.metrics.glm_winrate as glm
    except ImportError:
        return None
    import sklearn

    monkeypatch.setattr(glm, "hf_hub_download", lambda **kwargs: str(table_path))
    with sklearn.config_context():   # it turns metadata routing on globally: leave the session as it was
        out = glm.get_length_controlled_winrate(lc_data.annotations(), glm_name=name, save_weights_dir=None,
                                                is_warn_extreme_changes=False)
    return (float(out["win_rate"]), float(out["length_controlled_winrate"]), float(out["lc_standard_error"]),
            float(out["discrete_win_rate"]), int(out["n_total"]))


def _ours(table, name):
    rows = lc_data.annotations()
    prefs = [None if r["preference"] is None else r["preference"] - 1 for r in rows]
    return win_rate_stats(prefs, output_lengths=[len(r["output_2"]) for r in rows],
                          reference_lengths=[len(r["output_1"]) for r in rows], length_control=name,
                          instruction_index=list(range(len(rows))), length_control_table=table)


@pytest.mark.filterwarnings("ignore::FutureWarning:sklearn")      # alpaca_eval's own sklearn calls
@pytest.mark.filterwarnings("ignore:pkg_resources is deprecated")
@pytest.mark.parametrize("name", sorted(PINNED))
def test_equals_alpaca_eval(monkeypatch, tmp_path, name):
    path = lc_data.write_gamed_table(tmp_path / "df_gamed.csv")
    expected = _alpaca_eval_numbers(monkeypatch, path, name)
    if expected is None:        # alpaca_eval not installed: the numbers it gave
        expected = PINNED[name]
    else:
        assert expected == pytest.approx(PINNED[name], rel=1e-9, abs=1e-9)
    table = None if name == "length_controlled_minimal" else load_length_control_table(path)
    got = _ours(table, name)
    assert got["lc_estimator"] == name
    assert (got["win_rate"], got["lc_win_rate"], got["lc_standard_error"], got["discrete_win_rate"],
            got["num_pairs"]) == pytest.approx(expected, rel=1e-9, abs=1e-9)
    assert got["standard_error"] > 0 and set(got["lc_weights"]) >= {"np.tanh(std_delta_len)",
                                                                      "not_gamed_baseline.astype(float)"}


def test_v1_prediction_is_the_mean_of_its_glm_and_its_se_the_sem(tmp_path):
    """An independent construction from the returned weights: predict every pair at zero length
    difference, average, and take the standard error of that mean."""
    path = lc_data.write_gamed_table(tmp_path / "df_gamed.csv")
    got = _ours(load_length_control_table(path), "length_controlled_v1")
    w = got["lc_weights"]
    eta = w["instruction_difficulty"] * lc_data.difficulty() + w["not_gamed_baseline.astype(float)"]
    p = 1 / (1 + np.exp(-eta))
    assert got["lc_win_rate"] == pytest.approx(100 * p.mean(), rel=1e-12)
    assert got["lc_standard_error"] == pytest.approx(100 * p.std(ddof=1) / math.sqrt(len(p)), rel=1e-9)
    # the gamed rows pull it: the regularised fit differs from the unregularised one
    assert got["lc_win_rate"] != pytest.approx(_ours(load_length_control_table(path),
                                                     "length_controlled_noreg")["lc_win_rate"], abs=1e-3)


def test_minimal_removes_a_pure_length_effect():
    rng = np.random.default_rng(0)
    n = 3000
    diff = rng.normal(300.0, 400.0, size=n)          # the model writes longer answers
    p = 1 / (1 + np.exp(-(0.4 + 1.5 * np.tanh(diff / diff.std(ddof=1)))))
    y = (rng.random(n) < p).astype(float)
    r = length_controlled_win_rate(y, 1000 + diff, np.full(n, 1000.0))
    truth = 100 / (1 + math.exp(-0.4))
    assert 100 * y.mean() > truth + 5                 # the raw rate rewards the longer answers ...
    assert abs(r["lc_win_rate"] - truth) < 2.5        # ... the length-controlled one does not
    assert r["lc_weights"]["np.tanh(std_delta_len)"] == pytest.approx(-1.5, abs=0.3)  # reference minus model
    assert r["lc_standard_error"] == pytest.approx(0, abs=1e-9)   # one prediction for every pair


def test_edge_cases_are_nan_with_a_note_not_invented():
    few = length_controlled_win_rate([1, 0, 1, None], [1, 2, 3, 4], [2, 2, 2, 2])
    assert math.isnan(few["lc_win_rate"]) and "at least 5" in few["lc_note"]
    same = length_controlled_win_rate([1, 0, 1, 1, 0, 1], [5] * 6, [3] * 6)
    assert math.isnan(same["lc_win_rate"]) and "same length difference" in same["lc_note"]
    with pytest.raises(InputError):
        length_controlled_win_rate([1.5] * 6, [1] * 6, [2] * 6)
    with pytest.raises(ConfigError, match="Unknown length-control estimator"):
        length_controlled_win_rate([1] * 6, list(range(6)), [2] * 6, estimator="v2")


def test_table_reader_and_what_each_estimator_needs(tmp_path):
    gamed = load_length_control_table(lc_data.write_gamed_table(tmp_path / "df_gamed.csv"))
    assert gamed.rows.shape == (2 * lc_data.N, 4) and len(gamed.difficulty) == lc_data.N
    assert gamed.difficulty[3] == pytest.approx(lc_data.difficulty()[3])
    only = load_length_control_table(lc_data.write_gamed_table(tmp_path / "d.csv", gamed=False))
    assert only.rows is None and only.difficulty[7] == pytest.approx(lc_data.difficulty()[7])
    args = ([1, 0] * 5, list(range(100, 110)), [104] * 10)
    with pytest.raises(ConfigError, match="holds only the instruction difficulty"):
        length_controlled_win_rate(*args, estimator="length_controlled_v1", instruction_index=range(10), table=only)
    with pytest.raises(ConfigError, match="needs the instruction difficulty table"):
        length_controlled_win_rate(*args, estimator="length_controlled_noreg")
    with pytest.raises(InputError, match="Pair 9: instruction index 900"):
        length_controlled_win_rate(*args, estimator="length_controlled_noreg",
                                   instruction_index=[*range(9), 900], table=only)
    bad = tmp_path / "bad.csv"
    bad.write_text("index,instruction_difficulty\n0,hard\n")
    with pytest.raises(InputError, match="line 2: instruction_difficulty must be a number"):
        load_length_control_table(bad)
    (tmp_path / "none.csv").write_text("index,score\n0,1\n")
    with pytest.raises(InputError, match="no 'instruction_difficulty' column"):
        load_length_control_table(tmp_path / "none.csv")
    with pytest.raises(InputNotFoundError):
        load_length_control_table(tmp_path / "missing.csv")


@pytest.mark.parametrize("variable", ["HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"])
def test_offline_error_names_the_variable_set(monkeypatch, variable):
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, "1")
    with pytest.raises(ConfigError, match=f"{variable} is set.*--length-control-data PATH"):
        load_length_control_table(None)


def test_the_hub_table_is_read_when_online(monkeypatch, tmp_path):
    path = lc_data.write_gamed_table(tmp_path / "df_gamed.csv")
    asked = []

    def download(**kwargs):
        asked.append(kwargs)
        return str(path)

    import huggingface_hub

    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", download)
    table = load_length_control_table(None)
    assert asked == [{"repo_id": "tatsu-lab/alpaca_eval", "filename": "df_gamed.csv", "repo_type": "dataset"}]
    assert table.source == "hf://datasets/tatsu-lab/alpaca_eval/df_gamed.csv" and table.rows is not None
    # auto: v1 for AlpacaEval's instructions only
    assert choose_length_control("auto", None, ["koala", "oasst"])[0] == "length_controlled_v1"
    assert choose_length_control("auto", None, ["koala", None])[0] == "length_controlled_minimal"
    assert len(asked) == 2


def test_auto_choice(tmp_path, monkeypatch, caplog):
    gamed = lc_data.write_gamed_table(tmp_path / "df_gamed.csv")
    only = lc_data.write_gamed_table(tmp_path / "d.csv", gamed=False)
    assert choose_length_control("auto", gamed, [None])[0] == "length_controlled_v1"
    assert choose_length_control("auto", only, [None])[0] == "length_controlled_noreg"
    assert choose_length_control("none", None, [None])[0] is None
    # offline and AlpacaEval's instructions: minimal, without trying the Hub
    monkeypatch.setattr(length_control, "load_length_control_table",
                        lambda path: pytest.fail("the Hub must not be tried offline"))
    assert choose_length_control("auto", None, ["koala"])[0] == "length_controlled_minimal"
    monkeypatch.undo()
    with pytest.raises(ConfigError, match="HF_HUB_OFFLINE is set"):
        choose_length_control("v1", None, ["koala"])
    with pytest.raises(ConfigError, match="not by --length-control minimal"):
        choose_length_control("minimal", gamed, [None])
    with pytest.raises(ConfigError, match="must be one of"):
        choose_length_control("v2", None, [None])


def test_without_scikit_learn(monkeypatch, caplog):
    monkeypatch.setattr(length_control, "_has_sklearn", lambda: False)
    with caplog.at_level("WARNING"):
        assert choose_length_control("auto", None, [None]) == (None, None, "scikit-learn is not installed")
    assert "pip install 'deita_hf[lc]'" in caplog.text
    with pytest.raises(ConfigError, match=r"needs scikit-learn: pip install 'deita_hf\[lc\]'"):
        choose_length_control("minimal", None, [None])
    with pytest.raises(ConfigError, match="needs scikit-learn"):
        length_controlled_win_rate([1, 0] * 5, list(range(10)), [4] * 10)
    assert choose_length_control("none", None, [None])[0] is None
