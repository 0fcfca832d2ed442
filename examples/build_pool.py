"""Rebuild ``examples/pool.jsonl`` from ``../shared/data`` (run from the repository root).

The pool mixes three permissively licensed sources (see ``examples/LICENSE.md``) into the
OpenAI ``messages`` format with a ``source`` column:

- 250 Databricks Dolly rows (CC BY-SA 3.0), the first 250 of AlpaGasus' Dolly subset;
- MT-Bench two-turn answers of GPT-4 and Alpaca-13B (160 rows, Apache-2.0, FastChat);
- the 61 h2o-wizardlm evolved instructions (Apache-2.0).
"""

import glob
import gzip
import json
from pathlib import Path

DATA = Path("../shared/data")


def main() -> None:
    rows = []
    with gzip.open(DATA / "dolly/dolly_alpagasus_3k.jsonl.gz", "rt") as f:
        for line in list(f)[:250]:
            r = json.loads(line)
            user = r["instruction"] + (f"\n\n{r['input']}" if r["input"].strip() else "")
            rows.append({"messages": [{"role": "user", "content": user},
                                      {"role": "assistant", "content": r["output"]}],
                         "source": "dolly"})
    questions = {}
    for line in open(DATA / "mt_bench/question.jsonl"):
        q = json.loads(line)
        questions[q["question_id"]] = q["turns"]
    for model in ("gpt-4", "alpaca-13b"):
        for line in open(DATA / f"mt_bench/model_answer_{model}.jsonl"):
            a = json.loads(line)
            turns = questions[a["question_id"]]
            answers = a["choices"][0]["turns"]
            messages = []
            for q, ans in zip(turns, answers):
                messages += [{"role": "user", "content": q}, {"role": "assistant", "content": ans}]
            rows.append({"messages": messages, "source": f"mt_bench-{model}"})
    for path in sorted(glob.glob(str(DATA / "evol/h2o_wizardlm_*.jsonl"))):
        for line in open(path):
            r = json.loads(line)
            rows.append({"messages": [{"role": "user", "content": r["input"]},
                                      {"role": "assistant", "content": r["output"]}],
                         "source": "h2o-wizardlm"})
    with open("examples/pool.jsonl", "w") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} rows to examples/pool.jsonl")


if __name__ == "__main__":
    main()
