"""Decontamination: drop pool rows whose instruction matches a prompt of an evaluation benchmark,
before selection (so the budget is still filled), and report what was dropped.

What is compared: **every user turn** of each pool row (read through
:func:`deita_hf.data.formats.to_messages`; an Alpaca ``input`` is part of its instruction) with
every prompt (every turn) of each benchmark (:mod:`deita_hf.data.benchmark_prompts`:
``mt_bench``, ``alpaca_eval``, files). A row is dropped when one of its user turns matches one
prompt:

- ``method="ngram"`` (default): they share a word n-gram after normalisation (13 words by
  default, as GPT-3 and lm-eval-harness; :mod:`deita_hf.selection.ngram_overlap` says how short
  prompts are handled and what a changed word does);
- ``method="embedding"``: the cosine of their embeddings is >= ``threshold``; both texts are
  embedded alone by the same embedder (pass the pool's), each as one user message. The
  threshold depends on the embedder (0.9 suits all-MiniLM-L6-v2: paraphrases with a word
  changed score above 0.9, different questions rarely do); the pool's ``embedding`` column
  holds whole conversations with their answers, so it is not what is compared;
- ``method="both"``: either.

Both methods compare the texts after
:func:`~deita_hf.selection.ngram_overlap.normalize_text` (Unicode format characters such as
zero-width spaces, word joiners and soft hyphens deleted, then NFKC), so a prompt written with
invisible characters or full-width letters is still the same prompt.

The report counts dropped rows per benchmark (a row matching two benchmarks counts in both)
with examples: the pool row's index, its turn, its text, the benchmark prompt and the match
(the shared n-gram, or the cosine).

Example:
    >>> from datasets import Dataset
    >>> pool = Dataset.from_dict({"instruction": [
    ...     "compose an ENGAGING travel blog post about a recent trip to Hawaii, highlighting "
    ...     "cultural experiences and must-see attractions!", "Name three primary colours."],
    ...     "output": ["...", "Red, yellow, blue."]})
    >>> clean, report = decontaminate(pool, "mt_bench", progress=False)
    >>> len(clean), report.counts(), report.dropped_rows
    (1, {'mt_bench': 1}, [0])
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from datasets import Dataset
from tqdm.auto import tqdm

from deita_hf.data.benchmark_prompts import PromptSet, load_prompt_sets
from deita_hf.errors import ConfigError, SelectionError
from deita_hf.selection.common import check_choice
from deita_hf.selection.ngram_overlap import (
    NORMALISATION,
    NgramIndex,
    normalize_text,
    normalize_words,
)
from deita_hf.selection.text_vectors import describe_embedder, embed_strings

__all__ = ["METHODS", "ContaminationReport", "Decontaminator", "check_rows_left",
           "decontaminate", "find_contamination", "select_decontaminated"]

logger = logging.getLogger(__name__)

#: the ways a pool turn can match a benchmark prompt
METHODS = ("ngram", "embedding", "both")
#: what is compared, in words (settings and cards)
COMPARED = "every user turn of each pool row, with every turn of each benchmark prompt"
_CHARS = 300
#: what the embedding method normalises (the n-gram method adds the rest of NORMALISATION)
_EMBEDDING_NORMALISATION = "Unicode format characters (Cf) deleted, NFKC"
_BLOCK = 1024


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _CHARS else text[: _CHARS - 1] + "…"


@dataclass
class ContaminationReport:
    """What a decontamination found: the settings, the prompt sets and every matched row.

    Attributes:
        settings: ``against``, ``method``, ``ngram``, ``min_words``, ``threshold``,
            ``embedder``, ``compared``, ``normalisation``.
        sets: per benchmark: ``name``, ``source``, ``prompts``, ``too_short``.
        pool_rows: rows looked at.
        matches: pool row -> one match per benchmark it matched (``benchmark``, ``turn``,
            ``prompt_id``, ``prompt``, ``text``, ``match``).
        examples: how many examples per benchmark :meth:`to_dict` lists.
    """

    settings: dict[str, Any]
    sets: list[dict[str, Any]]
    pool_rows: int
    matches: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    examples: int = 3

    @property
    def dropped_rows(self) -> list[int]:
        """The matched pool rows, ascending."""
        return sorted(self.matches)

    def counts(self) -> dict[str, int]:
        """Rows matched per benchmark (every benchmark listed, 0 included)."""
        out = {s["name"]: 0 for s in self.sets}
        for found in self.matches.values():
            for m in found:
                out[m["benchmark"]] += 1
        return out

    def keep(self, ds: Dataset) -> Dataset:
        """``ds`` without the matched rows (``ds`` itself when none matched)."""
        if not self.matches:
            return ds
        drop = set(self.matches)
        return ds.select([i for i in range(len(ds)) if i not in drop])

    def to_dict(self) -> dict[str, Any]:
        """The JSON written to ``deita_selection.json`` (key ``decontamination``) and by
        ``deita-hf decontaminate --output``."""
        counts = self.counts()
        benchmarks = {}
        for s in self.sets:
            examples = [{"row": row, **m} for row in self.dropped_rows
                        for m in self.matches[row] if m["benchmark"] == s["name"]]
            benchmarks[s["name"]] = {**{k: v for k, v in s.items() if k != "name"},
                                     "rows": counts[s["name"]],
                                     "examples": examples[: self.examples]}
        return {**self.settings, "pool_rows": self.pool_rows, "dropped": len(self.matches),
                "kept": self.pool_rows - len(self.matches), "benchmarks": benchmarks,
                "dropped_rows": self.dropped_rows}


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ConfigError(f"{name} must be an int >= {low}, got {value!r}.")
    return int(value)


@dataclass
class Decontaminator:
    """How to decontaminate: against which prompts, by which method.

    Args:
        against: a spec (``"mt_bench,alpaca_eval=PATH,FILE"``, see
            :func:`deita_hf.data.benchmark_prompts.load_prompt_sets`), a list of its items,
            or ready :class:`~deita_hf.data.benchmark_prompts.PromptSet` objects.
        method: ``"ngram"``, ``"embedding"`` or ``"both"``.
        ngram: the n-gram length in words (13).
        min_words: shorter prompts are matched whole down to this many words (8).
        threshold: the cosine at or above which a turn matches a prompt (``embedding``).
        embedder: what embeds the texts (``embedding``/``both``): the pool's embedder.
        examples: examples per benchmark in the report.
        split: the split read from folders given as benchmark files.
        progress: show progress bars.
    """

    against: str | Sequence[str] | Sequence[PromptSet]
    method: str = "ngram"
    ngram: int = 13
    min_words: int = 8
    threshold: float = 0.9
    embedder: Any = None
    examples: int = 3
    split: str = "train"
    progress: bool = True
    _sets: list[PromptSet] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        check_choice("method", self.method, METHODS)
        self.ngram = _check_int("ngram", self.ngram, 1)
        self.min_words = _check_int("min_words", self.min_words, 1)
        self.examples = _check_int("examples", self.examples, 0)
        t = self.threshold
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) \
                or not -1 < t <= 1:
            raise ConfigError(f"threshold must be a cosine in (-1, 1], got {t!r}.")
        if self.method != "ngram" and self.embedder is None:
            raise ConfigError(f"method={self.method!r} compares embeddings: pass the pool's "
                              f"embedder (embedder=..., --decontaminate-embedder SPEC), or use "
                              f"method='ngram'.")

    def prompt_sets(self, flag: str = "--decontaminate") -> list[PromptSet]:
        """The prompt sets (read once; ``flag``: the command-line flag named in errors)."""
        if self._sets is None:
            items = [self.against] if isinstance(self.against, (str, PromptSet)) \
                else list(self.against)
            if items and all(isinstance(i, PromptSet) for i in items):
                self._sets = list(items)
            else:
                self._sets = load_prompt_sets(self.against, split=self.split, flag=flag)
        return self._sets

    def settings(self) -> dict[str, Any]:
        against = self.against if isinstance(self.against, str) else ",".join(
            i.name if isinstance(i, PromptSet) else str(i) for i in self.against)
        uses_emb, uses_ngram = self.method != "ngram", self.method != "embedding"
        return {"against": against, "method": self.method,
                "ngram": self.ngram if uses_ngram else None,
                "min_words": self.min_words if uses_ngram else None,
                "threshold": self.threshold if uses_emb else None,
                "embedder": describe_embedder(self.embedder) if uses_emb else None,
                "compared": COMPARED,
                "normalisation": NORMALISATION if uses_ngram else _EMBEDDING_NORMALISATION}

    def find(self, ds: Dataset) -> ContaminationReport:
        """Match every pool row against the prompts (nothing is dropped)."""
        from deita_hf.data.formats import messages_from_batch

        sets = self.prompt_sets()
        index = NgramIndex([s.prompts for s in sets], n=self.ngram, min_words=self.min_words) \
            if self.method != "embedding" else None
        if self.method != "ngram":
            prompt_vectors = embed_strings(self.embedder, [normalize_text(p) for s in sets
                                                           for p in s.prompts],
                                           what="benchmark prompt")
            ends = np.cumsum([len(s.prompts) for s in sets])
            members = [np.arange(end - len(s.prompts), end) for s, end in zip(sets, ends)]
            local = np.concatenate([np.arange(len(s.prompts)) for s in sets])
        report = ContaminationReport(
            self.settings(), [{"name": s.name, "source": s.source, "prompts": len(s.prompts),
                               **({"too_short": index.too_short[k]} if index else {})}
                              for k, s in enumerate(sets)], len(ds), examples=self.examples)

        def record(row: int, turn: int, text: str, k: int, p: int, how: str) -> None:
            found = report.matches.setdefault(row, [])
            if all(m["benchmark"] != sets[k].name for m in found):
                found.append({"benchmark": sets[k].name, "turn": turn + 1,
                              "prompt_id": sets[k].ids[p], "prompt": _short(sets[k].prompts[p]),
                              "text": _short(text), "match": how})

        with tqdm(total=len(ds), desc="decontamination", unit="row",
                  disable=not self.progress) as bar:
            for lo in range(0, len(ds), _BLOCK):
                hi = min(lo + _BLOCK, len(ds))
                messages = messages_from_batch(ds[lo:hi], indices=list(range(lo, hi)))
                turns = [(lo + r, t, m["content"]) for r, conv in enumerate(messages)
                         for t, m in enumerate(x for x in conv if x["role"] == "user")]
                if index is not None:
                    for row, t, text in turns:
                        for k, (p, gram) in sorted(index.match(normalize_words(text)).items()):
                            record(row, t, text, k, p, f"{self.ngram}-gram: '{gram}'"
                                   if len(gram.split()) == self.ngram else f"whole prompt: '{gram}'")
                if self.method != "ngram" and turns:
                    sims = embed_strings(self.embedder,
                                         [normalize_text(text) for _, _, text in turns],
                                         what="pool turn") @ prompt_vectors.T
                    for k, mine in enumerate(members):
                        best = mine[np.argmax(sims[:, mine], axis=1)]
                        for j in np.flatnonzero(sims[np.arange(len(turns)), best]
                                                >= self.threshold).tolist():
                            row, t, text = turns[j]
                            record(row, t, text, k, int(local[best[j]]),
                                   f"cosine {sims[j, best[j]]:.3f}")
                bar.update(hi - lo)
        return report

    def apply(self, ds: Dataset) -> tuple[Dataset, ContaminationReport]:
        """``(ds without the matched rows, the report)``."""
        report = self.find(ds)
        counts = ", ".join(f"{k}: {v}" for k, v in report.counts().items())
        logger.info("decontamination: dropped %d of %d rows (%s)", len(report.matches), len(ds),
                    counts)
        return report.keep(ds), report


def check_rows_left(report: ContaminationReport) -> None:
    """Refuse to select from a pool that decontamination emptied (one line, not an error about
    a column the empty pool never got).

    Args:
        report: the decontamination's report.

    Raises:
        SelectionError: every row matched a benchmark prompt.

    Example:
        >>> check_rows_left(ContaminationReport({"against": "mt_bench"}, [], 0))
        Traceback (most recent call last):
        ...
        deita_hf.errors.SelectionError: Decontamination against mt_bench left no row of the pool (0 rows, 0 dropped): nothing to select. Is the pool the benchmark itself? Check the pool and the --decontaminate spec.
    """
    if report.pool_rows > len(report.matches):
        return
    counts = ", ".join(f"{k}: {v:,}" for k, v in report.counts().items())
    raise SelectionError(f"Decontamination against {report.settings.get('against')} left no row "
                         f"of the pool ({report.pool_rows:,} rows, {len(report.matches):,} dropped"
                         f"{'; ' + counts if counts else ''}): nothing to select. Is the pool the "
                         f"benchmark itself? Check the pool and the --decontaminate spec.")


def _decontaminator(against: Any, options: dict[str, Any]) -> Decontaminator:
    if isinstance(against, Decontaminator):
        if options:
            raise ConfigError(f"Options {sorted(options)} go into the Decontaminator itself.")
        return against
    return Decontaminator(against, **options)


def find_contamination(ds: Dataset, against: Any, **options: Any) -> ContaminationReport:
    """Which rows of ``ds`` match which benchmark prompts.

    Args:
        ds: the pool (any conversation format).
        against: a spec, a list of items, prompt sets, or a :class:`Decontaminator`.
        **options: :class:`Decontaminator` fields (``method``, ``ngram``, ``threshold``,
            ``embedder``, ...).

    Returns:
        The :class:`ContaminationReport`.

    Raises:
        ConfigError: bad options or spec; InputError: unreadable prompts, bad rows.
    """
    return _decontaminator(against, options).find(ds)


def decontaminate(ds: Dataset, against: Any, **options: Any
                  ) -> tuple[Dataset, ContaminationReport]:
    """Drop the rows of ``ds`` that match benchmark prompts (see the module docstring).

    Args:
        ds: the pool.
        against: as for :func:`find_contamination`.
        **options: :class:`Decontaminator` fields.

    Returns:
        ``(the rows kept, in order, the report)``.
    """
    return _decontaminator(against, options).apply(ds)


def select_decontaminated(select_fn: Any, ds: Dataset, budget: int, decontaminate: Any,
                          **kwargs: Any) -> Any:
    """Run a selection strategy on the rows of ``ds`` left after decontamination (the one
    pre-selection step of :func:`deita_hf.select` and :func:`deita_hf.select_deita`).

    Args:
        select_fn: the strategy's function (``select_deita``, ...).
        ds: the pool.
        budget: rows to select.
        decontaminate: a spec (``"mt_bench,alpaca_eval=PATH"``: 13-gram overlap, with the
            strategy's ``progress`` setting) or a :class:`Decontaminator`.
        **kwargs: the strategy's keyword arguments.

    Returns:
        What the strategy returns; with ``return_stats=True`` the stats carry the report
        (``stats.decontamination``; indices in the stats refer to the rows left).
    """
    if not isinstance(decontaminate, Decontaminator):
        decontaminate = Decontaminator(decontaminate, progress=kwargs.get("progress", True))
    kept, report = decontaminate.apply(ds)
    check_rows_left(report)
    out = select_fn(kept, budget, **kwargs)
    if isinstance(out, tuple):
        out[1].decontamination = report.to_dict()
    return out
