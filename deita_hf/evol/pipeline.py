"""``deita-hf evol`` and ``deita-hf rank`` as functions: load, generate, write the folder.

Both write Hub-layout folders with :func:`deita_hf.folder.writer.write_folder` (kind ``"evol"``,
settings ``deita_evol.json``; kind ``"rank"``, settings ``deita_rank.json``, configs
``default`` = the ranked variants and ``scorer`` = scorer training rows in the released
``hkust-nlp/deita-*-scorer-data`` format). Every LLM answer is cached (by default in
``.NAME.cache`` beside the output folder, which the atomic folder replacement leaves alone), so
re-running an interrupted command asks nothing twice.

Example (plain text: it needs a generator):

    from deita_hf.evol import run_evol, run_rank
    run_evol("seeds.jsonl", "out/evol-c", kind="complexity", generator="openai:http://127.0.0.1:8000/v1#m")
    run_rank("out/evol-c", "out/rank-c", judge="openai:http://127.0.0.1:8000/v1#judge")
    # datasets.load_dataset("out/rank-c", "scorer")  -> scorer training rows
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from deita_hf.errors import FolderKindError
from deita_hf.evol.evolve import evol_features, evolve, seed_rows
from deita_hf.evol.prompts import OPERATIONS, RANK_TEMPLATES, TEMPLATES
from deita_hf.evol.ranking import (
    rank_features,
    rank_variants,
    scorer_features,
    scorer_rows,
)
from deita_hf.generation import GenerationParams, Generator, build_generator

__all__ = ["default_cache_dir", "read_evol", "run_evol", "run_rank"]

_EVOL_README = """# EVOL {kind_title}: {seeds} seeds x {rounds} rounds

Made with `deita-hf evol` from `{input}` ({generator}), following DEITA's EVOL {kind_upper}: \
each seed is {what} {rounds} times in a chain, one operation per round ({operations}).
Every row is one variant: `round` 0 is the seed, `parent_id` the variant it was evolved from, \
`status` ok / failed / empty (a failed or empty generation ends its seed's chain; nothing is \
invented). Settings and prompt: `deita_evol.json`. Next step: `deita-hf rank <this folder>`.
"""

_RANK_README = """# Ranked EVOL {kind_title} variants

Made with `deita-hf rank` from `{input}`, judged by {judge}: one prompt per seed with its usable \
variants in a shuffled order (`position`), one score 1..6 per variant (`score`, \
`rank_within_seed`). Malformed answers were re-asked up to {retries} times; seeds still without \
a valid answer have `usable` false and keep the raw answer (`judge_raw`).

- config `default`: {rows} variants of {seeds} seeds ({ranked} seeds ranked, {unusable} unusable, \
{too_few} with fewer than 2 usable variants);
- config `scorer`: {scorer} scorer training rows in the format of \
`hkust-nlp/deita-{kind}-scorer-data` (`datasets.load_dataset(<this folder>, "scorer")`).
"""


def default_cache_dir(output: str | os.PathLike) -> Path:
    """``.NAME.cache`` beside the output folder ``NAME`` (survives its atomic replacement).

    Example:
        >>> default_cache_dir("out/evol-c").as_posix()
        'out/.evol-c.cache'
    """
    out = Path(output)
    return out.parent / f".{out.name}.cache"


def _generator(spec: str | Generator, cache_dir: Path, kwargs: dict[str, Any] | None) -> Generator:
    if isinstance(spec, Generator):
        return spec
    return build_generator(spec, cache_dir=cache_dir, **(kwargs or {}))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def run_evol(source: str | os.PathLike, output: str | os.PathLike, *, kind: str,
             generator: str | Generator, rounds: int = 5, seed: int = 0, max_new_tokens: int = 1024,
             temperature: float = 0.7, limit: int | None = None, split: str = "train",
             cache_dir: str | os.PathLike | None = None, overwrite: bool = False,
             generator_kwargs: dict[str, Any] | None = None, progress: bool = True
             ) -> tuple[Path, dict[str, Any]]:
    """Evolve the first turn of every row of ``source`` and write the variants to ``output``.

    Args:
        source: seeds, anything :func:`deita_hf.data.loading.load_pool` reads.
        output: the output folder (kind ``"evol"``).
        kind: ``"complexity"`` or ``"quality"``.
        generator: a generator spec (``hf:``, ``vllm:``, ``openai:``) or a :class:`Generator`
            (used as is, with its own cache).
        rounds, seed: evolution rounds and the seed of the operation choice and of sampling.
        max_new_tokens, temperature: generation settings.
        limit: evolve the first ``limit`` rows only.
        split: split of ``source`` for folders and Hub ids.
        cache_dir: generation cache (default :func:`default_cache_dir`).
        overwrite: replace an existing output folder.
        generator_kwargs: backend options for a spec (``batch_size``, ``max_concurrency``...).
        progress: show progress bars.

    Returns:
        ``(output folder, settings)`` (the settings as written to ``deita_evol.json``).
    """
    from datasets import Dataset

    from deita_hf import __version__
    from deita_hf.data.loading import load_pool
    from deita_hf.folder.writer import check_output, write_folder

    out = check_output(output, "evol", overwrite=overwrite)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir(out)
    params = GenerationParams(max_new_tokens=max_new_tokens, temperature=temperature, seed=seed)
    seeds = seed_rows(load_pool(source, split=split), kind, limit=limit)
    gen = _generator(generator, cache, generator_kwargs)
    rows = evolve(seeds, gen, kind=kind, rounds=rounds, seed=seed, params=params, progress=progress)
    counts = Counter((r["round"], r["status"]) for r in rows)
    per_round = [{"round": k, **{s: counts[(k, s)] for s in ("ok", "failed", "empty")}}
                 for k in range(rounds + 1)]
    settings = {
        "kind": kind, "rounds": rounds, "seed": seed, "input": str(source), "split": split,
        "limit": limit, "seeds": len(seeds), "variants": len(rows), "per_round": per_round,
        "generator": gen.describe(), "generation": params.to_dict(),
        "operations": OPERATIONS[kind], "prompt_template": TEMPLATES[kind],
        "cache_dir": str(cache), "deita_hf_version": __version__, "created": _now(),
    }
    body = _EVOL_README.format(
        kind_title=kind.title(), kind_upper=kind.upper(), seeds=len(seeds), rounds=rounds,
        input=source, generator=gen.spec, operations=", ".join(OPERATIONS[kind]),
        what="rewritten into a more complex instruction" if kind == "complexity"
        else "given a better response")
    ds = Dataset.from_list(rows, features=evol_features(kind))
    write_folder(out, "evol", {"default": ds}, settings, body=body, overwrite=overwrite,
                 tags=["deita", "evol-instruct", f"evol-{kind}"])
    return out, settings


def read_evol(folder: str | os.PathLike) -> tuple[Any, dict[str, Any]]:
    """The variants and settings of a ``deita-hf evol`` folder.

    Raises:
        FolderKindError: the folder was not written by ``deita-hf evol``.
    """
    from deita_hf.folder.layout import read_folder, read_settings

    found, settings = read_settings(folder)
    if found != "evol":
        what = f"a deita-hf {found} folder" if found else "not a folder deita-hf wrote"
        raise FolderKindError(f"{str(folder)!r} is {what}; `deita-hf rank` reads the output of "
                              f"`deita-hf evol` (it holds deita_evol.json).")
    return read_folder(folder), settings


def run_rank(source: str | os.PathLike, output: str | os.PathLike, *, judge: str | Generator,
             retries: int = 3, seed: int = 0, max_new_tokens: int = 256,
             reask_temperature: float = 0.7, cache_dir: str | os.PathLike | None = None,
             overwrite: bool = False, generator_kwargs: dict[str, Any] | None = None,
             progress: bool = True) -> tuple[Path, dict[str, Any]]:
    """Rank the variants of a ``deita-hf evol`` folder and write them with scorer training rows.

    Args:
        source: the evol folder.
        output: the output folder (kind ``"rank"``; configs ``default`` and ``scorer``).
        judge: a generator spec or a :class:`Generator` (used as is).
        retries, seed, max_new_tokens, reask_temperature: see
            :func:`deita_hf.evol.ranking.rank_variants`.
        cache_dir: generation cache (default :func:`default_cache_dir`).
        overwrite: replace an existing output folder.
        generator_kwargs: backend options for a spec.
        progress: show progress bars.

    Returns:
        ``(output folder, settings)`` (as written to ``deita_rank.json``).
    """
    from datasets import Dataset

    from deita_hf import __version__
    from deita_hf.folder.writer import check_output, write_folder
    from deita_hf.scoring.prompts import COMPLEXITY_TEMPLATE, QUALITY_TEMPLATE

    out = check_output(output, "rank", overwrite=overwrite)
    variants, evol_settings = read_evol(source)
    kind = evol_settings["kind"]
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir(out)
    gen = _generator(judge, cache, generator_kwargs)
    ranked = rank_variants(variants.to_list(), gen, kind=kind, retries=retries, seed=seed,
                           max_new_tokens=max_new_tokens, reask_temperature=reask_temperature,
                           progress=progress)
    scorer = scorer_rows(ranked, kind)
    seeds: dict[str, tuple[bool, int]] = {}  # seed_id -> (ranked, judge attempts)
    for r in ranked:
        done, attempts = seeds.get(r["seed_id"], (False, 0))
        seeds[r["seed_id"]] = (done or r["usable"], max(attempts, r["judge_attempts"]))
    n_ranked = sum(done for done, _ in seeds.values())
    n_too_few = sum(attempts == 0 for _, attempts in seeds.values())
    settings = {
        "kind": kind, "input": str(source), "judge": gen.describe(), "retries": retries,
        "seed": seed, "max_new_tokens": max_new_tokens, "reask_temperature": reask_temperature,
        "seeds": len(seeds), "ranked_seeds": n_ranked,
        "unusable_seeds": len(seeds) - n_ranked - n_too_few, "too_few_variants": n_too_few,
        "variants": len(ranked), "scorer_rows": len(scorer),
        "judge_template": RANK_TEMPLATES[kind],
        "scorer_template": COMPLEXITY_TEMPLATE if kind == "complexity" else QUALITY_TEMPLATE,
        "evol": evol_settings, "cache_dir": str(cache), "deita_hf_version": __version__,
        "created": _now(),
    }
    body = _RANK_README.format(
        kind_title=kind.title(), kind=kind, input=source, judge=gen.spec, retries=retries,
        rows=len(ranked), seeds=len(seeds), ranked=n_ranked, unusable=settings["unusable_seeds"],
        too_few=n_too_few, scorer=len(scorer))
    configs = {"default": Dataset.from_list(ranked, features=rank_features(variants.features)),
               "scorer": Dataset.from_list(scorer, features=scorer_features())}
    write_folder(out, "rank", configs, settings, body=body, overwrite=overwrite,
                 tags=["deita", f"evol-{kind}", "scorer-data"])
    return out, settings
