"""Issue 24: `deita-hf evol` reads instruction-only seed files: Alpaca's / Self-Instruct's
`seed_tasks.jsonl` (`instruction` + `instances`) and the WizardLM test set (`Instruction`)."""

import json

import pytest
from evol_helpers import MARK, rewriter

from deita_hf.cli.main import main
from deita_hf.errors import InputError
from deita_hf.evol.evolve import seed_rows
from deita_hf.folder.writer import read_folder

# rows in the two layouts (keys as the released files have them; texts written for the test)
SEED_TASKS = [
    {"id": "seed_task_0", "name": "breakfast_idea", "instruction": "Suggest a breakfast without eggs.",
     "instances": [{"input": "", "output": "Oatmeal with nuts and yogurt."}], "is_classification": False},
    {"id": "seed_task_1", "name": "sort_words", "instruction": "Sort the words alphabetically.",
     "instances": [{"input": "pear apple fig", "output": "apple fig pear"}], "is_classification": False},
]
WIZARDLM = [
    {"idx": 1, "Skill": "Math", "Difficulty": 2, "Instruction": "What is the sum of 17 and 25?"},
    {"idx": 2, "Skill": "Writting", "Difficulty": 4, "Instruction": "Write a haiku about rain."},
]


def test_seed_rows_of_instruction_only_files():
    alpaca = seed_rows(SEED_TASKS, "quality")
    assert [s["instruction"] for s in alpaca] == ["Suggest a breakfast without eggs.",
                                                  "Sort the words alphabetically.\n\npear apple fig"]
    assert [s["response"] for s in alpaca] == ["Oatmeal with nuts and yogurt.", "apple fig pear"]
    wizard = seed_rows(WIZARDLM, "complexity")
    assert [s["instruction"] for s in wizard] == [r["Instruction"] for r in WIZARDLM]
    with pytest.raises(InputError, match="Row 0 has no response: --kind quality"):
        seed_rows(WIZARDLM, "quality")
    with pytest.raises(InputError, match=r"Row 0: no conversation .* and no instruction column"):
        seed_rows([{"text": "hello"}], "complexity")


@pytest.mark.parametrize("rows", [SEED_TASKS, WIZARDLM], ids=["seed_tasks", "wizardlm_testset"])
def test_evol_cli_on_an_instruction_only_file(rows, tmp_path, openai_server):
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    server = openai_server(rewriter())
    assert main(["evol", str(seeds), "--kind", "complexity", "--rounds", "1", "--generator",
                 f"openai:{server.url}#w", "--output", str(tmp_path / "evol"), "--no-progress"]) == 0
    out = read_folder(tmp_path / "evol").to_list()
    assert len(out) == 2 * len(rows) and all(r["status"] == "ok" for r in out)
    firsts = [r["instruction"] for r in out if r["round"] == 0]
    assert firsts[0].startswith(rows[0].get("instruction") or rows[0]["Instruction"])
    assert all(r["instruction"].endswith(MARK) for r in out if r["round"] == 1)
