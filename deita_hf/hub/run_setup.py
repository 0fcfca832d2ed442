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

__all__ = ["paper_setup", "run_setup", "settings_with_provenance"]


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


#: the settings' scorer roles -> the role in :func:`deita_hf.folder.stats.columns_from_settings`
_ROLE_COLUMNS = {"complexity": "complexity", "quality": "quality", "embedder": "embedding"}
#: the settings :func:`run_setup` derives from the scorers
_SETUP_KEYS = ("scorer_dtype", "embedder", "paper_setup")


def settings_with_provenance(settings: Mapping[str, Any], *datasets: Any) -> dict[str, Any]:
    """Fill the settings' ``scorers`` from what the rows say computed their columns.

    A role the settings do not name, or name as ``precomputed`` (a column read from the
    input), takes the record the dataset carries for that column
    (:func:`deita_hf.data.provenance.column_provenance`: the component that wrote it, in this
    process or in the ``deita-hf score`` run the pool was read from); roles the settings name
    are kept as they are, and so are roles whose column the strategy did not read (the
    settings' ``columns``). When a role was filled, the derived set-up (``scorer_dtype``,
    ``embedder``, ``paper_setup``) is recomputed; ``score_run`` is added when the rows came from
    a ``deita-hf score`` folder and the settings have none (and its folder as ``input`` when
    the settings name no input).

    Args:
        settings: the selection's settings.
        *datasets: the selected rows, then the pool (None entries are skipped); the first
            that has a column's record gives it.

    Returns:
        A new settings dict.

    Example:
        >>> from datasets import Dataset
        >>> from deita_hf.data.provenance import with_provenance
        >>> ds = with_provenance(Dataset.from_dict({"quality": [[1.0]]}),
        ...                      {"quality": {"name": "q", "kind": "model"}})
        >>> out = settings_with_provenance({"scorers": {"quality": {"name": "column 'quality' "
        ...                                 "of the input", "kind": "precomputed"}}}, ds)
        >>> out["scorers"]["quality"]
        {'name': 'q', 'kind': 'model'}
    """
    from deita_hf.data.provenance import column_provenance, score_run_provenance
    from deita_hf.folder.stats import columns_from_settings

    out = dict(settings)
    sources = [ds for ds in datasets if ds is not None]
    records: dict[str, Any] = {}
    for ds in reversed(sources):  # the first dataset wins
        records.update(column_provenance(ds))
    columns = columns_from_settings(out)
    scorers = dict(out.get("scorers") or {})
    # the columns the strategy read (SelectionStats.columns), when the settings list them
    read = out.get("columns")
    read = {str(v) for v in read.values() if v} if isinstance(read, Mapping) else None
    filled = False
    for role, key in _ROLE_COLUMNS.items():
        known = scorers.get(role)
        record = records.get(columns[key])
        if read is not None and columns[key] not in read:
            continue
        if record and (not known or known.get("kind") == "precomputed"):
            scorers[role] = record
            filled = True
    if filled:
        out["scorers"] = scorers
        derived = run_setup(scorers, preset=out.get("preset"))
        out.update({k: derived[k] for k in _SETUP_KEYS})
    if not out.get("score_run"):
        run = next((r for r in map(score_run_provenance, sources) if r), None)
        if run:
            out["score_run"] = run
            if not out.get("input") and run.get("folder"):
                out["input"] = run["folder"]  # the pool is that folder's rows
    return out
