"""Direct scoring by an LLM judge (the DEITA paper's direct-scoring baseline, AlpaGasus).

The prompts were written for this project after the descriptions of the DEITA paper's
*direct scoring* baseline (ask a strong LLM for a score of an instruction's complexity or a
response's quality) and AlpaGasus (Chen et al., 2024: rate a response's accuracy from 0 to 5,
keep those rated >= 4.5); no text is copied. Every prompt states the scale and asks for a line
``Score: N``.

Parsing is strict (:func:`parse_score`): the reply must hold exactly one line ``Score: N``
(case-insensitive, nothing else on that line) with N in the scale (a whole number unless the
prompt allows halves). A reply that does not parse is asked again (``retries``); still none:
NaN, counted in a warning (or an error with ``on_error="raise"``), never a number. The last
reply is kept in ``<column>_raw``. One value per turn.

Example:
    >>> parse_score("Score: 4\\nClear and correct.", 1, 6)
    4.0
    >>> parse_score("I would say 4", 1, 6), parse_score("Score: 9", 1, 6), parse_score("Score: 4.5", 1, 6)
    (None, None, None)
    >>> JUDGE_PROMPTS["alpagasus"].scale, JUDGE_PROMPTS["quality"].scale
    ((0.0, 5.0), (1.0, 6.0))
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from typing import Any

from deita_hf.data.formats import turns_from_batch
from deita_hf.errors import ConfigError
from deita_hf.scoring._llm import (
    LLMSettings,
    ask_with_retries,
    report_missing,
)
from deita_hf.scoring.baselines import require_batch

__all__ = ["JUDGE_PROMPTS", "JudgePrompt", "JudgeScorer", "parse_score"]

_FORMAT = ('Reply with the line "Score: N", where N is {kind} from {low} to {high}{extra}.')


@dataclass(frozen=True)
class JudgePrompt:
    """A judge prompt: its user template (fields ``{instruction}``, optionally ``{response}``,
    ``{low}``, ``{high}``), its scale, whether halves are allowed, and an optional system message."""

    name: str
    template: str
    scale: tuple[float, float] = (1.0, 10.0)
    halves: bool = False
    system: str | None = None

    @property
    def uses_response(self) -> bool:
        return "{response}" in self.template

    def render(self, instruction: str, response: str) -> list[dict[str, str]]:
        """The chat sent for one turn."""
        low, high = (f"{v:g}" for v in self.scale)
        user = self.template.format(instruction=instruction, response=response, low=low, high=high)
        return ([{"role": "system", "content": self.system}] if self.system else []) + \
            [{"role": "user", "content": user}]


JUDGE_PROMPTS: dict[str, JudgePrompt] = {
    "complexity": JudgePrompt("complexity", (
        "Rate how complex the following instruction to an AI assistant is: how much knowledge, "
        "reasoning, how many steps and how many constraints a good answer to it needs.\n\n"
        "Instruction:\n<<<\n{instruction}\n>>>\n\n"
        "Use a scale from {low} (a trivial request) to {high} (a very demanding one). "
        + _FORMAT.format(kind="a whole number", low="{low}", high="{high}",
                         extra=", on a line of its own") + " Add nothing else."), (1.0, 6.0)),
    "quality": JudgePrompt("quality", (
        "Rate the quality of an AI assistant's response to an instruction: is it correct, "
        "helpful, relevant to what was asked, complete and clearly written?\n\n"
        "Instruction:\n<<<\n{instruction}\n>>>\n\nResponse:\n<<<\n{response}\n>>>\n\n"
        "Use a scale from {low} (useless or wrong) to {high} (excellent). "
        + _FORMAT.format(kind="a whole number", low="{low}", high="{high}",
                         extra=", on a line of its own") + " Add nothing else."), (1.0, 6.0)),
    "alpagasus": JudgePrompt("alpagasus", (
        "Here are an instruction given to an AI assistant and the assistant's response. Grade how "
        "accurately the response carries out the instruction, on a scale from {low} to {high}; a "
        "higher score means a more accurate response, and halves such as 4.5 are allowed.\n\n"
        "### Instruction:\n{instruction}\n\n### Response:\n{response}\n\n"
        + _FORMAT.format(kind="your score", low="{low}", high="{high}",
                         extra=" as the first line") + " Below it, explain your grade in a few "
        "impartial sentences."), (0.0, 5.0), halves=True,
        system="You grade the responses of AI assistants carefully and without bias."),
}

_SCORE_LINE = re.compile(r"^[ \t]*score[ \t]*:[ \t]*([0-9]+(?:\.[0-9]+)?)[ \t]*$", re.IGNORECASE | re.MULTILINE)


def parse_score(text: str | None, low: float, high: float, *, halves: bool = False) -> float | None:
    """The score of a reply, or None unless it holds exactly one valid ``Score: N`` line.

    Args:
        text: the judge's reply.
        low, high: the scale (inclusive).
        halves: allow N to end in ``.5`` (else N must be a whole number).

    Returns:
        N as a float, or None.
    """
    found = _SCORE_LINE.findall(text or "")
    if len(found) != 1:
        return None
    value = float(found[0])
    step_ok = (value * 2).is_integer() if halves else value.is_integer()
    return value if step_ok and low <= value <= high else None


class JudgeScorer(LLMSettings):
    """Score each turn with an LLM judge; adds ``column`` (floats) and ``<column>_raw`` (replies).

    Args:
        generator: a generator spec (``openai:URL#MODEL``, ``hf:PATH``, ``vllm:PATH``) or a
            :class:`~deita_hf.generation.Generator`.
        prompt: ``"complexity"``, ``"quality"``, ``"alpagasus"``, a :class:`JudgePrompt`, or a
            template string with ``{instruction}`` (and optionally ``{response}``, ``{low}``,
            ``{high}``) that asks for a ``Score: N`` line.
        column: the output column (default ``judge_<prompt name>``; ``judge`` for a template).
        scale: ``(low, high)`` of a template string (default (1, 10)).
        cache_dir: folder of the generation cache (re-runs ask nothing twice).
        retries: re-asks of a reply without a valid score.
        max_new_tokens: the judge's token limit per reply.
        reask_temperature: sampling temperature of re-asks.
        on_error: ``"nan"`` (default; missing -> NaN, counted in a warning) or ``"raise"``.
        progress: show the generator's progress bars.

    Example:
        >>> judge = JudgeScorer("openai:http://127.0.0.1:8000/v1#m", "alpagasus")
        >>> judge.column, judge.describe()["columns"]
        ('judge_alpagasus', ['judge_alpagasus', 'judge_alpagasus_raw'])
    """

    def __init__(self, generator: Any, prompt: str | JudgePrompt = "quality", *, column: str | None = None,
                 scale: tuple[float, float] | None = None, cache_dir: str | os.PathLike | None = None,
                 retries: int = 2, max_new_tokens: int = 256, reask_temperature: float = 0.7,
                 on_error: str = "nan", progress: bool = False) -> None:
        if isinstance(prompt, str) and prompt in JUDGE_PROMPTS:
            spec = JUDGE_PROMPTS[prompt]
        elif isinstance(prompt, JudgePrompt):
            spec = prompt
        elif isinstance(prompt, str) and "{instruction}" in prompt:
            spec = JudgePrompt("custom", prompt, tuple(float(v) for v in (scale or (1, 10))))
        else:
            raise ConfigError(f"prompt must be one of {sorted(JUDGE_PROMPTS)}, a JudgePrompt or a template "
                              f"with an {{instruction}} field, got {str(prompt)[:80]!r}.")
        if scale is not None and spec.name != "custom":
            spec = JudgePrompt(spec.name, spec.template, (float(scale[0]), float(scale[1])), spec.halves, spec.system)
        if not spec.scale[0] < spec.scale[1]:
            raise ConfigError(f"scale must be (low, high) with low < high, got {spec.scale}.")
        self.prompt = spec
        self.column = column or ("judge" if spec.name == "custom" else f"judge_{spec.name}")
        self._init_llm(generator, cache_dir, retries=retries, max_new_tokens=max_new_tokens,
                       reask_temperature=reask_temperature, on_error=on_error, progress=progress)

    def __repr__(self) -> str:
        return f"JudgeScorer({self.generator.spec!r}, {self.prompt.name!r})"

    def describe(self) -> dict[str, Any]:
        """What a dataset card records (``columns``: every column written)."""
        return {"name": self.generator.spec, "kind": "llm-judge", "column": self.column,
                "columns": [self.column, self.raw_column], "prompt": self.prompt.name,
                "template": self.prompt.template, "system": self.prompt.system,
                "scale": list(self.prompt.scale), "halves": self.prompt.halves, "retries": self.retries,
                "generator": self.generator.describe()}

    def parse(self, text: str | None) -> float | None:
        """The score of one reply (see :func:`parse_score`)."""
        return parse_score(text, *self.prompt.scale, halves=self.prompt.halves)

    def __call__(self, batch: dict[str, list], indices: list[int] | None = None) -> dict[str, list]:
        """Score a batch from ``Dataset.map(batched=True[, with_indices=True])``.

        Returns:
            ``{column: [[score or NaN per turn], ...], column_raw: [[reply or None per turn], ...]}``.
        """
        require_batch(batch, indices, "JudgeScorer")
        turns = turns_from_batch(batch, indices=indices)
        chats, where, counts = [], [], []
        for r, row in enumerate(turns):
            counts.append(len(row))
            for t, (instruction, response) in enumerate(row):
                chats.append(self.prompt.render(instruction, response))
                where.append(f"row {indices[r] if indices is not None else r} turn {t}")
        values, raws = ask_with_retries(self.generator, chats, self.parse, retries=self.retries,
                                        max_new_tokens=self.max_new_tokens,
                                        reask_temperature=self.reask_temperature,
                                        progress=self.progress, desc=self.column)
        missing = [(w, raw) for w, v, raw in zip(where, values, raws) if v is None]
        low, high = (f"{v:g}" for v in self.prompt.scale)
        report_missing(self.column, missing, len(chats), self.on_error, self.retries + 1,
                       f"one line 'Score: N' with N in {low}..{high}")
        scores, texts, pos = [], [], 0
        for n in counts:
            scores.append([math.nan if v is None else float(v) for v in values[pos:pos + n]])
            texts.append(raws[pos:pos + n])
            pos += n
        return {self.column: scores, self.raw_column: texts}
