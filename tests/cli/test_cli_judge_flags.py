"""The judge's retries and reply length have the same flags and defaults in `deita-hf rank`
and `deita-hf eval`."""

from __future__ import annotations

import argparse

import pytest

from deita_hf.cli.main import build_parser


def _subcommand(name: str) -> argparse.ArgumentParser:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[name]


def _judge_options(name: str) -> dict[str, tuple[tuple[str, ...], object]]:
    return {a.dest: (tuple(a.option_strings), a.default) for a in _subcommand(name)._actions
            if a.dest in ("judge_retries", "judge_max_tokens")}


def test_rank_and_eval_share_the_judge_flags_and_defaults():
    rank, evaluation = _judge_options("rank"), _judge_options("eval")
    assert rank == evaluation
    assert rank == {"judge_retries": (("--judge-retries",), 2),
                    "judge_max_tokens": (("--judge-max-tokens",), 2048)}


@pytest.mark.parametrize("old", ["--retries", "--max-new-tokens"])
def test_rank_has_no_second_name_for_them(old):
    assert old not in _subcommand("rank")._option_string_actions
