"""Decontamination against MT-Bench (and files of prompts) on real Dolly rows with planted,
paraphrased MT-Bench questions; checked against a brute-force n-gram reference."""

from __future__ import annotations

import json

import numpy as np
import pytest
from contamination_helpers import (
    brute_force_matches,
    instruction_of,
    mt_bench_first_turns,
    planted_pool,
)
from datasets import Dataset
from sample_data import MT_BENCH_QUESTIONS, TEST_DATA

import deita_hf
from deita_hf.data.benchmark_prompts import load_prompt_sets, parse_benchmark_spec
from deita_hf.errors import ConfigError, InputError, InputNotFoundError
from deita_hf.pipeline import DatasetSelector
from deita_hf.scoring import InstructionLengthScorer, ResponseLengthScorer
from deita_hf.selection.decontamination import Decontaminator, decontaminate, find_contamination
from deita_hf.selection.dispatch import select
from deita_hf.selection.ngram_overlap import NgramIndex, normalize_words


@pytest.fixture(scope="module")
def planted():
    rows, planted = planted_pool(n_dolly=300, n_long=12)
    return Dataset.from_list(rows), planted, rows


@pytest.fixture(scope="module")
def mt_bench_prompts():
    return load_prompt_sets("mt_bench")[0].prompts


def test_planted_rows_are_dropped_and_nothing_else(planted, mt_bench_prompts):
    ds, planted_rows, rows = planted
    report = find_contamination(ds, "mt_bench", progress=False)
    reference = brute_force_matches([[instruction_of(r)] for r in rows], mt_bench_prompts)
    assert report.dropped_rows == reference == planted_rows  # no real Dolly row matches
    assert report.counts() == {"mt_bench": 12}
    d = report.to_dict()
    assert d["pool_rows"] == 312 and d["dropped"] == 12 and d["kept"] == 300
    bench = d["benchmarks"]["mt_bench"]
    assert bench["prompts"] == 160 and bench["rows"] == 12 and len(bench["examples"]) == 3
    first = bench["examples"][0]
    assert first["row"] == planted_rows[0] and first["turn"] == 1
    assert first["match"].startswith("13-gram: '") and first["prompt_id"].startswith("question ")
    assert first["text"] == " ".join(rows[planted_rows[0]]["instruction"].split())
    assert d["compared"].startswith("every user turn") and d["threshold"] is None


def test_select_fills_the_budget_from_the_rows_left(planted):
    ds, planted_rows, _ = planted
    out, stats = select(ds, 300, "random:seed=0", decontaminate="mt_bench", return_stats=True)
    assert len(out) == 300 and set(out["source"][:]) == {"dolly"}  # every real row, none planted
    assert stats.pool_size == 300 and stats.decontamination["dropped"] == 12
    assert stats.to_dict()["decontamination"]["benchmarks"]["mt_bench"]["rows"] == 12
    again = select(ds, 40, "random:seed=0", decontaminate="mt_bench")
    clean = ds.select([i for i in range(len(ds)) if i not in set(planted_rows)])
    assert again["instruction"][:] == select(clean, 40, "random:seed=0")["instruction"][:]


def test_dataset_selector_decontaminates_before_deita(planted):
    ds, _, _ = planted
    rng = np.random.default_rng(0)
    ds = ds.add_column("embedding", rng.normal(size=(len(ds), 8)).tolist())
    selector = DatasetSelector(InstructionLengthScorer(), ResponseLengthScorer(), None)
    scored = selector.score(ds, progress=False, warn=False)
    out, stats = selector.select(scored, 50, decontaminate="mt_bench", progress=False,
                                 return_stats=True)
    assert len(out) == 50 and "planted-long" not in out["source"][:]
    assert stats.decontamination["dropped"] == 12
    # without decontamination the long planted questions are among the highest scores
    plain = selector.select(scored, 50, progress=False)
    assert "planted-long" in plain["source"][:]
    kept, report = selector.decontaminate(ds, "mt_bench", progress=False)
    assert len(kept) == 300 and report.counts() == {"mt_bench": 12}
    # ds.select_deita(..., decontaminate=...): the same rows as the selector and as a
    # selection on the clean rows, with the report in the stats
    mine, mine_stats = scored.select_deita(50, decontaminate="mt_bench", progress=False,
                                           return_stats=True)
    assert mine["instruction"][:] == out["instruction"][:]
    assert mine_stats.decontamination == stats.decontamination
    clean = scored.select([i for i in range(len(scored)) if i not in set(report.dropped_rows)])
    assert mine["instruction"][:] == deita_hf.select_deita(clean, 50, progress=False)[
        "instruction"][:]


def test_short_paraphrases_need_the_embedding_method(minilm):
    rows, planted_rows = planted_pool(n_dolly=80, n_long=3, n_short=6, seed=1)
    ds = Dataset.from_list(rows)
    short = [i for i in planted_rows if rows[i]["source"] == "planted-short"]
    long_ = [i for i in planted_rows if rows[i]["source"] == "planted-long"]
    by_ngram = find_contamination(ds, "mt_bench", progress=False)
    assert by_ngram.dropped_rows == long_  # the documented limit: a changed word in < 27 words
    kept, report = decontaminate(ds, "mt_bench", method="both", embedder=minilm,
                                 progress=False)
    assert report.dropped_rows == planted_rows  # all plants, no real row at cosine 0.9
    assert len(kept) == 80 and set(kept["source"][:]) == {"dolly"}
    how = {row: found[0]["match"] for row, found in report.matches.items()}
    assert sorted(r for r, m in how.items() if m.startswith("cosine ")) == short
    assert all(float(how[r][7:]) >= 0.9 for r in short)
    assert report.to_dict()["embedder"]["name"] == "sentence-transformers/all-MiniLM-L6-v2"


@pytest.fixture(scope="module")
def minilm():
    from deita_hf.components import build_component

    return build_component("embedding", "minilm")


def test_every_user_turn_is_compared():
    rows = [json.loads(line) for line in (TEST_DATA / MT_BENCH_QUESTIONS).read_text(
        encoding="utf-8").splitlines()]
    second = rows[0]["turns"][1]  # "Rewrite your previous response. Start every sentence..."
    ds = Dataset.from_dict({"messages": [
        [{"role": "system", "content": rows[5]["turns"][0]},  # a system prompt is not compared
         {"role": "user", "content": "Tell me about Hawaii."},
         {"role": "assistant", "content": "It is a US state."},
         {"role": "user", "content": second.upper()},
         {"role": "assistant", "content": "A..."}],
        [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]]})
    report = find_contamination(ds, "mt_bench", progress=False)
    assert report.dropped_rows == [0]
    match = report.matches[0][0]
    assert match["turn"] == 2 and match["prompt_id"] == "question 81, turn 2"
    assert match["match"].startswith("whole prompt: ")  # 12 words: matched whole


def test_prompt_files_and_specs(tmp_path):
    sets = load_prompt_sets(f"mt_bench,{TEST_DATA / MT_BENCH_QUESTIONS}")
    assert [s.name for s in sets] == ["mt_bench", "mt_bench_question_20"]
    assert sets[1].prompts == sets[0].prompts[:40]  # FastChat's file: the first 20 questions
    alpaca = tmp_path / "alpaca_eval.json"
    alpaca.write_text(json.dumps([
        {"instruction": "What are the names of some famous actors that started their careers "
                        "on Broadway?", "output": "x", "generator": "m", "dataset": "helpful_base"},
        {"instruction": "How did US states get their names?", "output": "y", "generator": "m",
         "dataset": "helpful_base"}]), encoding="utf-8")
    chats = tmp_path / "arena.jsonl"
    chats.write_text(json.dumps({"conversations": [{"from": "human", "value": "Write a haiku."},
                                                   {"from": "gpt", "value": "..."}]}) + "\n",
                     encoding="utf-8")
    plain = tmp_path / "prompts.jsonl"
    plain.write_text("".join(json.dumps({"prompt": p}) + "\n" for p in ("one", "two")),
                     encoding="utf-8")
    sets = load_prompt_sets([f"alpaca_eval={alpaca}", f"arena={chats}", str(plain)])
    assert [(s.name, len(s.prompts)) for s in sets] == [("alpaca_eval", 2), ("arena", 1),
                                                        ("prompts", 2)]
    assert sets[0].ids == ["row 0, turn 1", "row 1, turn 1"]
    ds = Dataset.from_dict({"instruction": ["what are the names of some famous actors that "
                                            "started their careers on broadway"],
                            "output": ["..."]})
    report = find_contamination(ds, f"alpaca_eval={alpaca}", progress=False)
    assert report.counts() == {"alpaca_eval": 1}
    assert parse_benchmark_spec(["mt_bench", f"x={plain}"]) == [("mt_bench", None),
                                                                ("x", str(plain))]


def test_spec_and_option_errors(tmp_path, monkeypatch):
    with pytest.raises(InputNotFoundError, match="neither a known benchmark"):
        load_prompt_sets("mt-bench")
    with pytest.raises(ConfigError, match="twice"):
        load_prompt_sets("mt_bench,mt_bench")
    for bad in ("", "mt_bench,", "x="):
        with pytest.raises(ConfigError):
            parse_benchmark_spec(bad)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(InputError, match=r"offline.*alpaca_eval=PATH"):
        load_prompt_sets("alpaca_eval")
    empty = tmp_path / "cols.jsonl"
    empty.write_text(json.dumps({"text": "a"}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="no column holds prompts"):
        load_prompt_sets(str(empty))
    for kw in ({"method": "fuzzy"}, {"ngram": 0}, {"threshold": 2.0}, {"method": "embedding"},
               {"examples": -1}):
        with pytest.raises(ConfigError):
            Decontaminator("mt_bench", **kw)


def test_normalisation_and_index():
    assert normalize_words("“Hello,” she said — it’s 5 p.m.!") == \
        ["hello", "she", "said", "its", "5", "pm"]
    index = NgramIndex([["one two three four five"], ["a b c d e f g h i j k l m n"]],
                       n=13, min_words=5)
    assert index.too_short == [0, 0]
    assert index.match(normalize_words("x One, two; three four FIVE y")) == {
        0: (0, "one two three four five")}
    assert index.match(normalize_words("a b c d e f g h i j k l")) == {}  # 12 of 13
    assert index.match(normalize_words("- b c d e f g h i j k l m n -")) == {
        1: (0, "b c d e f g h i j k l m n")}
    assert NgramIndex([["too short"]], n=13, min_words=8).too_short == [1]


def test_top_level_names():
    assert deita_hf.decontaminate is decontaminate and "Decontaminator" in deita_hf.__all__
    first = mt_bench_first_turns()[0]
    ds = Dataset.from_dict({"instruction": [first, "hello"], "output": ["a", "b"]})
    out = deita_hf.select(ds, 1, strategy="random", decontaminate=Decontaminator(
        "mt_bench", progress=False))
    assert out["instruction"][:] == ["hello"]


def _disguised(text: str, how: str) -> str:
    """``text`` with invisible format characters or full-width letters (issue 24 (a))."""
    if how == "fullwidth":  # U+FF01..U+FF5E are ASCII 0x21..0x7E shifted by 0xFEE0
        return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else "\u3000" if c == " " else c
                       for c in text)
    mark = {"zwsp": "\u200b", "word_joiner": "\u2060", "soft_hyphen": "\u00ad",
            "zwnj": "\u200c"}[how]
    return " ".join(w[:2] + mark + w[2:] if len(w) > 3 else w for w in text.split())


@pytest.mark.parametrize("how", ["zwsp", "word_joiner", "soft_hyphen", "zwnj", "fullwidth"])
def test_invisible_characters_and_full_width_letters_are_normalised(how):
    first = mt_bench_first_turns()[0]  # 24 words: matched by its 13-grams
    disguised = _disguised(first, how)
    assert disguised != first and normalize_words(disguised) == normalize_words(first)
    ds = Dataset.from_dict({"instruction": [disguised, "Name three primary colours."],
                            "output": ["a", "b"]})
    report = find_contamination(ds, "mt_bench", progress=False)
    assert report.dropped_rows == [0], how
    assert report.matches[0][0]["prompt_id"] == "question 81, turn 1"
    assert "NFKC" in report.to_dict()["normalisation"]


def test_embedding_method_compares_normalised_texts(minilm):
    first = mt_bench_first_turns()[0]
    ds = Dataset.from_dict({"instruction": [_disguised(first, "fullwidth"),
                                            _disguised(first, "zwsp"), "Name three colours."],
                            "output": ["a", "b", "c"]})
    report = find_contamination(ds, "mt_bench", method="embedding", embedder=minilm,
                                progress=False)
    assert report.dropped_rows == [0, 1]
    assert all(float(found[0]["match"][7:]) > 0.999 for found in report.matches.values())
