"""EVOL COMPLEXITY / EVOL QUALITY: evolve every seed ``rounds`` times, as a chain.

Round 0 is the seed itself; round ``r`` rewrites round ``r - 1``'s variant with one operation
drawn by a seeded RNG from the seed's id and the round (so a seed's operations do not depend on
the other seeds, the order or ``--limit``). Complexity rewrites the instruction; quality keeps
the instruction and rewrites the response. A generation that fails is recorded with status
``"failed"`` (its text None), an empty one with ``"empty"``; either ends that seed's chain: no
later round is asked, nothing is invented.

Every row holds ``seed_id``, ``round``, ``operation``, ``parent_id``, ``variant_id``,
``instruction``, ``response`` (quality only), ``status`` and ``source_index`` (the seed's row in
the input), so each chain can be rebuilt by following ``parent_id``.

Example:
    >>> from deita_hf.generation.base import Generator
    >>> class Upper(Generator):
    ...     backend = "upper"
    ...     def _run(self, jobs, params, report):
    ...         for i, chat in jobs:
    ...             report(i, chat[-1]["content"].split("<<<\\n")[-1].split("\\n>>>")[0].upper() + "!")
    >>> seeds = [{"seed_id": "seed-000000", "source_index": 0, "instruction": "hi", "response": ""}]
    >>> rows = evolve(seeds, Upper("x"), kind="complexity", rounds=2, progress=False)
    >>> [(r["round"], r["instruction"], r["status"], r["parent_id"]) for r in rows]
    [(0, 'hi', 'ok', None), (1, 'HI!', 'ok', 'seed-000000-r0'), (2, 'HI!!', 'ok', 'seed-000000-r1')]
"""

from __future__ import annotations

import random
import re
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from deita_hf.errors import ConfigError, GenerationError, InputError
from deita_hf.evol.prompts import EVOL_KINDS, OPERATIONS, evol_prompt
from deita_hf.generation import GenerationParams, Generator

if TYPE_CHECKING:
    from datasets import Features

__all__ = ["STATUSES", "choose_operation", "clean_output", "evol_features", "evolve", "seed_rows",
           "variant_id"]

#: the status of a variant: usable, the generation failed, or it came back empty
STATUSES = ("ok", "failed", "empty")

_LABEL = re.compile(r"^\s*(#+\s*)?(new|rewritten|improved|evolved)\s+(instruction|prompt|response)"
                    r"\s*#*\s*:\s*", re.IGNORECASE)


def variant_id(seed_id: str, round_: int) -> str:
    """``"<seed_id>-r<round>"``, the id of one variant."""
    return f"{seed_id}-r{round_}"


def choose_operation(kind: str, seed: int, seed_id: str, round_: int) -> str:
    """The operation of one round, drawn with ``random.Random`` seeded by (seed, seed_id, round).

    Example:
        >>> choose_operation("quality", 0, "seed-000001", 3) == choose_operation("quality", 0, "seed-000001", 3)
        True
    """
    rng = random.Random(f"deita-evol|{kind}|{seed}|{seed_id}|{round_}")
    return rng.choice(sorted(OPERATIONS[kind]))


def clean_output(text: str) -> str:
    """The generated variant without surrounding space, ``<<<``/``>>>`` fences the model copied
    from the prompt, or a leading label such as ``New instruction:``.

    Example:
        >>> clean_output("  New instruction: <<<\\nList five rivers.\\n>>> ")
        'List five rivers.'
    """
    text = _LABEL.sub("", text.strip()).strip()
    text = text.removeprefix("<<<")
    text = text.removesuffix(">>>")
    return text.strip()


#: columns that hold the task of an instruction-only seed file (Alpaca's ``seed_tasks.jsonl``:
#: ``instruction`` with ``instances``; the WizardLM test set: ``Instruction``)
SEED_INSTRUCTION_COLUMNS = ("instruction", "Instruction")


def _instruction_only(row: dict[str, Any], i: int) -> tuple[str, str]:
    """``(instruction, response)`` of a row in no conversation format: its instruction column,
    with the first of Self-Instruct's ``instances`` (``input`` appended after a blank line, as
    Alpaca joins them; ``output`` as the response)."""
    column = next((c for c in SEED_INSTRUCTION_COLUMNS if c in row), None)
    if column is None:
        raise InputError(f"Row {i}: no conversation (messages, conversations, instruction/output, "
                         f"...) and no instruction column ({' or '.join(SEED_INSTRUCTION_COLUMNS)}); "
                         f"it has {sorted(row)}.")
    text = row[column]
    if not isinstance(text, str):
        raise InputError(f"Row {i}: {column!r} must be text, got {text!r}.")
    extra, response = "", ""
    instances = row.get("instances")
    if isinstance(instances, list) and instances and isinstance(instances[0], dict):
        extra = instances[0].get("input") or ""
        response = instances[0].get("output") or ""
    if not isinstance(extra, str) or not isinstance(response, str):
        raise InputError(f"Row {i}: instances[0] must hold text 'input' and 'output'.")
    return (f"{text}\n\n{extra}" if extra.strip() else text), response


def seed_rows(pool: Any, kind: str, *, limit: int | None = None) -> list[dict[str, Any]]:
    """The seeds of a pool: the first turn of each row.

    Rows in a conversation format give their first turn; rows in none (instruction-only seed
    files: Alpaca's ``seed_tasks.jsonl``, the WizardLM test set) give their ``instruction`` /
    ``Instruction`` column, with the first of Self-Instruct's ``instances`` (its ``input``
    appended, its ``output`` as the response).

    Args:
        pool: a ``datasets.Dataset`` (or list of rows) in any format ``to_turns`` reads, or
            instruction-only rows.
        kind: ``"complexity"`` or ``"quality"`` (quality needs a non-empty response).
        limit: keep the first ``limit`` rows only.

    Returns:
        ``{"seed_id": "seed-%06d", "source_index", "instruction", "response"}`` per row.

    Raises:
        InputError: a row has an empty instruction, or (quality) no response; names the row.

    Example:
        >>> seed_rows([{"idx": 1, "Skill": "Math", "Instruction": "What is 2+2?"}],
        ...           "complexity")[0]["instruction"]
        'What is 2+2?'
    """
    from deita_hf.data.formats import FormatError, detect_format, to_turns

    if kind not in EVOL_KINDS:
        raise ConfigError(f"kind must be one of {list(EVOL_KINDS)}, got {kind!r}.")
    n = len(pool) if limit is None else min(limit, len(pool))
    rows = pool.select(range(n)) if hasattr(pool, "select") else pool[:n]
    seeds = []
    for i, row in enumerate(rows):
        try:
            detect_format(row.keys())
            conversation = True
        except FormatError:
            conversation = False
        instruction, response = to_turns(row, index=i)[0] if conversation \
            else _instruction_only(row, i)
        if not instruction.strip():
            raise InputError(f"Row {i} has an empty instruction; it cannot seed an evolution.")
        if kind == "quality" and not response.strip():
            raise InputError(f"Row {i} has no response: --kind quality evolves the response, so "
                             f"every seed row needs one (instruction: {instruction[:80]!r}).")
        seeds.append({"seed_id": f"seed-{i:06d}", "source_index": i, "instruction": instruction,
                      "response": response})
    return seeds


def evol_features(kind: str) -> Features:
    """The ``datasets.Features`` of the variant rows of ``kind``."""
    from datasets import Features, Value

    cols = {"seed_id": Value("string"), "round": Value("int32"), "operation": Value("string"),
            "parent_id": Value("string"), "variant_id": Value("string"),
            "instruction": Value("string")}
    if kind == "quality":
        cols["response"] = Value("string")
    cols.update(status=Value("string"), source_index=Value("int64"))
    return Features(cols)


def evolve(seeds: Sequence[dict[str, Any]], generator: Generator, *, kind: str, rounds: int = 5,
           seed: int = 0, params: GenerationParams | None = None, progress: bool = True
           ) -> list[dict[str, Any]]:
    """Evolve every seed ``rounds`` times (round r rewrites round r-1's variant).

    Args:
        seeds: rows from :func:`seed_rows`.
        generator: the rewriter (any backend; its cache makes a re-run resume).
        kind: ``"complexity"`` or ``"quality"``.
        rounds: evolution rounds M (DEITA: 5).
        seed: seeds the choice of operations.
        params: generation settings (default: ``GenerationParams(max_new_tokens=1024)``).
        progress: show a progress bar per round.

    Returns:
        The variant rows (see the module docstring), grouped by seed, rounds ascending.

    Raises:
        GenerationError: every generation of a round failed (the backend is down or
            misconfigured); the answers received so far stay in the generator's cache.
    """
    if kind not in EVOL_KINDS:
        raise ConfigError(f"kind must be one of {list(EVOL_KINDS)}, got {kind!r}.")
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise ConfigError(f"rounds must be an integer >= 1, got {rounds!r}.")
    params = params or GenerationParams(max_new_tokens=1024)
    text_col = "instruction" if kind == "complexity" else "response"
    chains: list[list[dict[str, Any]]] = []
    for s in seeds:
        row = {"seed_id": s["seed_id"], "round": 0, "operation": "seed", "parent_id": None,
               "variant_id": variant_id(s["seed_id"], 0), "instruction": s["instruction"]}
        if kind == "quality":
            row["response"] = s["response"]
        row.update(status="ok", source_index=s["source_index"])
        chains.append([row])
    for r in range(1, rounds + 1):
        alive = [c for c in chains if c[-1]["status"] == "ok"]
        if not alive:
            break
        ops = [choose_operation(kind, seed, c[0]["seed_id"], r) for c in alive]
        prompts = [[{"role": "user", "content": evol_prompt(kind, op, instruction=c[-1]["instruction"],
                                                            response=c[-1].get("response"))}]
                   for c, op in zip(alive, ops)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # failures are counted below
            outputs = generator.generate(prompts, params, on_error="none", progress=progress,
                                         desc=f"evol {kind} round {r}/{rounds}")
        if all(out is None for out in outputs):
            raise GenerationError(
                f"All {len(outputs)} generations of round {r} failed ({generator.spec}); is the "
                f"generator reachable? Answers received so far are cached: re-run to resume.")
        for chain, op, out in zip(alive, ops, outputs):
            parent = chain[-1]
            text = None if out is None else clean_output(out)
            status = "failed" if text is None else ("empty" if not text else "ok")
            row = {**parent, "round": r, "operation": op, "parent_id": parent["variant_id"],
                   "variant_id": variant_id(parent["seed_id"], r), text_col: text, "status": status}
            chain.append(row)
    return [row for chain in chains for row in chain]
