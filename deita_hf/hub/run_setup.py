"""What a selection run's components say about its set-up: the paper's or not, the scorer
dtype, the embedder. Pure functions of the settings' ``scorers`` (the card reads them; the
presets and :class:`~deita_hf.pipeline.DatasetSelector` record them).

Example:
    >>> paper_setup({"complexity": {"kind": "length-baseline"}})
    False
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["paper_setup", "run_setup"]


def paper_setup(scorers: Mapping[str, Any] | None) -> bool | None:
    """Whether a run's components are the paper's set-up (its Repr filter with model scores).

    Args:
        scorers: the card's ``scorers`` settings: role (``complexity``, ``quality``,
            ``embedder``) -> the component's ``describe()``.

    Returns:
        True: model scorers and :class:`~deita_hf.embedding.DeitaEmbedder`; False: a length
        baseline or another embedder (MiniLM, ...); None: a column was precomputed (or a ready
        score column was used), so the run cannot tell.

    Example:
        >>> paper_setup({"complexity": {"kind": "model"}, "quality": {"kind": "model"},
        ...              "embedder": {"kind": "sentence-transformers"}})
        False
    """
    scorers = scorers or {}
    kinds = {role: (scorers.get(role) or {}).get("kind") for role in
             ("complexity", "quality", "embedder")}
    if kinds["complexity"] == "length-baseline" or kinds["quality"] == "length-baseline":
        return False
    if kinds["embedder"] not in (None, "precomputed", "deita-causal-lm"):
        return False
    if any(kind in (None, "precomputed") for kind in kinds.values()):
        return None
    return (kinds["complexity"] in ("model", "vllm") and kinds["quality"] in ("model", "vllm")
            and kinds["embedder"] == "deita-causal-lm")


def _scorer_dtype(scorers: Mapping[str, Any]) -> str | None:
    """The model scorers' compute dtype(s), as one string (None: no model scorer ran)."""
    found = {}
    for role in ("complexity", "quality"):
        info = scorers.get(role) or {}
        if info.get("kind") in ("model", "vllm"):
            found[role] = str(info.get("compute_dtype") or info.get("dtype") or "auto")
    if not found:
        return None
    if len(set(found.values())) == 1:
        return next(iter(found.values()))
    return ", ".join(f"{role} {dtype}" for role, dtype in found.items())


def run_setup(scorers: Mapping[str, Any] | None, *, preset: str | None = None) -> dict[str, Any]:
    """What a selection records about its set-up (``deita_selection.json`` and the card).

    Args:
        scorers: role (``complexity``, ``quality``, ``embedder``) -> ``describe()``.
        preset: the preset the components came from (None: none, or unknown).

    Returns:
        ``{"preset", "scorer_dtype", "embedder", "paper_setup"}``: the scorers' compute dtype
        (None when no model scorer ran), the embedder as ``"name [kind]"`` and
        :func:`paper_setup`.

    Example:
        >>> run_setup({"complexity": {"kind": "length-baseline", "name": "instruction-length"},
        ...            "quality": {"kind": "model", "name": "q", "compute_dtype": "float32"},
        ...            "embedder": {"kind": "sentence-transformers", "name": "minilm"}},
        ...           preset="deita")["scorer_dtype"]
        'float32'
    """
    scorers = scorers or {}
    embedder = scorers.get("embedder")
    return {
        "preset": preset,
        "scorer_dtype": _scorer_dtype(scorers),
        "embedder": f"{embedder.get('name')} [{embedder.get('kind')}]" if embedder else None,
        "paper_setup": paper_setup(scorers),
    }
