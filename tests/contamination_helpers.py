"""A real pool with planted, paraphrased MT-Bench questions, and a brute-force n-gram reference
(shared by tests/selection and tests/cli; importable as ``import contamination_helpers``).

Paraphrase: the middle word is replaced, the case changed (upper or lower), commas dropped and
the final punctuation changed. A question of W words keeps an unchanged 13-word run iff
W >= 27 (the middle word has 13 words on each side), so the "long" plants are questions of at
least 27 words and the "short" ones questions of 8 to 25 words (which 13-grams cannot catch once
a word is changed; the embedding method can).
"""

from __future__ import annotations

import json
import string
import unicodedata

import numpy as np
from sample_data import DOLLY, read_jsonl

from deita_hf.data.benchmark_prompts import MT_BENCH_QUESTIONS


def mt_bench_first_turns() -> list[str]:
    with open(MT_BENCH_QUESTIONS, encoding="utf-8") as fh:
        return [json.loads(line)["turns"][0] for line in fh if line.strip()]


def paraphrase(text: str, k: int) -> str:
    words = text.split()
    middle = len(words) // 2
    words[middle] = "quite" if words[middle].lower() != "quite" else "rather"
    out = " ".join(words).replace(",", "")
    out = out.upper() if k % 2 == 0 else out.lower()
    return out.rstrip(".?!") + ("!" if k % 3 else " ...")


def plants(kind: str, n: int) -> list[str]:
    """``n`` paraphrased first turns: ``long`` (>= 27 words) or ``short`` (8 to 25 words)."""
    questions = [q for q in mt_bench_first_turns()
                 if (len(q.split()) >= 27 if kind == "long" else 8 <= len(q.split()) <= 25)]
    return [paraphrase(q, k) for k, q in enumerate(questions[:n])]


def planted_pool(n_dolly: int = 300, n_long: int = 12, n_short: int = 0, seed: int = 0):
    """Real Dolly rows with planted rows at seeded positions: ``(rows, planted indices)``.

    Every row has a ``source`` column: ``dolly``, ``planted-long`` or ``planted-short``.
    """
    rows = [{**r, "source": "dolly"} for r in read_jsonl(DOLLY, n_dolly)]
    extra = [("planted-long", t) for t in plants("long", n_long)] + \
            [("planted-short", t) for t in plants("short", n_short)]
    rng = np.random.default_rng(seed)
    for source, text in extra:
        at = int(rng.integers(0, len(rows) + 1))
        rows.insert(at, {"instruction": text, "category": "planted", "input": "",
                         "output": "A detailed answer to the planted question. " * 40, "source": source})
    planted = [i for i, r in enumerate(rows) if r["source"] != "dolly"]
    return rows, planted


def _norm(text: str) -> list[str]:
    """The normalisation, written character by character (independent of the package's)."""
    text = unicodedata.normalize("NFKC", "".join(c for c in text
                                                 if unicodedata.category(c) != "Cf"))
    kept = [c for c in text.lower()
            if c not in string.punctuation and not unicodedata.category(c).startswith("P")]
    return "".join(kept).split()


def brute_force_matches(turns_per_row: list[list[str]], prompts: list[str], n: int = 13,
                        min_words: int = 8) -> list[int]:
    """Rows one of whose turns contains a prompt n-gram (or a whole short prompt), by plain
    substring search over space-padded word strings."""
    grams = []
    for prompt in prompts:
        w = _norm(prompt)
        if len(w) >= n:
            grams += [" ".join(w[i: i + n]) for i in range(len(w) - n + 1)]
        elif len(w) >= min_words:
            grams.append(" ".join(w))
    hits = []
    for i, turns in enumerate(turns_per_row):
        texts = [f" {' '.join(_norm(t))} " for t in turns]
        if any(f" {g} " in t for t in texts for g in grams):
            hits.append(i)
    return hits


def instruction_of(row: dict) -> str:
    """An Alpaca/Dolly row's user turn, as deita_hf reads it (input after a blank line)."""
    return row["instruction"] + (f"\n\n{row['input']}" if row.get("input") else "")
