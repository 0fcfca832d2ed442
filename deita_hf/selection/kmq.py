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
  (Efraimidis–Spirakis keys log(u_i) / w_i, which give exactly that successive sampling, the
  distribution of ``np.random.choice(..., replace=False, p=...)``);
  w_i = exp(trunc(score_i) / T), T = ``temperature`` = 1: the softmax over the cluster of the
  scores truncated to integers (``truncate_scores=False``: of the scores as given;
  ``temperature=None``: w_i = score_i, >= 0).

The authors' code: github.com/for-ai/iterative-data-selection at commit
6ac577259d6bc263763e6ac24a3271e14546d3bd, ``selection/methods/deita/kmeansrandom.py``, class
``KMenasRandomDeita``, with ``DeitaScoreFaiss.get_scores`` (``selection/methods/deita/
scorefaiss.py``) and ``selection/main.py``. What it runs, and what the defaults here are:

- K = 512: the class's default. Its config (``KMenasRandomDeita.yaml``) says ``K: 1024`` but
  ``main.py`` passes K only to ``"KMeansRandomDeita"`` (a different spelling), so 512 is used.
- the scores are read with ``np.array(scores, dtype=np.int64)`` (truncated toward zero), then
  weighted by ``np.exp(scores_i) / np.sum(np.exp(scores_i))`` in each cluster (softmax);
- faiss k-means with ``niter=300`` (``iterations=300`` here) on the raw embeddings with L2
  distance (``normalize=False`` here; the authors' encoders do not normalise); seed 42.
- quota ``min(int(coreset_size / K), cluster size)``, equal for every cluster.

Deliberate differences (documented, not defaults that hide): the original leaves the rest of
the budget unused (the ``floor`` remainder and the quota of clusters smaller than it); here
those rows go to the clusters that still have rows, so ``min(budget, n)`` rows are returned.
k-means here is the package's deterministic k-means++ / Lloyd in float64, not faiss's (random
initialisation, ``nredo=5``), so clusters are not identical; the draws use numpy's
``default_rng(seed)`` keys, not the global ``np.random.seed(42)`` stream (same distribution,
other draws). The softmax subtracts the cluster's largest score first (the same weights; no
overflow). The original reads embeddings from its own encoders; here any ``embedding`` column
(``--embedder``). Not implemented: the paper's *iterative refinement* (train on a first slice,
generate with the model, score its answers against the gold ones with a reward model, and draw
the next slice's clusters from softmax(mean reward gap per cluster)); it needs training and
generation inside the selection loop; ``deita-hf study`` can run the static kMQ arm only.

Example:
    >>> from datasets import Dataset
    >>> ds = Dataset.from_dict({"embedding": [[1.0, 0.0], [0.9, 0.1], [0.95, 0.05],
    ...                                       [0.0, 1.0]], "s": [1.0, 5.0, 2.0, 3.0]})
    >>> out = select_kmq(ds, 2, n_clusters=2, score_column="s", normalize=True, progress=False)
    >>> sorted(out["cluster"][:])   # one row per cluster, although the clusters' sizes differ
    [0, 1]
"""

from __future__ import annotations

from datasets import Dataset

from deita_hf.errors import ConfigError
from deita_hf.selection.kmeans import cluster_and_sample, split_budget_equal
from deita_hf.selection.result import SelectionStats

__all__ = ["KMQ_CLUSTERS", "KMQ_ITERATIONS", "select_kmq", "split_budget_equal"]

#: the authors' number of clusters as their code runs (KMenasRandomDeita's default K=512; the
#: config's 1024 never reaches it)
KMQ_CLUSTERS = 512
#: the authors' faiss k-means iterations (niter=300)
KMQ_ITERATIONS = 300


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
    iterations: int = KMQ_ITERATIONS,
    temperature: float | None = 1.0,
    truncate_scores: bool = True,
    normalize: bool = False,
    block_size: int | None = None,
    progress: bool = True,
    return_stats: bool = False,
) -> Dataset | tuple[Dataset, SelectionStats]:
    """kMQ: k-means, an equal budget per cluster, quality-weighted sampling inside each.

    Args:
        ds: the pool; every column is kept in the output.
        budget: rows to select (>= 1); with fewer rows, all are returned with a warning.
        n_clusters: k (default 512, what the authors' code runs; at most ``len(ds)``).
        embedding_column: one list of numbers per row, all of one dimension.
        score_column: a ready quality score; complexity_column, quality_column: instead, the
            DEITA score Σ c × q (the authors' ``KMenasRandomDeita``); neither: uniform sampling
            in each cluster.
        seed: seed of the one ``numpy.random.default_rng`` (k-means++ seeding, then the keys).
        iterations: at most this many Lloyd iterations (the authors' faiss ``niter``: 300).
        temperature: weight ∝ exp(score / temperature) (default 1: the authors' softmax);
            ``None``: weight = score (>= 0).
        truncate_scores: weigh the scores truncated toward zero, as the authors' int64 cast
            does (default); False: the scores as given (``selection_score`` always keeps them).
        normalize: cluster unit rows (cosine geometry) or raw rows with L2 distance (default,
            the authors' faiss k-means on their encoders' raw embeddings).
        block_size: rows per distance block (memory only; default 8192).
        progress: show a progress bar over the Lloyd iterations.
        return_stats: also return a :class:`~deita_hf.selection.result.SelectionStats`.

    Returns:
        The kept rows, cluster by cluster, with ``cluster``, ``selection_rank`` and, with a
        score, ``selection_score``; with ``return_stats=True``, ``(dataset, stats)`` (params:
        ``cluster_sizes``, ``cluster_quotas``, ``budget_split="equal"``).

    Raises:
        ConfigError: a bad budget, n_clusters (e.g. more clusters than rows: pass
            ``kmq:n_clusters=...``), iterations, seed, temperature, normalize, truncate_scores
            or block size.
        SelectionError: a missing column, bad embeddings or scores, a negative score as a
            weight (names the column and row).

    Example:
        >>> from datasets import Dataset
        >>> ds = Dataset.from_dict({"embedding": [[0.0], [0.1], [0.2], [5.0]]})
        >>> select_kmq(ds, 2, n_clusters=2, normalize=False, progress=False)["cluster"][:]
        [0, 1]
    """
    if not isinstance(truncate_scores, bool):
        raise ConfigError(f"truncate_scores must be True or False, got {truncate_scores!r}.")
    return cluster_and_sample(
        ds, budget, strategy="kmq", split="equal", n_clusters=n_clusters,
        embedding_column=embedding_column, score_column=score_column,
        complexity_column=complexity_column, quality_column=quality_column, seed=seed,
        iterations=iterations, temperature=temperature, normalize=normalize,
        block_size=block_size, progress=progress, return_stats=return_stats,
        truncate_scores=truncate_scores)
