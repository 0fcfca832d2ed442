"""The decontamination step of a selection run (``decontaminate="mt_bench"``, ``deita-hf select
--decontaminate``) and of ``deita-hf decontaminate``: the
:class:`~deita_hf.selection.decontamination.Decontaminator` built from the options (its prompts
read at once, before the pool), the rows it drops, and the settings it records.

Example:
    >>> dec = build_decontaminator("mt_bench", method="ngram", ngram=13, min_words=8,
    ...                            threshold=0.9, embedder_spec=None, options={})
    >>> from datasets import Dataset
    >>> kept, settings = drop_contaminated(dec, Dataset.from_dict({
    ...     "instruction": ["Say hello to my friend, please.", "hi"], "output": ["x", "y"]}))
    >>> len(kept), settings["dropped"]
    (2, 0)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from deita_hf.errors import ConfigError

__all__ = ["REPORT_FILES", "build_decontaminator", "check_report_output", "drop_contaminated",
           "settings_of", "summary", "write_report"]

#: the files of a ``deita-hf decontaminate --output`` folder: the full report, and as Markdown
REPORT_FILES = ("contamination.json", "contamination.md")


def build_decontaminator(against: str, *, method: str, ngram: int, min_words: int,
                         threshold: float, embedder_spec: str | None, options: dict[str, Any],
                         examples: int = 3, progress: bool = True, split: str = "train",
                         command: str = "deita-hf select") -> Any:
    """The Decontaminator of these options; the benchmark prompts are read here.

    Args:
        against: the benchmarks (``mt_bench``, ``alpaca_eval[=PATH]``, ``NAME=PATH``, ``PATH``).
        method, ngram, min_words, threshold: how rows are matched.
        embedder_spec: the embedder spec of the ``embedding``/``both`` methods.
        options: component options for that embedder.
        examples: examples kept per benchmark in the report.
        progress: show progress bars.
        split: the split of Hub benchmark sets.
        command: the command named in errors (its flags are named accordingly).

    Returns:
        The :class:`~deita_hf.selection.decontamination.Decontaminator`.

    Raises:
        ConfigError: an embedding method without an embedder, a bad spec, an unreadable file.
    """
    from deita_hf.components import build_component, parse_spec
    from deita_hf.pipeline.presets import check_models_available
    from deita_hf.selection.decontamination import Decontaminator

    embedder = None
    if method != "ngram":
        flag = "--decontaminate-" if command.endswith("select") else "--"
        if not embedder_spec or embedder_spec.strip().lower() == "none":
            raise ConfigError(f"{flag}method {method} compares embeddings: pass the pool's "
                              f"embedder with {flag}embedder SPEC (e.g. minilm).")
        parse_spec("embedding", embedder_spec)
        check_models_available({"embedding": embedder_spec}, command=command)
        embedder = build_component("embedding", embedder_spec, **options)
    dec = Decontaminator(against, method=method, ngram=ngram, min_words=min_words,
                         threshold=threshold, embedder=embedder, examples=examples,
                         split=split, progress=progress)
    dec.embedder_spec = embedder_spec if method != "ngram" else None  # for the reproduce command
    # read the prompts now: a bad file or an offline Hub fails before the pool
    dec.prompt_sets(flag="--decontaminate" if command.endswith("select") else "--against")
    return dec


def settings_of(dec: Any, report: Any) -> dict[str, Any]:
    """The report's dict, with the embedder spec the run used (for the reproduce command)."""
    out = report.to_dict()
    if getattr(dec, "embedder_spec", None):
        out["embedder_spec"] = dec.embedder_spec
    return out


def drop_contaminated(dec: Any, pool: Any) -> tuple[Any, dict[str, Any] | None]:
    """Drop the pool rows ``dec`` matches (after loading the pool, before any scorer runs).

    Returns:
        ``(the rows kept, the settings' "decontamination" dict)``; ``(pool, None)`` without
        ``dec``.

    Raises:
        SelectionError: no row is left (every pool row matches a benchmark prompt).
    """
    if dec is None:
        return pool, None
    from deita_hf.selection.decontamination import check_rows_left

    kept, report = dec.apply(pool)
    check_rows_left(report)  # a pool the benchmarks empty: one line, not a missing column later
    return kept, settings_of(dec, report)


def summary(report: dict[str, Any], prefix: str = "deita-hf decontaminate") -> str:
    """A few lines: rows matched per benchmark, with one example each."""
    lines = [f"{prefix}: {report['dropped']:,} of {report['pool_rows']:,} rows match benchmark "
             f"prompts ({report['method']})"]
    for name, info in report["benchmarks"].items():
        short = f", {info['too_short']} too short for n-grams" if info.get("too_short") else ""
        lines.append(f"  {name:<12} {info['rows']:>6,} rows  ({info['prompts']} prompts{short})")
        for ex in info["examples"][:1]:
            lines.append(f"    e.g. row {ex['row']} turn {ex['turn']} ~ {ex['prompt_id']}: "
                         f"{ex['match']}")
    return "\n".join(lines)


def check_report_output(output: str | Path, *, overwrite: bool = False) -> Path:
    """Check a report folder before anything is computed; returns it as a ``Path``.

    A missing or empty folder is fine; one holding an earlier report (only
    :data:`REPORT_FILES`) is replaced with ``overwrite``; one holding other files is refused
    (nothing of them is removed or mixed in).

    Raises:
        OutputExistsError: the folder holds a report (without ``overwrite``) or other files.
        FolderKindError: the path is a file.

    Example:
        >>> import tempfile
        >>> check_report_output(Path(tempfile.mkdtemp()) / "contamination").name
        'contamination'
    """
    from deita_hf.errors import OutputExistsError
    from deita_hf.folder.writer import check_output

    root = Path(output)
    if root.is_dir():
        names = sorted(p.name for p in root.iterdir())
        other = [n for n in names if n not in REPORT_FILES]
        if other:
            raise OutputExistsError(
                f"--output {str(root)!r} holds files other than a decontamination report "
                f"({', '.join(other[:3])}{', ...' if len(other) > 3 else ''}); choose a new or "
                f"empty folder.")
        if names and not overwrite:
            raise OutputExistsError(
                f"--output {str(root)!r} holds a decontamination report; choose another folder, "
                f"or pass --overwrite (overwrite=True) to replace it.")
    return check_output(root, "decontamination", overwrite=True)


def write_report(report: dict[str, Any], output: str | Path) -> dict[str, Path]:
    """Write ``contamination.json`` (the full report) and ``contamination.md`` into ``output``.

    Returns:
        file name -> its path.
    """
    import json

    from deita_hf.hub.card import render_template

    root = Path(output)
    root.mkdir(parents=True, exist_ok=True)
    texts = {REPORT_FILES[0]: json.dumps(report, indent=2, ensure_ascii=False) + "\n",
             REPORT_FILES[1]: render_template("decontamination_report.md", {"dec": report})}
    paths = {}
    for name, text in texts.items():
        paths[name] = root / name
        paths[name].write_text(text, encoding="utf-8")
    return paths
