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

from typing import Any

from deita_hf.data.formats import turns_from_batch

__all__ = ["InstructionLengthScorer", "ResponseLengthScorer"]


class _LengthScorer:
    column = ""
    part = 0  # 0: instruction, 1: response
    name = ""

    def __call__(self, batch: dict[str, list], indices: list[int] | None = None) -> dict[str, list]:
        """Score a batch from ``Dataset.map(batched=True[, with_indices=True])``."""
        turns = turns_from_batch(batch, indices=indices)
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
