"""Rebuild the bundled test data in ``tests/data/`` from ``../shared/data``.

The test suite reads only the small files next to this script, so it runs from a bare clone.
This script is how they were made, for maintainers who have the shared data folder beside
the repository (see ``tests/data/LICENSE.md`` for sources, row selections and licences)::

    python tests/data/build_test_data.py [--shared PATH_TO_SHARED_DATA] [--check]

Rows are copied verbatim: each output line is the source's JSON Lines line, unchanged (same
fields, values, order and bytes), and rows keep their source order. Only permissively
licensed sources are used. The output is deterministic; ``--check`` compares instead of
writing and exits 1 when a file differs.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_SHARED = HERE.parents[2] / "shared" / "data"


def _lines(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as fh:
        return [line.rstrip("\n") for line in fh if line.strip()]


def _first(n: int):
    return lambda lines: lines[:n]


def _short_pair(row: dict) -> bool:
    """A preference row short enough for the CPU DPO test (prompt + longer answer < 500 chars)."""
    prompt = sum(len(m["value"]) for m in row["conversations"])
    return prompt + max(len(row["chosen"]["value"]), len(row["rejected"]["value"])) < 500


def _preference_rows(lines: list[str]) -> list[str]:
    """Rows 0-59, plus every later row that `_short_pair` accepts, in source order."""
    return [line for i, line in enumerate(lines) if i < 60 or _short_pair(json.loads(line))]


# output name -> (source path under shared/data, row selection)
FILES = {
    "dolly_alpagasus_300.jsonl": ("dolly/dolly_alpagasus_3k.jsonl.gz", _first(300)),
    "llamafactory_dpo_en_demo_70.jsonl": ("preference/llamafactory_dpo_en_demo.jsonl.gz",
                                          _preference_rows),
    "fastchat_dummy_conversation_20.jsonl": ("sharegpt/fastchat_dummy_conversation.jsonl",
                                             _first(20)),
    "axolotl_conversation_fixture.jsonl": ("sharegpt/axolotl_conversation_fixture.jsonl",
                                           _first(1)),
    "mt_bench_question_20.jsonl": ("mt_bench/question.jsonl", _first(20)),
    "mt_bench_model_answer_gpt-4_20.jsonl": ("mt_bench/model_answer_gpt-4.jsonl", _first(20)),
}


def build(shared: Path) -> dict[str, str]:
    """The text of every bundled file, built from the shared data folder."""
    out = {}
    for name, (source, select) in FILES.items():
        rows = select(_lines(shared / source))
        for line in rows:
            json.loads(line)  # every kept line is one JSON object
        out[name] = "".join(line + "\n" for line in rows)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED,
                        help=f"the shared data folder (default: {DEFAULT_SHARED})")
    parser.add_argument("--check", action="store_true",
                        help="compare with the files in tests/data instead of writing them")
    args = parser.parse_args(argv)
    if not args.shared.is_dir():
        parser.error(f"no shared data folder at {args.shared}")
    status = 0
    for name, text in build(args.shared).items():
        path = HERE / name
        if args.check:
            same = path.is_file() and path.read_text(encoding="utf-8") == text
            print(f"{'ok  ' if same else 'DIFF'} {name}")
            status |= not same
        else:
            path.write_text(text, encoding="utf-8", newline="\n")
            print(f"wrote {name}: {text.count(chr(10))} rows, {len(text.encode())} bytes")
    return status


if __name__ == "__main__":
    sys.exit(main())
