"""Length-controlled win rate: deita_hf's AlpacaEval GLMs vs alpaca_eval's own function, side by side.

On the real AlpacaEval annotations of alpaca-7b vs text_davinci_003 (alpaca_eval_gpt4 judge, 805
instructions; ``../shared/data/preference``, CC BY-NC: never bundled), computes the length-
controlled win rate with :func:`deita_hf.evaluation.stats.win_rate_stats` and with
``alpaca_eval.metrics.glm_winrate.get_length_controlled_winrate`` given the SAME table, for
``length_controlled_v1``, ``length_controlled_noreg`` and ``length_controlled_minimal``, and
prints both and their difference.

The table: ``--table df_gamed.csv`` (AlpacaEval's, from the Hub data set tatsu-lab/alpaca_eval)
when you have it. Without it (this machine has no network), a stand-in built from the data:

- ``instruction_difficulty`` = the z-score of log(characters of text_davinci_003's output) per
  instruction (longer reference answers for harder instructions; no preference is used);
- two "gamed baselines" per instruction (``not_gamed_baseline`` False): a verbose one
  (``std_delta_len`` -1, preference 0.6) and a concise one (``std_delta_len`` +1, preference 0.4).

Both sides read the same file (alpaca_eval's ``hf_hub_download`` is pointed at it), so the
comparison is exact whatever the table; the published leaderboard value (computed by the
AlpacaEval authors with the real table) is printed for reference.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_length_control.py
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import math
import tempfile
import time
import warnings
from pathlib import Path

ANNOTATIONS = (Path(__file__).resolve().parents[2] / "shared" / "data" / "preference"
               / "alpaca_eval_gpt4_annotations_alpaca-7b_vs_text_davinci_003.jsonl.gz")
ESTIMATORS = ("length_controlled_v1", "length_controlled_noreg", "length_controlled_minimal")


def stand_in_table(rows: list[dict], path: Path) -> Path:
    """The documented stand-in for AlpacaEval's df_gamed.csv (see the module docstring)."""
    logs = [math.log(max(1, len(r["output_1"]))) for r in rows]
    mean = sum(logs) / len(logs)
    sd = math.sqrt(sum((x - mean) ** 2 for x in logs) / (len(logs) - 1))
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["model", "index", "preference", "std_delta_len", "instruction_difficulty",
                         "not_gamed_baseline"])
        for name, sdl, pref in (("baseline_verbose", -1.0, 0.6), ("baseline_concise", 1.0, 0.4)):
            for i, x in enumerate(logs):
                writer.writerow([name, i, pref, sdl, repr((x - mean) / sd), "False"])
    return path


def published_lc() -> float | None:
    """alpaca-7b's length_controlled_winrate in alpaca_eval's shipped AlpacaEval 1 leaderboard."""
    try:
        import alpaca_eval
    except ImportError:
        return None
    board = Path(alpaca_eval.__file__).parent / "leaderboards" / "data_AlpacaEval" / "alpaca_eval_gpt4_leaderboard.csv"
    with open(board, newline="") as fh:
        for row in csv.DictReader(fh):
            if row[""] == "alpaca-7b" and row.get("length_controlled_winrate"):
                return float(row["length_controlled_winrate"])
    return None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--annotations", default=str(ANNOTATIONS))
    p.add_argument("--table", default=None, help="AlpacaEval's df_gamed.csv (default: the stand-in)")
    args = p.parse_args()

    import sklearn

    from deita_hf.evaluation.length_control import load_length_control_table
    from deita_hf.evaluation.stats import win_rate_stats

    rows = [json.loads(line) for line in gzip.open(args.annotations, "rt", encoding="utf-8")]
    tmp = Path(tempfile.mkdtemp())
    table_path = Path(args.table) if args.table else stand_in_table(rows, tmp / "df_gamed.csv")
    which = f"AlpacaEval's df_gamed.csv {table_path}" if args.table else "the stand-in built from the data (docstring)"
    print(f"{len(rows)} annotations ({rows[0]['generator_2']} vs {rows[0]['generator_1']}, "
          f"judge {rows[0]['annotator']}); table: {which}")
    table = load_length_control_table(table_path)
    prefs = [None if r["preference"] is None else float({0: 1.5}.get(r["preference"], r["preference"])) - 1
             for r in rows]
    try:
        import alpaca_eval.metrics.glm_winrate as glm
    except ImportError:
        glm = None
        print("alpaca_eval is not installed: only deita_hf's numbers are printed "
              "(pip install alpaca-eval 'setuptools<81')")
    if glm is not None:
        glm.hf_hub_download = lambda **kwargs: str(table_path)
    print(f"\n| estimator | deita_hf LC | alpaca_eval LC | difference | deita_hf SE | alpaca_eval SE | "
          f"SE difference | deita_hf s | alpaca_eval s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    raw = None
    for name in ESTIMATORS:
        start = time.perf_counter()
        ours = win_rate_stats(prefs, output_lengths=[len(r["output_2"]) for r in rows],
                              reference_lengths=[len(r["output_1"]) for r in rows], length_control=name,
                              instruction_index=list(range(len(rows))),
                              length_control_table=None if name.endswith("minimal") else table)
        t_ours = time.perf_counter() - start
        raw = ours
        if glm is None:
            print(f"| {name} | {ours['lc_win_rate']:.10f} | - | - | {ours['lc_standard_error']:.3e} | - | - | "
                  f"{t_ours:.2f} | - |")
            continue
        start = time.perf_counter()
        with warnings.catch_warnings(), sklearn.config_context():
            warnings.simplefilter("ignore")
            theirs = glm.get_length_controlled_winrate(rows, glm_name=name, save_weights_dir=None,
                                                       is_warn_extreme_changes=False)
        t_theirs = time.perf_counter() - start
        lc, se = float(theirs["length_controlled_winrate"]), float(theirs["lc_standard_error"])
        print(f"| {name} | {ours['lc_win_rate']:.10f} | {lc:.10f} | {ours['lc_win_rate'] - lc:.1e} | "
              f"{ours['lc_standard_error']:.6f} | {se:.6f} | {ours['lc_standard_error'] - se:.1e} | "
              f"{t_ours:.2f} | {t_theirs:.2f} |")
    print(f"\nraw win rate {raw['win_rate']:.10f} ± {raw['standard_error']:.6f} (SE), discrete "
          f"{raw['discrete_win_rate']:.10f}, {raw['num_pairs']} pairs")
    if glm is not None:
        theirs = glm.get_winrate(rows)
        print(f"alpaca_eval raw win rate {float(theirs['win_rate']):.10f} ± {float(theirs['standard_error']):.6f}, "
              f"discrete {float(theirs['discrete_win_rate']):.10f}, n_total {int(theirs['n_total'])}")
    pub = published_lc()
    if pub is not None:
        print(f"published length_controlled_winrate of alpaca-7b (AlpacaEval 1 leaderboard, the real table): {pub:.4f}")


if __name__ == "__main__":
    main()
