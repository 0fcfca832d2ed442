"""Turn a preference pool into a DPO set of a given size: random, or by DEITA score.

DEITA's DPO stage used 10K pairs sampled at random from UltraFeedback
(hkust-nlp/deita ``src/deita/data/sample_ultrafeedback.py``). :func:`build_preference_dataset`
does that with a seed, or ranks the pairs by the DEITA score (Σ over turns of complexity ×
quality) of the prompt and the chosen response and keeps the best. Every original column is
kept; the ``deita`` strategy adds ``complexity``, ``quality`` (per turn) and ``deita_score``.

Example:
    >>> from datasets import Dataset
    >>> from deita_hf.pipeline.preference import build_preference_dataset
    >>> pool = Dataset.from_dict({"prompt": ["a", "b", "c"], "chosen": ["x", "y", "z"],
    ...                           "rejected": ["-", "-", "-"]})
    >>> len(build_preference_dataset(pool, 2, seed=0))
    2
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from datasets import Dataset

from deita_hf.components import apply_components
from deita_hf.data.preference import detect_preference_format, preference_to_messages
from deita_hf.errors import ConfigError

__all__ = ["STRATEGIES", "build_preference_dataset", "conversations_for_scoring"]

logger = logging.getLogger(__name__)

STRATEGIES = ("random", "deita")
_ADDED = ("complexity", "quality", "deita_score")


def _conversation_batch(batch: Mapping[str, list], indices: Sequence[int], fmt: str) -> dict:
    keys = list(batch)
    messages, keep = [], []
    for i, index in enumerate(indices):
        conv = preference_to_messages({k: batch[k][i] for k in keys}, format=fmt, index=index)
        keep.append(conv is not None)
        messages.append(conv["prompt"] + conv["chosen"] if conv is not None
                        else [{"role": "user", "content": ""}])
    return {"messages": messages, "_keep": keep, "_row": list(indices)}


def conversations_for_scoring(ds: Dataset) -> Dataset:
    """The prompt + chosen conversation of every usable row, in TRL ``messages`` format.

    Every row is converted (so a malformed one fails here, with its index); AlpacaEval draws
    are left out.

    Args:
        ds: a preference dataset in any :data:`~deita_hf.training.PREFERENCE_FORMATS` format.

    Returns:
        A ``Dataset`` with ``messages`` (prompt messages + chosen reply) and ``_row`` (the row's
        index in ``ds``).

    Raises:
        deita_hf.data.formats.FormatError: unknown columns or a malformed row.
    """
    fmt = detect_preference_format(ds.column_names)
    conv = ds.map(_conversation_batch, batched=True, with_indices=True, fn_kwargs={"fmt": fmt},
                  remove_columns=ds.column_names, desc=f"Reading {fmt} preference pairs")
    if fmt == "alpaca_eval":
        conv = conv.filter(lambda keep: keep, input_columns="_keep", desc="Dropping draws")
    return conv.remove_columns("_keep")


def _deita_scores(batch: Mapping[str, list]) -> dict[str, list]:
    from deita_hf.selection import deita_score

    rows = batch["_row"]
    return {"deita_score": [deita_score(c, q, index=r)
                            for c, q, r in zip(batch["complexity"], batch["quality"], rows)]}


def build_preference_dataset(ds: Dataset, size: int, *, strategy: str = "random", seed: int = 0,
                             complexity_scorer: Callable | None = None,
                             quality_scorer: Callable | None = None,
                             batch_size: int = 64) -> Dataset:
    """Pick ``size`` preference pairs from ``ds``.

    Args:
        ds: the preference pool, in any :data:`~deita_hf.training.PREFERENCE_FORMATS` format
            (TRL prompt/chosen/rejected, ShareGPT conversations + chosen/rejected, AlpacaEval
            annotations, implicit-prompt chosen/rejected). AlpacaEval draws are never picked.
        size: how many pairs to keep.
        strategy: ``"random"``: a uniform sample drawn with ``seed``, in the order drawn
            (DEITA's choice; Python's ``random.Random(seed).sample`` over the row indices, as
            DEITA's ``sample_ultrafeedback.py``, so seed 42 on UltraFeedback ``train_prefs``
            gives DEITA's pairs); ``"deita"``: the ``size`` pairs with the highest DEITA score of prompt +
            chosen response, best first (ties: lower row index first).
        seed: the random seed (``random`` strategy).
        complexity_scorer, quality_scorer: for ``deita``: callables
            ``scorer(batch, indices) -> {"complexity"|"quality": [[float per turn], ...]}``
            (:mod:`deita_hf.scoring`; ``build_scorer(kind, "length")`` for the length
            baselines).
        batch_size: rows per scorer call.

    Returns:
        The selected rows with all their columns; ``deita`` adds ``complexity``, ``quality``
        and ``deita_score``.

    Raises:
        ValueError: unknown strategy, bad ``size`` (not in 1..usable rows), missing scorers, or
            a pool that already has a column ``deita`` would add.
        deita_hf.data.formats.FormatError: the pool is not preference data, or a row is malformed.

    Example:
        >>> from datasets import Dataset
        >>> from deita_hf.components import build_scorer
        >>> pool = Dataset.from_dict({"prompt": ["Hi", "Explain DPO in detail"],
        ...                           "chosen": ["Hello", "DPO optimises ..."],
        ...                           "rejected": ["-", "-"]})
        >>> out = build_preference_dataset(pool, 1, strategy="deita",
        ...     complexity_scorer=build_scorer("complexity", "length"),
        ...     quality_scorer=build_scorer("quality", "length"))
        >>> out[0]["prompt"]
        'Explain DPO in detail'
    """
    if strategy not in STRATEGIES:
        raise ConfigError(f"strategy={strategy!r}; expected one of {STRATEGIES}.")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size <= 0:
        raise ConfigError(f"size must be a positive integer, got {size!r}.")
    if strategy == "deita":
        if complexity_scorer is None or quality_scorer is None:
            raise ConfigError(
                "strategy='deita' needs complexity_scorer and quality_scorer, e.g. "
                "deita_hf.build_scorer('complexity', 'length') or a scorer model path."
            )
        clash = [c for c in _ADDED if c in ds.column_names]
        if clash:
            raise ConfigError(
                f"The pool already has column(s) {clash}, which strategy='deita' adds. Rename or "
                f"remove them first (ds.remove_columns({clash}))."
            )
    conv = conversations_for_scoring(ds)
    usable = len(conv)
    if size > usable:
        dropped = len(ds) - usable
        raise ConfigError(
            f"size={size} but the pool has only {usable} usable pairs"
            + (f" ({dropped} draws left out)" if dropped else "") + "; lower --size."
        )
    if strategy == "random":
        # Python's random.sample, as DEITA's sample_ultrafeedback.py (random.seed(42);
        # random.sample(range(len(data)), n)): on the same pool and seed, the same pairs
        rows = range(len(ds)) if usable == len(ds) else [int(r) for r in conv["_row"]]
        picked = random.Random(seed).sample(rows, size)
        logger.info("Sampled %d of %d pairs at random (seed %d).", size, usable, seed)
        return ds.select(picked)
    scored = apply_components(conv, [complexity_scorer, quality_scorer], index_column="_row",
                              label="Scoring prompt + chosen (DEITA)", batch_size=batch_size)
    scored = scored.map(_deita_scores, batched=True, desc="DEITA score")
    scores = np.asarray(scored["deita_score"], dtype=np.float64)
    order = np.lexsort((np.asarray(scored["_row"]), -scores))[:size]  # best first, then index
    picked_rows = [int(r) for r in np.asarray(scored["_row"])[order]]
    out = ds.select(picked_rows)
    kept = scored.select(order.tolist())
    for col in _ADDED:
        out = out.add_column(col, kept[col])
    logger.info("Kept the %d best of %d pairs by DEITA score (lowest kept: %.4g).", size, usable,
                float(scores[order[-1]]))
    return out
