"""Issue 21 (CLI consistency): ``--max-length``, ``--dtype`` and ``--device`` are spelt, explained
and defaulted alike (None: the component's own) in every command that runs a model."""

from __future__ import annotations

import re

import pytest

from deita_hf.cli.main import build_parser, main
from deita_hf.cli.options import config_from_args
from deita_hf.pipeline.config import ScoreConfig, SelectionConfig

FLAGS = ("--max-length", "--dtype", "--device")
#: command -> the least argv that parses
COMMANDS = {
    "select": ["pool.jsonl"],
    "score": ["pool.jsonl"],
    "preference": ["pool.jsonl", "--output", "o", "--budget", "2"],
    "eval": ["model", "--output", "o"],
    "scorer-eval": ["model", "--data", "d.jsonl", "--kind", "quality", "--output", "o"],
}


def help_of(command: str, capsys, monkeypatch) -> dict[str, str]:
    """flag -> its line in ``deita-hf COMMAND --help`` (metavar and help, whitespace joined)."""
    monkeypatch.setenv("COLUMNS", "100")
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    # one option per entry (argparse indents them by 2; a blank line ends a group)
    entries = [e for block in text.split("\n\n") for e in re.split(r"\n(?=  -)", block)]
    out = {}
    for flag in FLAGS:
        found = [e for e in entries if re.match(rf"\s*{re.escape(flag)}\b", e)]
        assert len(found) == 1, (command, flag, text)
        entry = " ".join(found[0].split())
        # select/score also accept the underscore spelling: "--max-length TOKENS, --max_length TOKENS"
        out[flag] = re.sub(r", --\w+ [A-Z_]+", "", entry)
    return out


def test_model_flags_have_one_spelling_help_and_default(capsys, monkeypatch):
    helps = {cmd: help_of(cmd, capsys, monkeypatch) for cmd in COMMANDS}
    for flag in FLAGS:
        lines = {cmd: h[flag] for cmd, h in helps.items()}
        assert len(set(lines.values())) == 1, lines  # the same words in every command
        assert "(default: None, " in lines["select"], lines["select"]
    assert helps["select"]["--max-length"].startswith("--max-length TOKENS token budget")
    assert helps["eval"]["--dtype"].startswith("--dtype DTYPE bfloat16 | float16 | float32 | auto")
    parser = build_parser()
    for cmd, argv in COMMANDS.items():
        args = parser.parse_args([cmd, *argv])
        cls = {"select": SelectionConfig, "score": ScoreConfig}.get(cmd)
        values = config_from_args(cls, args) if cls else args
        assert (values.max_length, values.dtype, values.device) == (None, None, None), cmd
