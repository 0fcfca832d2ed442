"""``select_mig``: MIG, greedy selection that maximises the information gain over a label graph
(Chen et al., 2025, *MIG: Automatic Data Selection for Instruction Tuning by Maximizing
Information Gain in Semantic Space*, arXiv:2504.13835; code: github.com/yichengchen24/MIG at
commit 969eb5383623b977807a181b25f3b66e2d04dab6, ``mig/label.py`` and ``mig/sampler.py``).

The formula, as the authors' code computes it (defaults in brackets):

- **Labels**: the distinct tags of the pool (InsTag tags, ``tags_column``), sorted; L of them.
  Row i has the label set T_i and the weight w_i = s_i (or, with ``normalize_by_tags``, s_i
  divided by the row's tag count WITH duplicates, as ``LabelGraph.vectorize`` divides by
  ``len(dp.labels)``), s_i its quality score (DEITA's complexity × quality, averaged over
  the turns as the authors' loader does; 1 without a score). v_i ∈ R^L is w_i on T_i, 0 elsewhere.
- **Label graph**: e_l the unit embedding of label l (``label_embedder``: the pool's embedder);
  W_lk = e_l·e_k where e_l·e_k >= τ [τ = 0.9], else 0 (the diagonal is always kept).
  Propagation P = diag(W) + β · offdiag(W) [β = ``propagation_weight`` = 1], each column
  divided by its sum. A row's information spreads to similar labels: u_i = v_i P.
- **Information** of a set S: x = Σ_{i∈S} u_i, E(S) = Σ_l Φ(x_l) with a concave Φ:
  ``pow``: Φ(x) = (x + a)^b [a = 1e-6, b = 0.8]; ``exp``: Φ(x) = 1 − e^(−αx) [α = 1].
- **Greedy**: each step keeps the row of largest gain ∇E(x)·u_i = Σ_l Φ'(x_l) (u_i)_l (the
  first-order gain the authors' sampler uses), ties to the lower row, then x ← x + u_i.

Exactness and speed: the gain of a row never grows (Φ' decreases, x only grows, every term is
>= 0), so a lazy priority queue (re-evaluate the best stale bound until it is fresh) picks
exactly the row the full argmax picks, with each gain summed by ``math.fsum`` (correctly
rounded, so re-evaluations are monotone); the graph is a sparse matrix built block by block.

Where this differs from the authors' code: their loader drops tags outside a fixed vocabulary
(``configs/valid_tag_path.json``; here ``tag_vocabulary=PATH`` does the same with a JSON list
you give, none by default); labels are embedded by e5-mistral-7b-instruct in their README, here
by the embedder you pass; float64 on CPU here, float32 torch there. Their CLI's default is
``norm=False`` (``normalize_by_tags=False`` here); their sampler class's default is True.

Example:
    >>> from datasets import Dataset
    >>> ds = Dataset.from_dict({"tags": [["math"], ["math", "code"], ["code"], ["poem"]],
    ...                         "s": [4.0, 3.0, 2.0, 1.0]})
    >>> unit = {"math": [1.0, 0.0, 0.0], "code": [0.0, 1.0, 0.0], "poem": [0.0, 0.0, 1.0]}
    >>> embed = lambda tags: [unit[t] for t in tags]
    >>> select_mig(ds, 3, score_column="s", label_embedder=embed, progress=False)["tags"][:]
    [['math', 'code'], ['poem'], ['math']]

(after ``math`` and ``code`` hold 3 each, the unseen ``poem`` with score 1 gains more than a
second ``math`` row with score 4: Φ is concave.)
"""

from __future__ import annotations

import heapq
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from datasets import Dataset
from tqdm.auto import tqdm

from deita_hf.errors import ConfigError, InputNotFoundError, SelectionError
from deita_hf.selection.common import (
    RANK_COLUMN,
    SCORE_COLUMN,
    check_block_size,
    check_budget,
    check_choice,
    check_free_columns,
    finish,
    resolve_scores,
    warn_short,
)
from deita_hf.selection.instag import tag_table
from deita_hf.selection.result import SelectionStats
from deita_hf.selection.score_columns import column_of
from deita_hf.selection.text_vectors import describe_embedder, embed_strings

__all__ = ["PHIS", "label_graph", "select_mig"]

#: the concave functions Φ of the information, by name
PHIS = ("pow", "exp")


def label_graph(vectors: np.ndarray, threshold: float, propagation_weight: float,
                block: int = 4096) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The propagation matrix P of the module docstring, as CSR ``(indptr, indices, data)``.

    Args:
        vectors: unit label embeddings, one row per label.
        threshold: τ, the smallest cosine that makes an edge.
        propagation_weight: β, the weight of the edges against the label itself.
        block: labels per block of the similarity product (memory only).

    Returns:
        Row l of P holds ``data[indptr[l]:indptr[l + 1]]`` at columns ``indices[...]``.

    Example:
        >>> e = np.array([[1.0, 0.0], [0.96, 0.28], [0.0, 1.0]])
        >>> indptr, indices, data = label_graph(e, 0.9, 1.0)
        >>> indptr.tolist(), indices.tolist(), data.round(3).tolist()
        ([0, 2, 4, 5], [0, 1, 0, 1, 2], [0.51, 0.49, 0.49, 0.51, 1.0])
    """
    n = len(vectors)
    rows, cols, vals = [], [], []
    for lo in range(0, n, block):
        sims = vectors[lo: lo + block] @ vectors.T
        keep = sims >= threshold
        keep[np.arange(len(sims)), np.arange(lo, lo + len(sims))] = True  # the label itself
        r, c = np.nonzero(keep)
        w = sims[r, c]
        w = np.where(r + lo == c, w, w * propagation_weight)
        rows.append(r + lo)
        cols.append(c)
        vals.append(w)
    r, c, w = (np.concatenate(a) for a in (rows, cols, vals))
    column_sums = np.bincount(c, weights=w, minlength=n)
    data = w / column_sums[c]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(r, minlength=n))])
    return indptr, c.astype(np.int64), data


def _phi_derivative(phi: str, a: float, b: float, alpha: float):
    if phi == "pow":
        return lambda x: b * (x + a) ** (b - 1.0)
    return lambda x: alpha * math.exp(-alpha * x)


def _information(phi: str, x: np.ndarray, a: float, b: float, alpha: float) -> float:
    if phi == "pow":
        return float(((x + a) ** b - a ** b).sum())
    return float((1.0 - np.exp(-alpha * x)).sum())


def _check(threshold: Any, propagation_weight: Any, phi: Any, phi_a: Any, phi_b: Any,
           phi_alpha: Any, normalize_by_tags: Any, mean_over_turns: Any) -> None:
    def number(name: str, value: Any, ok: Any, what: str) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value) or not ok(value):
            raise ConfigError(f"{name} must be {what}, got {value!r}.")

    number("similarity_threshold", threshold, lambda v: -1 < v <= 1, "a number in (-1, 1]")
    number("propagation_weight", propagation_weight, lambda v: v >= 0, "a number >= 0")
    check_choice("phi", phi, PHIS)
    number("phi_a", phi_a, lambda v: v > 0, "a number > 0")
    number("phi_b", phi_b, lambda v: 0 < v < 1, "a number in (0, 1) (a concave power)")
    number("phi_alpha", phi_alpha, lambda v: v > 0, "a number > 0")
    for name, value in (("normalize_by_tags", normalize_by_tags),
                        ("mean_over_turns", mean_over_turns)):
        if not isinstance(value, (bool, np.bool_)):
            raise ConfigError(f"{name} must be True or False, got {value!r}.")


def _vocabulary(path: str | None) -> set[str] | None:
    if path is None:
        return None
    file = Path(path)
    if not file.is_file():
        raise InputNotFoundError(f"tag_vocabulary {str(path)!r} is not a file; pass a JSON list "
                                 f"of tags (MIG's configs/valid_tag_path.json).")
    try:
        tags = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"tag_vocabulary {str(path)!r} is not a JSON list of tags: {err}") \
            from err
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ConfigError(f"tag_vocabulary {str(path)!r} must hold a JSON list of strings.")
    return set(tags)


def _name(described: Any) -> str:
    return str(described.get("name")) if isinstance(described, dict) else str(described)


def _turns(ds: Dataset, column: str) -> np.ndarray:
    arr = column_of(ds, column)
    if pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type):
        return np.maximum(pc.list_value_length(arr).to_numpy(zero_copy_only=False), 1)
    return np.ones(len(ds))


def select_mig(
    ds: Dataset,
    budget: int,
    *,
    tags_column: str = "tags",
    score_column: str | None = None,
    complexity_column: str | None = None,
    quality_column: str | None = None,
    mean_over_turns: bool = True,
    label_embedder: Any = None,
    similarity_threshold: float = 0.9,
    propagation_weight: float = 1.0,
    phi: str = "pow",
    phi_a: float = 1e-6,
    phi_b: float = 0.8,
    phi_alpha: float = 1.0,
    normalize_by_tags: bool = False,
    tag_vocabulary: str | None = None,
    block_size: int | None = None,
    progress: bool = True,
    return_stats: bool = False,
) -> Dataset | tuple[Dataset, SelectionStats]:
    """MIG: greedily keep the row of largest information gain (see the module docstring).

    Args:
        ds: the pool; every column is kept in the output.
        budget: rows to keep (>= 1); with fewer rows, all of them with a warning.
        tags_column: one list of tag strings per row (InsTag's ``tags``; an empty list: a row
            without information, kept only after every other row).
        score_column: a ready quality score (>= 0); complexity_column, quality_column: the
            DEITA score c × q (MIG's); neither: 1 per row.
        mean_over_turns: with complexity/quality, average c × q over the turns (MIG's loader)
            instead of summing it (DEITA's score).
        label_embedder: what embeds the tag strings: an embedder object (e.g.
            ``build_component("embedding", "minilm")``) or a function from strings to vectors.
        similarity_threshold: τ, the smallest label cosine that makes an edge (MIG: 0.9).
        propagation_weight: β, the weight of edges against a label itself (MIG: 1.0).
        phi: ``"pow"`` (MIG's default) or ``"exp"``.
        phi_a, phi_b: Φ(x) = (x + a)^b (MIG: 1e-6, 0.8).
        phi_alpha: Φ(x) = 1 − exp(−αx) (MIG: 1.0).
        normalize_by_tags: w_i = s_i / (the row's tag count, duplicates included, after
            ``tag_vocabulary``) (MIG's ``--norm``; off by default as in its CLI).
        tag_vocabulary: a JSON list of tags; other tags are dropped first (MIG's valid tags).
        block_size: labels per block of the label-similarity product (memory only).
        progress: show a progress bar over the picks.
        return_stats: also return a :class:`~deita_hf.selection.result.SelectionStats`.

    Returns:
        The kept rows in pick order with ``selection_score`` (the gain when picked) and
        ``selection_rank``; with ``return_stats=True``, ``(dataset, stats)`` (params: the
        settings, ``labels``, ``edges`` and the final ``information`` E(S)).

    Raises:
        ConfigError: a bad budget or parameter, no ``label_embedder``, an added column already
            there.
        SelectionError: a missing column, bad tags, scores that are negative or not finite
            (names the column and row), bad label vectors.

    Example:
        >>> from datasets import Dataset
        >>> ds = Dataset.from_dict({"tags": [["a"], ["a"], ["b"]]})
        >>> embed = lambda tags: [[1.0, 0.0] if t == "a" else [0.0, 1.0] for t in tags]
        >>> select_mig(ds, 2, label_embedder=embed, progress=False)["tags"][:]
        [['a'], ['b']]
    """
    start = time.perf_counter()
    budget = check_budget(budget)
    _check(similarity_threshold, propagation_weight, phi, phi_a, phi_b, phi_alpha,
           normalize_by_tags, mean_over_turns)
    block = check_block_size(block_size)
    if label_embedder is None:
        raise ConfigError("MIG embeds the tag labels to build its label graph: pass "
                          "label_embedder=<an embedder> (e.g. deita_hf.build_component("
                          "'embedding', 'minilm')), or on the command line --embedder SPEC / "
                          "--strategy mig:label_embedder=SPEC.")
    vocabulary = _vocabulary(tag_vocabulary)
    offsets, ids, names = tag_table(ds, tags_column)
    scores, columns = resolve_scores(ds, score_column=score_column,
                                     complexity_column=complexity_column,
                                     quality_column=quality_column)
    check_free_columns(ds, (RANK_COLUMN, SCORE_COLUMN), read=[tags_column, *columns.values()])
    n = len(ds)
    if scores is None:
        scores_used = np.ones(n)
    else:
        bad = np.flatnonzero(~np.isfinite(scores) | (scores < 0))
        if len(bad):
            raise SelectionError(f"Column {score_column or quality_column!r}, row {int(bad[0])}: "
                                 f"score {scores[bad[0]]} is not a finite number >= 0; MIG "
                                 f"weighs a row's labels by its score.")
        scores_used = scores.astype(np.float64)
        if complexity_column is not None and mean_over_turns:
            scores_used = scores_used / _turns(ds, complexity_column)
    keep_label = np.array([vocabulary is None or t in vocabulary for t in names], dtype=bool)
    label_index = np.cumsum(keep_label) - 1
    labels = [t for t, k in zip(names, keep_label) if k]
    row_labels: list[list[int]] = []
    n_row_tags: list[int] = []  # with duplicates, as MIG's LabelGraph.vectorize counts them
    for i in range(n):
        own = ids[offsets[i]: offsets[i + 1]]
        own = own[keep_label[own]] if len(own) else own
        row_labels.append(sorted({int(label_index[t]) for t in own}))
        n_row_tags.append(len(own))
    weights = np.array([s / k if normalize_by_tags and k else s
                        for s, k in zip(scores_used.tolist(), n_row_tags)], dtype=np.float64)
    vectors = embed_strings(label_embedder, labels, what="tag", progress=progress)
    if labels:
        indptr, indices, data = label_graph(vectors, float(similarity_threshold),
                                            float(propagation_weight), block)
    else:
        indptr, indices, data = np.zeros(1, dtype=np.int64), np.zeros(0, np.int64), np.zeros(0)
    derivative = _phi_derivative(phi, float(phi_a), float(phi_b), float(phi_alpha))
    x = np.zeros(len(labels))
    g = np.full(len(labels), derivative(0.0))
    h, h_step = np.zeros(len(labels)), np.full(len(labels), -1)
    step = 0

    def gain(i: int) -> float:
        for lab in row_labels[i]:
            if h_step[lab] != step:
                lo, hi = indptr[lab], indptr[lab + 1]
                h[lab] = math.fsum((data[lo:hi] * g[indices[lo:hi]]).tolist())
                h_step[lab] = step
        return weights[i] * math.fsum(h[row_labels[i]].tolist()) if row_labels[i] else 0.0

    # first bounds: a vectorised gain at x = 0, raised a little so it bounds the exact one
    h0 = np.add.reduceat(data * g[indices], indptr[:-1]) if len(labels) else np.zeros(0)
    first = [weights[i] * float(h0[t].sum()) * (1 + 1e-9) if t else 0.0
             for i, t in enumerate(row_labels)]
    heap = [(-b, i, -1) for i, b in enumerate(first)]
    heapq.heapify(heap)
    rows, gains = [], []
    with tqdm(total=min(budget, n), desc="select_mig", unit="row", disable=not progress) as bar:
        while heap and len(rows) < budget:
            bound, i, fresh = heapq.heappop(heap)
            if fresh != step:
                heapq.heappush(heap, (-gain(i), i, step))
                continue
            rows.append(i)
            gains.append(-bound)
            for lab in row_labels[i]:
                lo, hi = indptr[lab], indptr[lab + 1]
                np.add.at(x, indices[lo:hi], weights[i] * data[lo:hi])
            touched = np.unique(np.concatenate(
                [indices[indptr[lab]: indptr[lab + 1]] for lab in row_labels[i]] or [[]])
            ).astype(np.int64)
            g[touched] = [derivative(v) for v in x[touched].tolist()]
            step += 1
            bar.update(1)
    warn_short(len(rows), budget, "are in the pool")
    rows_arr = np.asarray(rows, dtype=np.int64)
    return finish(
        ds, rows_arr, strategy="mig", budget=budget, start=start,
        added={SCORE_COLUMN: gains, RANK_COLUMN: list(range(len(rows)))},
        params={"similarity_threshold": similarity_threshold,
                "propagation_weight": propagation_weight, "phi": phi,
                **({"phi_a": phi_a, "phi_b": phi_b} if phi == "pow" else {"phi_alpha": phi_alpha}),
                "normalize_by_tags": bool(normalize_by_tags),
                "mean_over_turns": bool(mean_over_turns) if complexity_column else None,
                "tag_vocabulary": tag_vocabulary, "labels": len(labels),
                "edges": int((len(indices) - len(labels)) // 2),
                "label_embedder": _name(describe_embedder(label_embedder)),
                "information": _information(phi, x, float(phi_a), float(phi_b),
                                            float(phi_alpha))},
        columns={"tags_column": tags_column, **columns},
        pool_scores=scores, return_stats=return_stats,
    )
