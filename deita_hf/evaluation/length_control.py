"""Length-controlled win rates: AlpacaEval's GLMs (``length_controlled_v1`` and its relatives).

AlpacaEval 2.0 (Dubois et al. 2024, arXiv:2404.04475; ``alpaca_eval.metrics.glm_winrate``)
fits, per model, a logistic regression of the judge's preference for the model on

    tanh(std_delta_len) + instruction_difficulty + not_gamed_baseline - 1

where ``std_delta_len = (len(reference output) - len(model output)) / sd`` (characters; ``sd``
the sample standard deviation over all the model's pairs), ``instruction_difficulty`` a fixed
per-instruction term estimated by the AlpacaEval authors, and ``not_gamed_baseline`` the model's
own term (1 for its rows). The fit (scikit-learn, as theirs): L1 penalty, ``liblinear``, no
intercept, ``LogisticRegressionCV`` over ten C values with 5-fold ``GroupKFold``, soft labels
(each pair twice, labels 1 and 0 weighted by ``p`` and ``1 - p``, the two copies in one fold),
scored by the weighted log loss. The LC win rate is the mean predicted preference with the
length term at 0, in percent, over every pair of the model (judged or not); its standard error
is the standard error of the mean of those predictions, in percent (``sem() * 100``).

Three estimators, named as in ``alpaca_eval``:

- ``length_controlled_v1`` (the leaderboard's): regularised toward the two length-gamed
  baselines (their annotations, ``not_gamed_baseline = 0``, weighted ``0.2 / 2``, are fitted
  together with the model's). Needs the gamed-baseline table (``df_gamed.csv`` of the Hub data
  set ``tatsu-lab/alpaca_eval``: ``index``, ``instruction_difficulty``, ``preference``,
  ``std_delta_len``, ``not_gamed_baseline``), read from a path or from the Hub.
- ``length_controlled_noreg``: the same formula without the gamed baselines (needs only the
  instruction difficulty per index).
- ``length_controlled_minimal``: ``tanh(std_delta_len) + not_gamed_baseline - 1``, the model's
  rows only, no table; every prediction is the same, so its standard error is 0 by
  construction (as in ``alpaca_eval``).

Pairs are matched to the table by ``index``: the position of the instruction in the AlpacaEval
set (``alpaca_eval`` uses the annotations' row position), given per pair.

Example:
    A model that wins mostly where it writes longer answers (raw win rate 42.5%):

    >>> prefs = [1 if (i % 2 == 0 and i % 6) or i % 7 == 0 else 0 for i in range(40)]
    >>> lengths = [900 if i % 2 == 0 else 300 for i in range(40)]
    >>> r = length_controlled_win_rate(prefs, lengths, [600] * 40)
    >>> r["lc_estimator"], round(r["lc_win_rate"], 1), r["lc_standard_error"]
    ('length_controlled_minimal', 40.8, 0.0)
    >>> round(r["lc_weights"]["np.tanh(std_delta_len)"], 2)   # reference longer -> model loses
    -1.6
"""

from __future__ import annotations

import csv
import inspect
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from deita_hf.errors import ConfigError, InputError, InputNotFoundError

__all__ = [
    "ALPACA_EVAL_SUBSETS", "ESTIMATORS", "GAMED_TABLE_FILE", "GAMED_TABLE_REPO", "LENGTH_CONTROL_CHOICES",
    "LengthControlTable", "choose_length_control", "length_controlled_win_rate", "load_length_control_table",
]

logger = logging.getLogger(__name__)

#: estimator -> (uses the instruction difficulty, weight of the gamed baselines' rows or None)
ESTIMATORS: dict[str, tuple[bool, float | None]] = {
    "length_controlled_v1": (True, 0.2),
    "length_controlled_noreg": (True, None),
    "length_controlled_minimal": (False, None),
}
#: ``--length-control`` names
LENGTH_CONTROL_CHOICES = {"v1": "length_controlled_v1", "noreg": "length_controlled_noreg",
                          "minimal": "length_controlled_minimal"}
#: where ``alpaca_eval`` reads the gamed baselines and the instruction difficulty
GAMED_TABLE_REPO = "tatsu-lab/alpaca_eval"
GAMED_TABLE_FILE = "df_gamed.csv"
#: the names of the GLM's weights, as ``alpaca_eval`` saves them
WEIGHT_NAMES = ("np.tanh(std_delta_len)", "instruction_difficulty", "not_gamed_baseline.astype(float)")
#: the ``dataset`` values of AlpacaEval's 805 instructions (how a reference is recognised as it)
ALPACA_EVAL_SUBSETS = frozenset({"helpful_base", "koala", "oasst", "selfinstruct", "vicuna"})
_N_SPLITS = 5
_OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


@dataclass
class LengthControlTable:
    """The instruction difficulty per index, and the gamed baselines' annotations when known.

    Attributes:
        source: where it was read (a path, or ``hf://datasets/tatsu-lab/alpaca_eval/df_gamed.csv``).
        difficulty: ``{index: instruction_difficulty}`` (the first row of each index).
        rows: the table's annotation rows, in file order, as an array of ``[preference,
            std_delta_len, instruction_difficulty, not_gamed_baseline]`` (None for a
            difficulty-only table).
    """

    source: str
    difficulty: dict[int, float]
    rows: np.ndarray | None = None


def _flag(value: str, where: str) -> float:
    text = value.strip().lower()
    if text in ("true", "1", "1.0"):
        return 1.0
    if text in ("false", "0", "0.0"):
        return 0.0
    raise InputError(f"{where}: not_gamed_baseline must be True or False, got {value!r}.")


def _number(value: str, column: str, where: str) -> float:
    try:
        return float(value) if value.strip() else float("nan")
    except ValueError:
        raise InputError(f"{where}: {column} must be a number, got {value!r}.") from None


def _read_table(path: Path, source: str) -> LengthControlTable:
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        columns = reader.fieldnames or []
        records = list(reader)
    if "instruction_difficulty" not in columns:
        raise InputError(f"The length-control table {source!r} has no 'instruction_difficulty' column "
                         f"(it has {columns}); give AlpacaEval's df_gamed.csv or instruction_difficulty.csv.")
    key = "index" if "index" in columns else columns[0]   # instruction_difficulty.csv: unnamed index
    gamed = {"preference", "std_delta_len", "not_gamed_baseline"} <= set(columns)
    difficulty: dict[int, float] = {}
    rows = []
    for line, rec in enumerate(records, start=2):
        where = f"{source}, line {line}"
        try:
            index = int(float(rec[key]))
        except (TypeError, ValueError):
            raise InputError(f"{where}: {key!r} must be an instruction index, got {rec[key]!r}.") from None
        value = _number(rec["instruction_difficulty"], "instruction_difficulty", where)
        difficulty.setdefault(index, value)
        if gamed:
            rows.append([_number(rec["preference"], "preference", where),
                         _number(rec["std_delta_len"], "std_delta_len", where), value,
                         _flag(rec["not_gamed_baseline"], where)])
    if not difficulty:
        raise InputError(f"The length-control table {source!r} has no rows.")
    return LengthControlTable(source, difficulty, np.array(rows, dtype=float) if gamed else None)


def _offline_variable() -> str | None:
    for name in _OFFLINE_VARIABLES:
        if os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on"):
            return name
    return None


def load_length_control_table(path: str | os.PathLike | None = None, *,
                              estimator: str = "length_controlled_v1") -> LengthControlTable:
    """Read the length-control table from ``path``, or AlpacaEval's from the Hub.

    Args:
        path: a CSV file with ``index`` and ``instruction_difficulty`` (AlpacaEval's
            ``instruction_difficulty.csv``: enough for ``length_controlled_noreg``) and, for
            ``length_controlled_v1``, the gamed baselines' ``preference`` (in [0, 1], for the
            gamed model), ``std_delta_len`` and ``not_gamed_baseline`` (AlpacaEval's
            ``df_gamed.csv``). None: download ``df_gamed.csv`` from the Hub data set
            ``tatsu-lab/alpaca_eval`` (cached by ``huggingface_hub``).
        estimator: the estimator the table is for (named, with the file it needs, when the
            Hub cannot be read).

    Returns:
        The :class:`LengthControlTable`.

    Raises:
        InputNotFoundError: ``path`` does not exist.
        InputError: a required column is missing or a value does not parse (names the line).
        ConfigError: no path, and the Hub cannot be reached (offline variable set, or the
            download failed): says which variable is set and how to give the file instead.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "difficulty.csv"
        >>> _ = p.write_text(",instruction_difficulty\\n0,-1.5\\n1,0.25\\n")
        >>> t = load_length_control_table(p)
        >>> t.difficulty, t.rows is None
        ({0: -1.5, 1: 0.25}, True)
    """
    if path is not None:
        file = Path(path)
        if not file.is_file():
            raise InputNotFoundError(f"--length-control-data {str(path)!r} is not a file.")
        return _read_table(file, str(path))
    source = f"hf://datasets/{GAMED_TABLE_REPO}/{GAMED_TABLE_FILE}"
    noreg = estimator == "length_controlled_noreg"
    files = f"{GAMED_TABLE_FILE} or instruction_difficulty.csv" if noreg else GAMED_TABLE_FILE
    needs = ("the instruction difficulty" if noreg else "the instruction difficulty and the gamed "
             "baselines")
    fix = (f"Download {files} from the Hub data set {GAMED_TABLE_REPO} where a network "
           "is available and pass it with --length-control-data PATH, or use --length-control minimal "
           "(a length-only fit, no table).")
    variable = _offline_variable()
    if variable:
        raise ConfigError(f"The {estimator} win rate (--length-control "
                          f"{'noreg' if noreg else 'v1'}) needs {needs} of AlpacaEval's {files}, and "
                          f"{variable} is set, so it cannot be read from the Hub. {fix}")
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, OfflineModeIsEnabled

    try:
        local = hf_hub_download(repo_id=GAMED_TABLE_REPO, filename=GAMED_TABLE_FILE, repo_type="dataset")
    except (HfHubHTTPError, LocalEntryNotFoundError, OfflineModeIsEnabled, OSError) as err:
        raise ConfigError(f"Could not read {source} ({type(err).__name__}: {err}). {fix}") from err
    return _read_table(Path(local), source)


def choose_length_control(choice: str, data: str | os.PathLike | None, datasets: Sequence[str | None]
                          ) -> tuple[str | None, LengthControlTable | None, str]:
    """The estimator and table of ``--length-control CHOICE [--length-control-data PATH]``.

    Args:
        choice: ``"auto"``, ``"v1"``, ``"noreg"``, ``"minimal"`` or ``"none"``.
        data: the table's path, or None.
        datasets: the reference rows' ``dataset`` values (None where absent).

    Returns:
        ``(estimator or None, table or None, why)``. ``auto``: ``length_controlled_v1`` with
        ``data`` (``length_controlled_noreg`` when it holds only the difficulty); without it,
        v1 with the Hub's table when the reference is AlpacaEval's (every ``dataset`` in
        :data:`ALPACA_EVAL_SUBSETS`) and the Hub can be read, else ``length_controlled_minimal``
        (a warning says why when the Hub was tried).

    Raises:
        ConfigError: an unknown choice, a table given with ``minimal``/``none``, or an
            explicit v1/noreg whose table cannot be read.

    Example:
        >>> choose_length_control("auto", None, [None, None])[0]
        'length_controlled_minimal'
    """
    choices = ("auto", *LENGTH_CONTROL_CHOICES, "none")
    if choice not in choices:
        raise ConfigError(f"--length-control must be one of {', '.join(choices)}, got {choice!r}.")
    if choice != "none" and not _has_sklearn():
        if choice != "auto":
            raise ConfigError(_NO_SKLEARN)
        logger.warning("length control: scikit-learn is not installed, so no length-controlled win rate is "
                       "computed (pip install 'deita_hf[lc]').")
        return None, None, "scikit-learn is not installed"
    if choice in ("minimal", "none"):
        if data is not None:
            raise ConfigError(f"--length-control-data is used by v1 and noreg, not by --length-control {choice}.")
        return (None if choice == "none" else "length_controlled_minimal"), None, choice
    if choice != "auto":
        table = load_length_control_table(data, estimator=LENGTH_CONTROL_CHOICES[choice])
        return LENGTH_CONTROL_CHOICES[choice], table, f"--length-control {choice}"
    if data is not None:
        table = load_length_control_table(data)
        estimator = "length_controlled_v1" if table.rows is not None else "length_controlled_noreg"
        return estimator, table, f"--length-control-data {data}"
    if datasets and all(d in ALPACA_EVAL_SUBSETS for d in datasets) and _offline_variable() is None:
        try:
            return "length_controlled_v1", load_length_control_table(None), "AlpacaEval reference, table from the Hub"
        except (ConfigError, InputError) as err:
            logger.warning("length control: %s Using length_controlled_minimal.", err)
            return "length_controlled_minimal", None, f"the Hub's table could not be read: {err}"
    return "length_controlled_minimal", None, "no instruction-difficulty table (--length-control-data)"


_NO_SKLEARN = ("The length-controlled win rate needs scikit-learn: pip install 'deita_hf[lc]' "
               "(or --length-control none).")


def _has_sklearn() -> bool:
    import importlib.util

    return importlib.util.find_spec("sklearn") is not None


def _soft_log_loss(y_true: np.ndarray, y_pred: np.ndarray, *, true_prob: np.ndarray,
                   true_sample_weight: np.ndarray) -> float:
    """Weighted log loss against the soft label of each duplicated row (the CV score)."""
    target = np.where(y_true == 1, true_prob, 1 - true_prob)
    p = np.clip(y_pred, 1e-15, 1 - 1e-15)
    return float(-np.mean(true_sample_weight * (target * np.log(p) + (1 - target) * np.log(1 - p))))


def _fit(x: np.ndarray, y: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Soft-label L1 logistic regression, C chosen by 5-fold GroupKFold; returns the weights."""
    if not _has_sklearn():
        raise ConfigError(_NO_SKLEARN)
    import sklearn
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.metrics import make_scorer
    from sklearn.model_selection import GroupKFold

    n = len(y)
    rows = np.arange(n)
    prob, w = np.concatenate([y, 1 - y]), np.concatenate([weight, weight])
    # scikit-learn >= 1.8 spells the L1 penalty l1_ratios=(1,) (penalty= is deprecated)
    new_api = "use_legacy_attributes" in inspect.signature(LogisticRegressionCV).parameters
    penalty = {"l1_ratios": (1.0,), "use_legacy_attributes": False} if new_api else {"penalty": "l1"}
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = make_scorer(_soft_log_loss, response_method="predict_proba", greater_is_better=False)
        scorer = scorer.set_score_request(true_prob=True, true_sample_weight=True)
        model = LogisticRegressionCV(cv=GroupKFold(n_splits=_N_SPLITS), scoring=scorer, random_state=123,
                                     dual=False, solver="liblinear", fit_intercept=False, **penalty)
        model.set_fit_request(sample_weight=True)
        model.fit(np.vstack([x, x]), np.concatenate([np.ones(n), np.zeros(n)]), sample_weight=prob * w,
                  groups=np.concatenate([rows, rows]), true_prob=prob, true_sample_weight=w)
    return np.asarray(model.coef_, dtype=float).reshape(-1)


def _nan(estimator: str, why: str) -> dict[str, Any]:
    return {"lc_win_rate": float("nan"), "lc_standard_error": float("nan"), "lc_estimator": estimator,
            "lc_weights": {}, "lc_note": why}


def length_controlled_win_rate(preferences: Sequence[float | None], output_lengths: Sequence[float],
                               reference_lengths: Sequence[float], *,
                               estimator: str = "length_controlled_minimal",
                               instruction_index: Sequence[int] | None = None,
                               table: LengthControlTable | None = None) -> dict[str, Any]:
    """AlpacaEval's length-controlled win rate of one model (see the module docstring).

    Args:
        preferences: per pair, the preference for the model in [0, 1]; None/NaN for a pair
            without a verdict (left out of the fit, kept in the prediction, as AlpacaEval does).
        output_lengths: the model's output length per pair (characters).
        reference_lengths: the reference output's length per pair.
        estimator: ``"length_controlled_v1"``, ``"length_controlled_noreg"`` or
            ``"length_controlled_minimal"``.
        instruction_index: per pair, the instruction's index in ``table`` (v1 and noreg).
        table: :func:`load_length_control_table` output (v1: with the gamed rows).

    Returns:
        ``lc_win_rate`` and ``lc_standard_error`` (percent), ``lc_estimator``, ``lc_weights``
        (the GLM's weights by AlpacaEval's names) and, for v1/noreg, ``lc_table`` (its source).
        NaN (with ``lc_note``) when fewer than 5 pairs are judged (5 folds) or a length
        difference is undefined.

    Raises:
        ConfigError: an unknown estimator, or v1/noreg without the table they need.
        InputError: the inputs differ in length, a preference is outside [0, 1], or an index
            is not in the table (names the pair).
    """
    if estimator not in ESTIMATORS:
        raise ConfigError(f"Unknown length-control estimator {estimator!r}; choose one of {sorted(ESTIMATORS)}.")
    uses_difficulty, gamed_weight = ESTIMATORS[estimator]
    y = np.array([np.nan if p is None else float(p) for p in preferences], dtype=float)
    diff = np.asarray(reference_lengths, dtype=float) - np.asarray(output_lengths, dtype=float)
    n = len(y)
    if len(diff) != n:
        raise InputError(f"preferences ({n}) and the lengths ({len(diff)}) need one value per pair.")
    if np.any((y < 0) | (y > 1)) or not np.all(np.isfinite(diff)):
        raise InputError("preferences must be in [0, 1] (or missing) and the lengths finite numbers.")
    judged = ~np.isnan(y)
    if judged.sum() < _N_SPLITS:
        return _nan(estimator, f"{int(judged.sum())} judged pairs: the 5-fold fit needs at least 5")
    sd = diff.std(ddof=1)
    if not sd > 0:
        return _nan(estimator, "every pair has the same length difference: the length term is undefined")
    length = np.tanh(diff / sd)
    columns = [length]
    out: dict[str, Any] = {}
    if uses_difficulty:
        if table is None or instruction_index is None:
            raise ConfigError(f"{estimator} needs the instruction difficulty table and each pair's instruction "
                              "index (--length-control-data PATH); or use --length-control minimal.")
        if gamed_weight is not None and table.rows is None:
            raise ConfigError(f"{estimator} is regularised toward AlpacaEval's gamed baselines, but "
                              f"{table.source!r} holds only the instruction difficulty (no preference, "
                              f"std_delta_len, not_gamed_baseline columns): give df_gamed.csv, or use "
                              "--length-control noreg.")
        if len(instruction_index) != n:
            raise InputError(f"instruction_index ({len(instruction_index)}) needs one value per pair ({n}).")
        difficulty = []
        for pair, index in enumerate(instruction_index):
            if int(index) not in table.difficulty:
                raise InputError(f"Pair {pair}: instruction index {index} is not in the length-control table "
                                 f"{table.source!r} ({len(table.difficulty)} instructions).")
            difficulty.append(table.difficulty[int(index)])
        columns.append(np.array(difficulty, dtype=float))
        out["lc_table"] = table.source
    columns.append(np.ones(n))
    x, weight = np.column_stack(columns), np.ones(n)
    x_fit, y_fit = x[judged], y[judged]
    weight = weight[judged]
    if gamed_weight is not None:
        g = table.rows[~np.isnan(table.rows[:, 0])]
        gx = np.column_stack([np.tanh(g[:, 1]), g[:, 2], g[:, 3]])
        g_weight = g[:, 3] + gamed_weight * (1 - g[:, 3]) / 2      # two gamed baselines share lambda
        x_fit, y_fit = np.vstack([gx, x_fit]), np.concatenate([g[:, 0], y_fit])
        weight = np.concatenate([g_weight, weight])
    from scipy.special import expit

    coef = _fit(x_fit, y_fit, weight)
    test = x.copy()
    test[:, 0] = 0.0                        # no length difference
    predicted = expit(test @ coef)
    names = [WEIGHT_NAMES[0]] + ([WEIGHT_NAMES[1]] if uses_difficulty else []) + [WEIGHT_NAMES[2]]
    out.update({
        "lc_win_rate": 100 * float(predicted.mean()),
        "lc_standard_error": 100 * float(predicted.std(ddof=1) / math.sqrt(n)),
        "lc_estimator": estimator, "lc_weights": dict(zip(names, map(float, coef)))})
    return out
