"""Local copies of lm-eval tasks for the tests: synthetic rows in each data set's own schema
(ARC, HellaSwag, MMLU, TruthfulQA, IFEval; nothing copied from them), a few rows per split,
enough for the leaderboard's shot counts, and lm-eval task YAMLs that include the installed
task definition and point it at the local JSON Lines files (the README's offline recipe).
"""

from __future__ import annotations

import json
from pathlib import Path

WORDS = ["cat", "tree", "river", "stone", "cloud", "apple", "house", "light", "road", "music"]

#: the local multiple-choice task of the tests (its own YAML, not a built-in one)
LOCAL_MC = "deita_local_mc"

#: IFEval rows: (instruction ids, kwargs, an answer that follows every instruction, one that does not)
IFEVAL_CASES = [
    (["punctuation:no_comma"], [{}], "The sky is blue and the grass is green.", "The sky is blue, and green."),
    (["change_case:english_lowercase"], [{}], "all of these words are lower case.", "This Has Capitals."),
    (["length_constraints:number_words"], [{"relation": "at least", "num_words": 6}],
     "one two three four five six seven", "too short"),
    (["length_constraints:number_sentences"], [{"relation": "less than", "num_sentences": 3}],
     "Mr. Smith went to Washington. He came back.", "One. Two. Three. Four."),
    (["detectable_format:number_bullet_lists", "startend:end_checker"],
     [{"num_bullets": 2}, {"end_phrase": "Any other questions?"}],
     "* first point\n* second point\nAny other questions?", "* only one point\nAny other questions?"),
]


def _write(path: Path, rows: list[dict]) -> str:
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)
    return str(path)


def _override(folder: Path, task: str, include: Path, files: dict[str, str], extra: str = "") -> None:
    lines = [f"include: {include}", f"task: {task}", "dataset_path: json", "dataset_name: null",
             "dataset_kwargs:", "  data_files:"] + [f"    {k}: {v}" for k, v in files.items()]
    (folder / f"{task}.yaml").write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")


def _arc(i: int) -> dict:
    w = WORDS[i % 10]
    return {"id": f"arc-{i}", "question": f"Which word names a {w}?",
            "choices": {"text": [WORDS[(i + k) % 10] for k in range(4)], "label": ["A", "B", "C", "D"]},
            "answerKey": "ABCD"[i % 4]}


def _hellaswag(i: int) -> dict:
    return {"ind": i, "activity_label": "Walking", "ctx_a": f"A person walks to the {WORDS[i % 10]}.",
            "ctx_b": "then they", "ctx": "", "endings": [f"look at the {WORDS[(i + k) % 10]}." for k in range(4)],
            "source_id": f"s{i}", "split": "train", "split_type": "indomain", "label": str(i % 4)}


def _mmlu(i: int, subject: str) -> dict:
    return {"question": f"What is {i} plus {i}?", "subject": subject,
            "choices": [str(2 * i + k) for k in range(4)], "answer": i % 4}


def _truthfulqa(i: int) -> dict:
    return {"question": f"Is the {WORDS[i % 10]} real?",
            "mc1_targets": {"choices": ["Yes.", "No.", "Maybe."], "labels": [1, 0, 0]},
            "mc2_targets": {"choices": ["Yes.", "It is.", "No.", "Never."], "labels": [1, 1, 0, 0]}}


def ifeval_rows() -> list[dict]:
    """IFEval rows in its schema (key, prompt, instruction_id_list, kwargs)."""
    return [{"key": 1000 + i, "prompt": f"Prompt {i}: write about the {WORDS[i]} as instructed.",
             "instruction_id_list": ids, "kwargs": kwargs} for i, (ids, kwargs, _, _) in enumerate(IFEVAL_CASES)]


def write_tasks_dir(folder: Path, *, n_test: int = 4) -> Path:
    """The tasks folder: local copies of the leaderboard tasks and IFEval, and LOCAL_MC."""
    import lm_eval.tasks

    installed = Path(lm_eval.tasks.__file__).parent
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "data"
    data.mkdir(exist_ok=True)
    arc = {s: _write(data / f"arc_{s}.jsonl", [_arc(i + off) for i in range(n)])
           for s, off, n in (("train", 0, 26), ("validation", 100, 2), ("test", 200, n_test))}
    _override(folder, "arc_challenge", installed / "arc" / "arc_challenge.yaml", arc)
    hs = {s: _write(data / f"hellaswag_{s}.jsonl", [_hellaswag(i + off) for i in range(n)])
          for s, off, n in (("train", 0, 11), ("validation", 50, n_test))}
    _override(folder, "hellaswag", installed / "hellaswag" / "hellaswag.yaml", hs)
    subjects = ("anatomy", "astronomy")
    for subject in subjects:
        files = {s: _write(data / f"mmlu_{subject}_{s}.jsonl", [_mmlu(i + off, subject) for i in range(n)])
                 for s, off, n in (("dev", 0, 5), ("test", 10, n_test))}
        _override(folder, f"mmlu_{subject}", installed / "mmlu" / "default" / f"mmlu_{subject}.yaml", files)
    # a group YAML named like the built-in group replaces it: MMLU over the local subjects
    (folder / "mmlu.yaml").write_text(
        "group: mmlu\ntask:\n" + "".join(f"  - mmlu_{s}\n" for s in subjects)
        + "aggregate_metric_list:\n  - metric: acc\n    weight_by_size: True\nmetadata:\n  version: 2\n",
        encoding="utf-8")
    tqa = {"validation": _write(data / "truthfulqa_validation.jsonl", [_truthfulqa(i) for i in range(n_test)])}
    _override(folder, "truthfulqa_mc2", installed / "truthfulqa" / "truthfulqa_mc2.yaml", tqa)
    _override(folder, "truthfulqa_mc1", installed / "truthfulqa" / "truthfulqa_mc1.yaml", tqa)
    _override(folder, "ifeval", installed / "ifeval" / "ifeval.yaml",
              {"train": _write(data / "ifeval_train.jsonl", ifeval_rows())})
    mc = [{"question": f"The {WORDS[i]} is", "choices": [f" {WORDS[(i + k) % 10]}" for k in range(3)],
           "gold": i % 3} for i in range(6)]
    (folder / f"{LOCAL_MC}.yaml").write_text(
        f"task: {LOCAL_MC}\ndataset_path: json\ndataset_kwargs:\n  data_files:\n"
        f"    test: {_write(data / 'local_mc.jsonl', mc)}\ntest_split: test\noutput_type: multiple_choice\n"
        "doc_to_text: \"{{question}}\"\ndoc_to_choice: \"{{choices}}\"\ndoc_to_target: gold\n"
        "target_delimiter: \"\"\nmetric_list:\n  - metric: acc\n    aggregation: mean\n    higher_is_better: true\n"
        "  - metric: acc_norm\n    aggregation: mean\n    higher_is_better: true\nmetadata:\n  version: 1.0\n",
        encoding="utf-8")
    return folder


def local_mc_rows(folder: Path) -> list[dict]:
    """The rows of LOCAL_MC."""
    return [json.loads(line) for line in (folder / "data" / "local_mc.jsonl").read_text().splitlines()]
