"""The paper's length baselines: clearly named stand-ins for the model scorers.

Unit: **characters** of the text (``len(str)``), which does not depend on a tokenizer or on
whitespace conventions (CJK text has none). Values are floats, one per turn, like the model
scorers' output, so they drop into the same pipeline; ``describe()["kind"]`` is
``"length-baseline"`` so dataset cards and reports can say a stand-in was used.

Example:
    >>> from deita_hf.scoring import InstructionLengthScorer, ResponseLengthScorer
    >>> InstructionLengthScorer()({"instruction": ["Say hi", "Why?"], "output": ["hi", "Because."]})
    {'complexity': [[6.0], [4.0]]}
    >>> ResponseLengthScorer()({"instruction": ["Say hi"], "output": ["hi"]})
    {'quality': [[2.0]]}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deita_hf.data.formats import FORMATS, check_instructions, detect_format, turns_from_batch
from deita_hf.errors import ConfigError, FormatError

__all__ = ["InstructionLengthScorer", "ResponseLengthScorer"]


_CONVERSATION_COLUMNS = ("messages", "conversations", "prompt", "completion")


def require_batch(batch: Any, indices: Any, who: str) -> None:
    """Refuse one row where ``Dataset.map(batched=True)`` passes a batch (a clear message, not an
    IndexError or a score per character), and rows with an empty or null instruction
    (:func:`~deita_hf.data.formats.check_instructions`; a batch in no conversation format is
    left to the scorer's own reading).

    Raises:
        ConfigError: ``batch`` is a single row (``ds.map(fn)`` without ``batched=True``).
        FormatError: a row's instruction is empty or null (names the row).
    """
    single = isinstance(indices, int) or not isinstance(batch, Mapping)
    columns = {c for cols in FORMATS.values() for c in cols}
    for key in columns & set(batch.keys() if isinstance(batch, Mapping) else ()):
        value = batch[key]
        if value is None or isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__len__"):
            single = True
        elif key in _CONVERSATION_COLUMNS and len(value) and isinstance(value[0], Mapping):
            single = True  # one conversation (a list of messages), not a list of conversations
    if single:
        raise ConfigError(f"{who} scores batches: call ds.map({who}, batched=True) (it was given "
                          f"one row, as ds.map without batched=True passes).")
    try:
        fmt = detect_format(batch.keys())
    except FormatError:
        return
    check_instructions(batch, format=fmt, indices=indices)


class _LengthScorer:
    column = ""
    part = 0  # 0: instruction, 1: response
    name = ""

    def __call__(self, batch: dict[str, list], indices: list[int] | None = None) -> dict[str, list]:
        """Score a batch from ``Dataset.map(batched=True[, with_indices=True])``."""
        require_batch(batch, indices, type(self).__name__ + "()")
        # the turns of the DEITA scorers (a leading assistant message kept as a turn, as DEITA's
        # score pipeline does), so the two scores' per-turn lists line up
        turns = turns_from_batch(batch, indices=indices, leading_assistant="keep")
        return {self.column: [[float(len(turn[self.part])) for turn in row] for row in turns]}

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "revision": None, "kind": "length-baseline",
                "column": self.column, "unit": "characters"}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class InstructionLengthScorer(_LengthScorer):
    """Stand-in complexity scorer: complexity = instruction length in characters (per turn)."""

    column = "complexity"
    part = 0
    name = "instruction-length"


class ResponseLengthScorer(_LengthScorer):
    """Stand-in quality scorer: quality = response length in characters (per turn)."""

    column = "quality"
    part = 1
    name = "response-length"
