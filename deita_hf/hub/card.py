"""The dataset card (``README.md``) of a published selection, from the package's template.

The card's YAML header carries the Hub metadata (license, source datasets, tags, size
category, pretty name and the ``configs`` that make ``load_dataset`` find the parquet files);
its body tells how the rows were selected, with statistics, figures and example rows.

Example:
    card = build_card(context)
    card.data.configs[0]["config_name"]
    'default'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import jinja2
from datasets import Dataset
from huggingface_hub import DatasetCard

from deita_hf.data.formats import detect_format, to_messages
from deita_hf.hub.card_metadata import (
    ANNOTATIONS_CREATORS,
    TASK_CATEGORIES,
    hub_sources,
    is_hub_id,
    run_metadata,
    size_category,
)
from deita_hf.folder.layout import layout_card_data

__all__ = [
    "ANNOTATIONS_CREATORS",
    "DEFAULT_TAGS",
    "SETUP_SENTENCES",
    "TASK_CATEGORIES",
    "build_card",
    "card_context",
    "example_rows",
    "hub_sources",
    "is_hub_id",
    "render_template",
    "reproduce_command",
    "run_metadata",
    "setup_context",
    "size_category",
    "strategy_context",
]

#: tags every published selection gets (user tags are added after these)
DEFAULT_TAGS: tuple[str, ...] = ("deita", "data-selection", "instruction-tuning", "deita-hf")

_EXAMPLE_CHARS = 400


def _num(value: Any, digits: int = 3) -> str:
    """Format a number for a table: ints with separators, floats with ``digits`` decimals."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:,.{digits}f}"
    return str(value)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("deita_hf", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=jinja2.select_autoescape(["html"]),
    )
    env.filters["num"] = _num
    env.filters["pct"] = _pct
    return env


def render_template(name: str, context: Mapping[str, Any]) -> str:
    """Render one of the package's templates (``deita_hf/templates/<name>``).

    Args:
        name: template file name, e.g. ``"dataset_card.md"`` or ``"report.html"``.
        context: the variables (see :func:`card_context`).

    Returns:
        The rendered text.

    Example:
        render_template("dataset_card.md", ctx)
    """
    return _environment().get_template(name).render(**context)


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _EXAMPLE_CHARS else text[: _EXAMPLE_CHARS - 1] + "…"


def example_rows(selected: Dataset, *, n: int = 3, score_column: str = "deita_score"
                 ) -> list[dict[str, Any]]:
    """The ``n`` first-selected rows, as short messages for the card.

    Args:
        selected: the selection (ordered by ``deita_rank`` when that column exists).
        n: how many rows.
        score_column: the score column to show.

    Returns:
        ``[{"rank", "score", "source", "messages": [{"role", "content"}]}]`` with each message
        shortened to one line of at most 400 characters.

    Example:
        >>> ds = Dataset.from_dict({"instruction": ["Hi"], "output": ["Hello"]})
        >>> example_rows(ds)[0]["messages"][1]
        {'role': 'assistant', 'content': 'Hello'}
    """
    if "deita_rank" in selected.column_names:
        ranks = list(selected["deita_rank"])
        order = sorted(range(len(ranks)), key=lambda i: ranks[i])[:n]
    else:
        order = list(range(min(n, len(selected))))
    fmt = detect_format(selected.column_names)
    out = []
    for position, i in enumerate(order):
        row = selected[i]
        messages = to_messages(row, format=fmt, index=i)
        out.append({
            "rank": row.get("deita_rank", position),
            "score": row.get(score_column),
            "source": row.get("source"),
            "messages": [{"role": m["role"], "content": _one_line(m["content"])}
                         for m in messages],
        })
    return out


def _scorer_rows(scorers: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    rows = []
    for role, info in (scorers or {}).items():
        info = dict(info or {})
        rows.append({
            "role": role,
            "name": info.pop("name", None) or "–",
            "revision": info.pop("revision", None) or "–",
            "kind": info.pop("kind", None) or "–",
            "extra": ", ".join(f"{k}={v}" for k, v in sorted(info.items())) or "–",
        })
    return rows


def reproduce_command(settings: Mapping[str, Any], output: str) -> str:
    """The ``deita-hf select`` command line that repeats a selection (the one builder).

    Args:
        settings: the selection's settings (``deita_selection.json``).
        output: the output folder to name.

    Returns:
        The shell-quoted command.

    Example:
        >>> reproduce_command({"input": "pool.jsonl", "budget": 10, "threshold": 0.9,
        ...                    "specs": {"complexity": "length"}}, "out/x")
        'deita-hf select pool.jsonl --budget 10 --threshold 0.9 --complexity-scorer length --output out/x'
        >>> reproduce_command({"input": "p.jsonl", "budget": 5, "strategy": "random",
        ...                    "strategy_spec": "random:seed=3"}, "out/r")
        'deita-hf select p.jsonl --strategy random:seed=3 --budget 5 --output out/r'
        >>> reproduce_command({"input": "p.jsonl", "budget": 5, "decontamination": {
        ...     "against": "mt_bench", "method": "ngram", "ngram": 10}}, "out/d")
        'deita-hf select p.jsonl --budget 5 --decontaminate mt_bench --decontaminate-ngram 10 --output out/d'
        >>> reproduce_command({"input": "p.jsonl", "budget": 5, "max_length": 512}, "out/m")
        'deita-hf select p.jsonl --budget 5 --max-length 512 --output out/m'
    """
    import shlex

    parts = ["deita-hf", "select", str(settings.get("input") or "POOL")]
    if settings.get("strategy") not in (None, "deita"):
        parts += ["--strategy", str(settings.get("strategy_spec") or settings["strategy"])]
    if settings.get("preset"):
        parts += ["--preset", str(settings["preset"])]
    if settings.get("budget") is not None:
        parts += ["--budget", str(settings["budget"])]
    if settings.get("threshold") is not None:
        parts += ["--threshold", str(settings["threshold"])]
    if settings.get("max_length") is not None:
        parts += ["--max-length", str(settings["max_length"])]
    defaults = {"embedding_column": "embedding", "complexity_column": "complexity",
                "quality_column": "quality", "score_column": None}
    for key, default in defaults.items():
        value = settings.get(key)
        if value is not None and value != default:
            parts += [f"--{key.replace('_', '-')}", str(value)]
    flags = {"complexity": "--complexity-scorer", "quality": "--quality-scorer",
             "embedding": "--embedder"}
    for role, spec in (settings.get("specs") or {}).items():
        parts += [flags[role], str(spec)]
    for spec in settings.get("scorer_specs") or ():
        parts += ["--scorer", str(spec)]
    parts += _decontamination_flags(settings.get("decontamination"))
    if settings.get("include_pool"):
        parts.append("--include-pool")
    if settings.get("license"):
        parts += ["--license", str(settings["license"])]
    parts += ["--output", output]
    return shlex.join(parts)


def _decontamination_flags(dec: Mapping[str, Any] | None) -> list[str]:
    """The ``--decontaminate*`` flags that repeat a decontamination (defaults left out)."""
    if not dec or not dec.get("against"):
        return []
    parts = ["--decontaminate", str(dec["against"])]
    method = dec.get("method") or "ngram"
    if method != "ngram":
        parts += ["--decontaminate-method", method]
    for key, default in (("ngram", 13), ("min_words", 8), ("threshold", 0.9)):
        if dec.get(key) is not None and dec[key] != default:
            parts += [f"--decontaminate-{key.replace('_', '-')}", str(dec[key])]
    if dec.get("embedder_spec"):
        parts += ["--decontaminate-embedder", str(dec["embedder_spec"])]
    return parts


def card_context(*, settings: Mapping[str, Any], stats: Mapping[str, Any],
                 figures: Sequence[Mapping[str, str]], examples: Sequence[Mapping[str, Any]],
                 configs: Sequence[Mapping[str, str]], dataset_id: str, pretty_name: str,
                 license: str | None, folder_name: str,
                 columns: Sequence[str] = ()) -> dict[str, Any]:
    """The variables of the card and report templates.

    Args:
        settings: the selection settings (``deita_selection.json``).
        stats: :func:`deita_hf.folder.stats.selection_statistics` output.
        figures: ``[{"path": "figures/x.png", "title": ...}]``.
        examples: :func:`example_rows` output.
        configs: ``[{"name": "default", "path": "data/train-*"}, ...]``.
        dataset_id: what to pass to ``load_dataset`` in the usage snippet.
        pretty_name: the card's title.
        license: the license id, or None.
        folder_name: the folder's name, used in the reproduce command.
        columns: the selection's column names, listed in the card.

    Returns:
        A dict for :func:`render_template`.

    Example:
        card_context(settings={}, stats={...}, ...)
    """
    return {
        "pretty_name": pretty_name,
        "license": license,
        "settings": dict(settings),
        "scorers": _scorer_rows(settings.get("scorers")),
        "stats": stats,
        "figures": list(figures),
        "examples": list(examples),
        "configs": list(configs),
        "dataset_id": dataset_id,
        "columns": list(columns),
        "reproduce": settings.get("command") or reproduce_command(settings, folder_name),
        "setup": setup_context(settings),
        "strategy": strategy_context(settings),
    }


def _setting_text(values: Mapping[str, Any] | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted((values or {}).items())
                     if v is not None) or "–"


def strategy_context(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The card's strategy rows: name, one-line summary, parameters and the columns it read.

    Args:
        settings: the selection's settings (``deita_selection.json``; ``strategy``,
            ``params`` and ``columns`` come from ``SelectionStats.to_dict()``).

    Returns:
        ``{"name", "summary", "spec", "params", "columns", "is_deita"}`` (texts for the table).

    Example:
        >>> ctx = strategy_context({"strategy": "random", "params": {"seed": 3}})
        >>> ctx["name"], ctx["params"], ctx["is_deita"]
        ('random', 'seed=3', False)
    """
    from deita_hf.selection.dispatch import STRATEGIES

    name = settings.get("strategy") or "deita"
    known = STRATEGIES.get(name)
    return {"name": name, "summary": known.summary if known else "–",
            "spec": settings.get("strategy_spec") or name,
            "params": _setting_text(settings.get("params")),
            "columns": _setting_text(settings.get("columns")), "is_deita": name == "deita"}


#: the sentence next to the settings table, by ``paper_setup``
SETUP_SENTENCES = {
    True: "This is the paper's set-up: the DEITA scorer models and the Repr filter's embeddings "
          "(DeitaEmbedder: Mistral-7B-v0.1's last hidden state over the vicuna_v1.1 rendering).",
    False: "This selection is not the paper's set-up: {reasons}; the paper scores with the DEITA "
           "scorer models and embeds with Mistral-7B-v0.1 (`--preset deita`).",
    None: "Some columns came precomputed with the pool, so whether this selection follows the "
          "paper's set-up is not recorded here.",
}


def setup_context(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The card's set-up rows and sentence: preset, scorer dtype, embedder, paper's set-up or not.

    Uses the values ``deita-hf select`` records (``preset``, ``scorer_dtype``, ``embedder``,
    ``paper_setup``) and derives missing ones from ``settings["scorers"]``.

    Example:
        >>> ctx = setup_context({"scorers": {
        ...     "complexity": {"name": "instruction-length", "kind": "length-baseline"},
        ...     "quality": {"name": "response-length", "kind": "length-baseline"},
        ...     "embedder": {"name": "sentence-transformers/all-MiniLM-L6-v2",
        ...                  "kind": "sentence-transformers"}}})
        >>> ctx["paper_setup"], "not the paper's set-up" in ctx["sentence"]
        (False, True)
    """
    from deita_hf.hub.run_setup import run_setup

    scorers = settings.get("scorers") or {}
    derived = run_setup(scorers, preset=settings.get("preset"))
    out = {key: settings.get(key, derived[key]) for key in derived}
    reasons = []
    strategy = settings.get("strategy") or "deita"
    if strategy != "deita":  # another selection rule: never the paper's set-up
        reasons.append(f"the rows were chosen by the {strategy!r} strategy, not DEITA's "
                       f"score-first diversity filter")
        out["paper_setup"] = False
    for role, what in (("complexity", "complexity"), ("quality", "quality")):
        if (scorers.get(role) or {}).get("kind") == "length-baseline":
            reasons.append(f"the {what} scores are the length baseline")
    embedder = scorers.get("embedder") or {}
    if embedder.get("kind") not in (None, "precomputed", "deita-causal-lm"):
        reasons.append(f"the embeddings come from {embedder.get('name')} "
                       f"({embedder.get('kind')}), not the Repr filter's Mistral-7B")
    text = SETUP_SENTENCES[out["paper_setup"]]
    out["sentence"] = text.format(reasons="; ".join(reasons) or "its components differ")
    return out


def build_card(context: Mapping[str, Any], *, source_datasets: Sequence[str] | None,
               tags: Sequence[str] | None, infos: Mapping[str, Any] | None = None
               ) -> DatasetCard:
    """Render the dataset card: YAML metadata + the ``dataset_card.md`` template body.

    Args:
        context: :func:`card_context` output.
        source_datasets: the pool's source datasets for the YAML, Hub ids (None: left out).
        tags: extra tags, added after :data:`DEFAULT_TAGS`.
        infos: config name -> ``datasets.DatasetInfo`` (features, split sizes, file sizes),
            written as the YAML ``dataset_info``. ``datasets`` hashes it into the cache key of
            a local folder, so a rewritten folder does not load stale cached rows.

    Returns:
        The ``DatasetCard`` (``card.save(folder / "README.md")`` writes it).

    Example:
        build_card(ctx, source_datasets=["tatsu-lab/alpaca"], tags=None)
    """
    all_tags = list(dict.fromkeys([*DEFAULT_TAGS, *(tags or [])]))
    data = layout_card_data(
        {c["name"]: c["path"] for c in context["configs"]}, infos or {},
        license=context["license"],
        source_datasets=list(source_datasets) if source_datasets else None,
        tags=all_tags,
        size_categories=[size_category(context["stats"]["rows"]["selected"])],
        task_categories=list(TASK_CATEGORIES),
        annotations_creators=list(ANNOTATIONS_CREATORS),
        pretty_name=context["pretty_name"],
    )
    text = f"---\n{data.to_yaml()}\n---\n\n" + render_template("dataset_card.md", context)
    return DatasetCard(text)
