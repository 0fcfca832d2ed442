"""``select_kmq``: kMQ (k-means-quality; Yu et al., 2024, *Diversify and Conquer:
Diversity-Centric Data Selection with Iterative Refinement*, arXiv:2409.11378).

k-means clusters of the embeddings; the budget split **equally** over the clusters; inside each
cluster, rows drawn without replacement with probability proportional to their quality score.
It runs on the machinery of ``kmeans`` (:func:`deita_hf.selection.kmeans.cluster_and_sample`):
the same k-means, the same sampling; only the budget split and the defaults differ.

Formula (m = min(budget, n); k clusters of sizes s_c; w_i the weight of row i):

- quota: q_c = min(s_c, t) for the largest t with Σ_c min(s_c, t) <= m, then one more row to
  each of the m − Σ q_c largest clusters that still have rows (:func:`split_budget_equal`);
- sampling in cluster c: q_c rows without replacement, P(i first) = w_i / Σ_{j in c} w_j
  (Efraimidis–Spirakis keys log(u_i) / w_i, which give exactly that successive sampling);
  w_i = score_i (``temperature=None``) or exp(score_i / T) (``temperature=T``).

Where this follows the authors' code (github.com/for-ai/iterative-data-selection,
``selection/methods/deita/kmeansrandom.py``, class ``KMenasRandomDeita``) and where it differs:

- Same: equal quota per cluster (``int(coreset_size / K)``, capped at the cluster's size);
  sampling ``np.random.choice(..., replace=False, p=w / Σw)`` with w = max(score, 0) (one version
  of the file) or w = exp(score) (another: ``temperature=1``); K = 1024 (its config); seed 42.
- Different: the original leaves the rest of the budget unused (the ``floor`` remainder and the
  quota of clusters smaller than it); here those rows go to the clusters that still have rows,
  so ``min(budget, n)`` rows are returned. k-means here is the package's deterministic
  k-means++ / Lloyd in float64 (at most ``iterations`` = 200 rounds, the authors' ``niter``), not
  faiss's (random initialisation, ``nredo=5``), so clusters are not identical. A negative score
  is an error here (the original clips it to 0). The original reads embeddings from its own
  encoders; here any ``embedding`` column (``--embedder``).
- Not implemented: the paper's *iterative refinement* (train on a first slice, generate with the
  model, score its answers against the gold ones with a reward model, and draw the next
  slice's clusters from softmax(mean reward gap per cluster)). It needs training and generation
  inside the selection loop; ``deita-hf study`` can run the static kMQ arm only.

Example:
    >>> from datasets import Dataset
    >>> ds = Dataset.from_dict({"embedding": [[1.0, 0.0], [0.9, 0.1], [0.95, 0.05],
    ...                                       [0.0, 1.0]], "s": [1.0, 5.0, 2.0, 3.0]})
    >>> out = select_kmq(ds, 2, n_clusters=2, score_column="s", progress=False)
    >>> sorted(out["cluster"][:])   # one row per cluster, although the clusters' sizes differ
    [0, 1]
"""

from __future__ import annotations

from datasets import Dataset

from deita_hf.selection.kmeans import cluster_and_sample, split_budget_equal
from deita_hf.selection.result import SelectionStats

__all__ = ["KMQ_CLUSTERS", "select_kmq", "split_budget_equal"]

#: the authors' number of clusters (selection/config/coreset/KMenasRandomDeita.yaml: K: 1024)
KMQ_CLUSTERS = 1024


def select_kmq(
    ds: Dataset,
    budget: int,
    *,
    n_clusters: int = KMQ_CLUSTERS,
    embedding_column: str = "embedding",
    score_column: str | None = None,
    complexity_column: str | None = None,
    quality_column: str | None = None,
    seed: int = 42,
    iterations: int = 200,
    temperature: float | None = None,
    normalize: bool = True,
    block_size: int | None = None,
    progress: bool = True,
    return_stats: bool = False,
) -> Dataset | tuple[Dataset, SelectionStats]:
    """kMQ: k-means, an equal budget per cluster, quality-weighted sampling inside each.

    Args:
        ds: the pool; every column is kept in the output.
        budget: rows to select (>= 1); with fewer rows, all are returned with a warning.
        n_clusters: k (default 1024, the authors'; at most ``len(ds)``).
        embedding_column: one list of numbers per row, all of one dimension.
        score_column: a ready quality score; complexity_column, quality_column: instead, the
            DEITA score Σ c × q (the authors' ``KMenasRandomDeita``); neither: uniform sampling
            in each cluster.
        seed: seed of the one ``numpy.random.default_rng`` (k-means++ seeding, then the keys).
        iterations: at most this many Lloyd iterations (the authors' faiss ``niter``: 200).
        temperature: ``None``: weight = score (>= 0); else weight ∝ exp(score / temperature)
            (``1``: the softmax version of the authors' file).
        normalize: cluster unit rows (cosine geometry) or raw rows (the authors' IndexFlatL2).
        block_size: rows per distance block (memory only; default 8192).
        progress: show a progress bar over the Lloyd iterations.
        return_stats: also return a :class:`~deita_hf.selection.result.SelectionStats`.

    Returns:
        The kept rows, cluster by cluster, with ``cluster``, ``selection_rank`` and, with a
        score, ``selection_score``; with ``return_stats=True``, ``(dataset, stats)`` (params:
        ``cluster_sizes``, ``cluster_quotas``, ``budget_split="equal"``).

    Raises:
        ConfigError: a bad budget, n_clusters (e.g. more clusters than rows: pass
            ``kmq:n_clusters=...``), iterations, seed, temperature, normalize or block size.
        SelectionError: a missing column, bad embeddings or scores, a negative score as a
            weight (names the column and row).

    Example:
        >>> from datasets import Dataset
        >>> ds = Dataset.from_dict({"embedding": [[0.0], [0.1], [0.2], [5.0]]})
        >>> select_kmq(ds, 2, n_clusters=2, normalize=False, progress=False)["cluster"][:]
        [0, 1]
    """
    return cluster_and_sample(
        ds, budget, strategy="kmq", split="equal", n_clusters=n_clusters,
        embedding_column=embedding_column, score_column=score_column,
        complexity_column=complexity_column, quality_column=quality_column, seed=seed,
        iterations=iterations, temperature=temperature, normalize=normalize,
        block_size=block_size, progress=progress, return_stats=return_stats)
