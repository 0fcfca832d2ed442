"""End to end on 50 real Dolly seeds: ``deita-hf evol`` with a tiny local LLaMA and with a
scripted OpenAI-compatible server, then ``deita-hf rank`` with a scripted judge."""

import json

from datasets import load_dataset
from evol_helpers import (
    MARK,
    N_SEEDS,
    chains,
    judge,
    prompt_of,
    rewriter,
    shown_variants,
)

from deita_hf.cli.main import main
from deita_hf.evol import OPERATIONS
from deita_hf.generation import GenerationCache
from deita_hf.folder.writer import read_folder, read_settings
from deita_hf.scoring.prompts import COMPLEXITY_TEMPLATE, QUALITY_TEMPLATE

FAIL = ("Which episodes of season four", "Give me the top 5 golf")  # rows 1 and 3
EMPTY = ("Who played Billy the Kid",)                                # row 4


def _check_chains(rows, rounds, text_col):
    """Every seed's chain: rounds 0..k contiguous, only the last may be failed/empty."""
    built = chains(rows)
    assert len(built) == N_SEEDS
    for chain in built.values():
        assert [r["round"] for r in chain] == list(range(len(chain)))
        assert all(r["status"] == "ok" for r in chain[:-1])
        assert len(chain) == rounds + 1 or chain[-1]["status"] in ("failed", "empty")
        for r in chain[1:]:
            assert r["operation"] in OPERATIONS["quality" if text_col == "response" else "complexity"]
            assert r["variant_id"] == f"{r['seed_id']}-r{r['round']}"
            assert (r[text_col] is None) == (r["status"] == "failed")
            assert (r[text_col] == "") == (r["status"] == "empty")
    return built


def test_evol_complexity_with_a_tiny_local_llama(seeds_file, evol_llama, tmp_path, capsys):
    out = tmp_path / "evol-c"
    args = ["evol", seeds_file, "--kind", "complexity", "--rounds", "5", "--generator",
            f"hf:{evol_llama}", "--output", str(out), "--max-new-tokens", "4", "--temperature", "0",
            "--batch-size", "64", "--no-progress"]
    assert main(args) == 0
    rows = read_folder(out).to_list()
    built = _check_chains(rows, 5, "instruction")
    kind, settings = read_settings(out)
    assert kind == "evol" and settings["kind"] == "complexity" and settings["seeds"] == N_SEEDS
    assert settings["generation"]["max_new_tokens"] == 4 and settings["generator"]["backend"] == "transformers"
    assert sum(r["ok"] + r["failed"] + r["empty"] for r in settings["per_round"]) == len(rows)
    assert "seed-000000-r0" in {c[0]["variant_id"] for c in built.values()}
    cache = GenerationCache(tmp_path / ".evol-c.cache" / "generations.sqlite")
    n_cached = len(cache)
    # one cached answer per distinct request (a random tiny model repeats itself across seeds)
    requests = {(c[i]["operation"], c[i - 1]["instruction"]) for c in built.values() for i in range(1, len(c))}
    assert n_cached == len(requests) > N_SEEDS
    assert load_dataset(str(out), split="train").num_rows == len(rows)
    # a re-run is answered from the cache beside the folder (it survives the replacement)
    assert main(args + ["--overwrite"]) == 0
    assert len(cache) == n_cached and read_folder(out).to_list() == rows
    assert "variants of 50 seeds" in capsys.readouterr().out


def test_evol_quality_then_rank_with_scripted_servers(seeds_file, tmp_path, openai_server):
    gen = openai_server(rewriter(fail=FAIL, empty=EMPTY, fail_round=3))
    evol = tmp_path / "evol-q"
    assert main(["evol", seeds_file, "--kind", "quality", "--rounds", "5", "--generator",
                 f"openai:{gen.url}#writer", "--output", str(evol), "--concurrency", "4",
                 "--no-progress"]) == 0
    rows = read_folder(evol).to_list()
    built = _check_chains(rows, 5, "response")
    by_source = {c[0]["source_index"]: c for c in built.values()}
    for i in (1, 3):  # failed at round 3: recorded, chain stops, nothing invented
        assert [r["status"] for r in by_source[i]] == ["ok", "ok", "ok", "failed"]
        assert by_source[i][-1]["response"] is None
    assert [r["status"] for r in by_source[4]] == ["ok", "empty"]
    for i, chain in by_source.items():
        assert len({r["instruction"] for r in chain}) == 1  # the instruction stays
        for r in chain:
            if r["status"] == "ok":
                assert r["response"].count(MARK) == r["round"]
    asked = sum(len(c) - 1 for c in built.values())
    assert len(gen.requests) == asked  # one request per variant (a 400 is not retried)
    assert all(b["body"]["seed"] == 0 and b["body"]["temperature"] == 0.7 for b in gen.requests)

    judge_server = openai_server(judge())
    rank = tmp_path / "rank-q"
    assert main(["rank", str(evol), "--judge", f"openai:{judge_server.url}#judge", "--output",
                 str(rank), "--no-progress"]) == 0
    ranked = read_folder(rank).to_list()
    assert len(ranked) == len(rows)
    seeds_ranked = {r["seed_id"] for r in ranked if r["usable"]}
    assert len(judge_server.requests) == len(seeds_ranked) == N_SEEDS - 1  # row 4: 1 usable variant
    for r in ranked:
        if r["status"] == "ok" and r["seed_id"] in seeds_ranked:
            assert r["usable"] and r["score"] == r["round"] + 1  # mapped back from the shuffle
            assert r["judge_attempts"] == 1 and r["judge_error"] is None
        else:
            assert not r["usable"] and r["score"] is None and r["rank_within_seed"] is None
    groups = {}
    for r in ranked:
        if r["usable"]:
            groups.setdefault(r["seed_id"], []).append(r)
    shuffled = 0
    for group in groups.values():
        assert sorted(r["position"] for r in group) == list(range(1, len(group) + 1))
        assert [r["rank_within_seed"] for r in sorted(group, key=lambda r: -r["round"])] == \
            list(range(1, len(group) + 1))
        shuffled += [r["position"] for r in group] != list(range(1, len(group) + 1))
    assert shuffled > 40
    # each judge prompt showed one seed's variants in the recorded positions
    by_shown = {tuple(r["response"].strip() for r in sorted(g, key=lambda r: r["position"])): sid
                for sid, g in groups.items()}
    seen = [by_shown[tuple(shown_variants(prompt_of(q["body"])))] for q in judge_server.requests]
    assert sorted(seen) == sorted(groups)
    assert all(q["body"]["temperature"] == 0 and q["body"]["seed"] == 0 for q in judge_server.requests)
    sid = seen[0]

    scorer = read_folder(rank, "scorer").to_list()
    usable = [r for r in ranked if r["usable"]]
    assert len(scorer) == len(usable) and sid in {s["seed_id"] for s in scorer}
    for s, r in zip(scorer, usable):
        assert s == {"id": r["variant_id"], "seed_id": r["seed_id"], "conversations": [
            {"from": "human", "value": QUALITY_TEMPLATE.format(instruction=r["instruction"],
                                                            output=r["response"])},
            {"from": "gpt", "value": str(r["score"])}]}
        assert list(s["conversations"][0]) == ["from", "value"]
    assert load_dataset(str(rank), "scorer", split="train").num_rows == len(scorer)
    kind, settings = read_settings(rank)
    assert kind == "rank" and settings["ranked_seeds"] == N_SEEDS - 1
    assert settings["too_few_variants"] == 1 and settings["evol"]["kind"] == "quality"
    assert json.loads((rank / "deita_rank.json").read_text())["scorer_rows"] == len(scorer)


def test_rank_retries_malformed_answers_then_marks_the_seed_unusable(seeds_file, tmp_path, openai_server):
    gen = openai_server(rewriter())
    evol = tmp_path / "evol-c"
    assert main(["evol", seeds_file, "--kind", "complexity", "--rounds", "2", "--limit", "6",
                 "--generator", f"openai:{gen.url}#w", "--output", str(evol), "--no-progress"]) == 0
    garbage = "[[1]] score: 9\n[[2]] score: 2\n[[3]] score: 2"
    judge_server = openai_server(judge(bad=("How do I start running?",),
                                        bad_first=("Which episodes of season four",),
                                        fail=("unique curtain tie backs",), garbage=garbage))
    rank = tmp_path / "rank-c"
    assert main(["rank", str(evol), "--judge", f"openai:{judge_server.url}#j", "--judge-retries", "2",
                 "--seed", "5", "--output", str(rank), "--no-progress"]) == 0
    ranked = {r["variant_id"]: r for r in read_folder(rank).to_list()}
    bad = [r for r in ranked.values() if r["source_index"] == 0]
    assert all(not r["usable"] and r["score"] is None and r["judge_raw"] == garbage for r in bad)
    assert all(r["judge_attempts"] == 3 and "not an integer in 1..6" in r["judge_error"] for r in bad)
    retried = [r for r in ranked.values() if r["source_index"] == 1]
    assert all(r["usable"] and r["judge_attempts"] == 2 and r["score"] == r["round"] + 1 for r in retried)
    failed = [r for r in ranked.values() if r["source_index"] == 2]  # the judge's request fails
    assert all(not r["usable"] and r["judge_raw"] is None and r["judge_attempts"] == 3
               and r["judge_error"] == "the judge's generation failed" for r in failed)
    bodies = [q["body"] for q in judge_server.requests]
    assert len(bodies) == 6 + 2 + 1 + 2  # 6 first asks, re-asks: 2 of row 0, 1 of row 1, 2 of row 2
    asks_bad = [b for b in bodies if "How do I start running?" in prompt_of(b)]
    assert [(b["seed"], b["temperature"]) for b in asks_bad] == [(5, 0.0), (6, 0.7), (7, 0.7)]
    scorer = read_folder(rank, "scorer").to_list()
    assert {s["seed_id"] for s in scorer} == {f"seed-{i:06d}" for i in (1, 3, 4, 5)}
    assert all(s["conversations"][0]["value"] == COMPLEXITY_TEMPLATE.format(
        instruction=ranked[s["id"]]["instruction"]) for s in scorer)
