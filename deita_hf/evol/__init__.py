"""DEITA's data generation for training its scorers: EVOL COMPLEXITY / EVOL QUALITY, then
ranking and scoring the variants of each seed with a judge LLM.

- :func:`run_evol` (``deita-hf evol``): evolve every seed M times in a chain
  (:mod:`~deita_hf.evol.evolve`, prompts in :mod:`~deita_hf.evol.prompts`);
- :func:`run_rank` (``deita-hf rank``): one judge prompt per seed with its variants shuffled,
  scores 1..6 mapped back (:mod:`~deita_hf.evol.ranking`), and scorer training rows in the
  released ``hkust-nlp/deita-*-scorer-data`` format (config ``scorer``).

All LLM calls go through :mod:`deita_hf.generation` and its cache, so runs resume.

Example:
    >>> from deita_hf.evol import OPERATIONS
    >>> sorted(OPERATIONS["complexity"])
    ['complicate_input', 'concretize', 'constraints', 'deepen', 'reasoning']
"""

from deita_hf.evol.evolve import choose_operation, clean_output, evolve, seed_rows
from deita_hf.evol.pipeline import default_cache_dir, read_evol, run_evol, run_rank
from deita_hf.evol.prompts import (
           EVOL_KINDS,
           OPERATIONS,
           answer_format,
           evol_prompt,
           rank_prompt,
)
from deita_hf.evol.ranking import (
           MalformedAnswer,
           parse_scores,
           rank_variants,
           scorer_rows,
)

__all__ = ["EVOL_KINDS", "OPERATIONS", "MalformedAnswer", "answer_format", "choose_operation",
           "clean_output", "default_cache_dir", "evol_prompt", "evolve", "parse_scores",
           "rank_prompt", "rank_variants", "read_evol", "run_evol", "run_rank", "scorer_rows",
           "seed_rows"]
