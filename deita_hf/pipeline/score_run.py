"""The partial folder of a ``deita-hf score`` run, shared by every engine (one process,
``accelerate launch``, Slurm array tasks, Ray): shard naming, the settings and their resume
check, which shards exist, writing one shard, and the final assembly with the one writer.

While a run is unfinished, its work lives beside the output folder, in ``.NAME.partial/``:

* ``shards/shard-00003-of-00010.parquet``: finished shards (each written to a temporary name
  ``.tmp-TAG-...`` and renamed, so a killed process never leaves a half shard; ``TAG`` names the
  writer, so concurrent writers clean up only their own leftovers);
* ``input/``: the rows of the shards still to score, written once by the Ray engine for its
  workers (removed shard by shard as they finish);
* ``deita_score.json``: the run's settings, with a fingerprint of the input (row count and a
  hash of the rows) and ``"complete": false``.

The settings that must match for a run to resume (rows, columns, shard size, components,
input) are the same for every engine, so a run started on one engine can be finished on
another. Two keys are recorded but not compared (:data:`RUN_KEYS`): ``complete`` and
``engine`` (how the run that wrote the file ran: ``{"name": "local"|"array"|"ray", ...}``).

Example:
    >>> import tempfile
    >>> from datasets import Dataset
    >>> from deita_hf.scoring import InstructionLengthScorer
    >>> ds = Dataset.from_dict({"instruction": ["a", "bb", "ccc"], "output": ["x", "y", "z"]})
    >>> out = Path(tempfile.mkdtemp()) / "scored"
    >>> run = ScoreRun(out, run_settings(ds, [InstructionLengthScorer()], shard_size=2))
    >>> run.prepare(overwrite=False), run.missing(), run.rows(1)
    (False, [0, 1], range(2, 3))
    >>> scorer = InstructionLengthScorer()
    >>> for i in run.missing():
    ...     _ = run.write_shard(i, ds.select(run.rows(i)).map(scorer, batched=True), tag="doc")
    >>> run.assemble().name, sorted(p.name for p in out.iterdir())
    ('scored', ['README.md', 'data', 'deita_score.json'])
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from deita_hf.errors import ConfigError, InputError
from deita_hf.folder.writer import SCORE_FILE, check_output, clean_leftovers, write_folder
from deita_hf.folder.layout import float32_vectors
from deita_hf.folder.guard import FolderLock, kill_point

__all__ = ["MANIFEST", "RUN_KEYS", "ScoreRun", "check_score_output", "input_fingerprint",
           "owned_shards", "partial_dir", "run_lock", "run_settings"]

MANIFEST = SCORE_FILE
#: keys of ``deita_score.json`` recorded but left out of the resume check (the input's
#: ``source``, its path as given, is recorded but not compared either: the same rows spelled
#: ``pool.jsonl``, ``./pool.jsonl``, absolute or copied elsewhere are the same input)
RUN_KEYS = ("complete", "engine", "preset", "deita_hf_version")
README = """# Scored pool (deita_hf)

Columns added by `deita-hf score`: see `deita_score.json` for the scorers and embedder used.
"""
_HASH_ROWS = 10_000


def partial_dir(output_dir: str | os.PathLike) -> Path:
    """Where an unfinished run of ``output_dir`` keeps its shards: ``.NAME.partial`` beside it."""
    out = Path(output_dir)
    return out.parent / f".{out.name}.partial"


def run_lock(output_dir: str | os.PathLike, *, wait: float = 0.0) -> FolderLock:
    """The lock of a whole ``deita-hf score`` run: ``.NAME.score.lock`` beside the output.

    One-process, ``accelerate`` and Ray runs hold it from start to end; Slurm array tasks hold
    it only while they check the settings and while they assemble (with ``wait``).
    """
    out = Path(output_dir)
    return FolderLock(out, name=f"{out.name}.score", wait=wait)


def input_fingerprint(ds: Any) -> dict[str, Any]:
    """Row count and SHA-256 of the rows (Arrow IPC of each block, in order, indices applied).

    Example:
        >>> from datasets import Dataset
        >>> a = input_fingerprint(Dataset.from_dict({"x": [1, 2]}))
        >>> a == input_fingerprint(Dataset.from_dict({"x": [1, 2]})), a["num_rows"]
        (True, 2)
        >>> a == input_fingerprint(Dataset.from_dict({"x": [1, 3]}))
        False
    """
    import pyarrow as pa

    digest = hashlib.sha256()
    view = ds.with_format("arrow")
    for start in range(0, len(ds), _HASH_ROWS):
        table = view[start:start + _HASH_ROWS]
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        digest.update(sink.getvalue())
    return {"num_rows": len(ds), "sha256": digest.hexdigest()}


def run_settings(ds: Any, components: list, *, shard_size: int, source: str | None = None,
                 descriptions: list[dict] | None = None,
                 preset: str | None = None) -> dict[str, Any]:
    """The settings of a run, the same for every engine (see the module docstring).

    Args:
        ds: the pool.
        components: the components, in order.
        shard_size: rows per shard.
        source: where the pool came from.
        descriptions: the components' ``describe()`` if computed elsewhere (on a Ray worker,
            where the device and dtype they resolve are those the scores are computed with).
        preset: the preset the components came from (recorded, not compared).

    Returns:
        ``num_rows``, ``columns``, ``shard_size``, ``num_shards``, ``components``, ``input``,
        ``preset`` and ``deita_hf_version``.

    Raises:
        ConfigError: ``shard_size`` is not positive.
    """
    from deita_hf import __version__

    if shard_size < 1:
        raise ConfigError(f"shard_size must be positive, got {shard_size}.")
    return {"num_rows": len(ds), "columns": ds.column_names, "shard_size": shard_size,
            "num_shards": max(1, -(-len(ds) // shard_size)),
            "components": descriptions if descriptions is not None
            else [c.describe() for c in components],
            "input": {"source": source, **input_fingerprint(ds)},
            "preset": preset, "deita_hf_version": __version__}


def owned_shards(num_shards: int, index: int, count: int, *, contiguous: bool = False) -> list[int]:
    """The shards worker ``index`` of ``count`` scores.

    Args:
        num_shards: the run's shard files.
        index, count: this worker and how many there are.
        contiguous: a contiguous range (Slurm array shard ``index`` of ``count``) instead of
            every ``count``-th shard (the processes of ``accelerate launch``).

    Example:
        >>> owned_shards(10, 1, 3), owned_shards(10, 1, 3, contiguous=True)
        ([1, 4, 7], [3, 4, 5])
    """
    if contiguous:
        return list(range(index * num_shards // count, (index + 1) * num_shards // count))
    return list(range(index, num_shards, count))


def check_score_output(output_dir: str | os.PathLike, *, overwrite: bool,
                       allow_scores: bool = True) -> Path:
    """Refuse an output folder ``deita-hf score`` must not replace (checked before anything loads).

    Any non-empty folder other than a scores folder (a selection, preference pairs, files
    deita_hf did not write) is replaced only with ``overwrite``. A scores folder passes when
    ``allow_scores`` (a re-run of the same command is a no-op; :meth:`ScoreRun.prepare` refuses
    one of another input or settings).
    """
    from deita_hf.folder.layout import folder_kind

    if allow_scores and folder_kind(output_dir) == "scores":
        return Path(output_dir)
    return check_output(output_dir, "scores", overwrite=overwrite)


def _comparable(settings: dict) -> dict:
    """The settings a resume compares: the input by its rows and hash, not its path."""
    out = {k: v for k, v in json.loads(json.dumps(settings)).items() if k not in RUN_KEYS}
    if isinstance(out.get("input"), dict):
        out["input"] = {k: v for k, v in out["input"].items() if k != "source"}
    return out


class ScoreRun:
    """One run's partial folder and output (the caller holds :func:`run_lock` where needed).

    Args:
        output_dir: the output folder.
        settings: :func:`run_settings` of this run.
        engine: how this run runs (recorded as ``engine``, not compared).
    """

    def __init__(self, output_dir: str | os.PathLike, settings: dict[str, Any],
                 engine: dict[str, Any] | None = None) -> None:
        self.out = Path(output_dir)
        self.work = partial_dir(self.out)
        self.shard_dir = self.work / "shards"
        self.input_dir = self.work / "input"
        self.settings = dict(settings)
        self.engine = dict(engine or {"name": "local"})
        self.num_shards = int(settings["num_shards"])
        self.shard_size = int(settings["shard_size"])
        self.num_rows = int(settings["num_rows"])

    # -- naming ----------------------------------------------------------------------------
    def name(self, i: int) -> str:
        """The file name of shard ``i``."""
        return f"shard-{i:05d}-of-{self.num_shards:05d}.parquet"

    def path(self, i: int) -> Path:
        """The finished file of shard ``i``."""
        return self.shard_dir / self.name(i)

    def rows(self, i: int) -> range:
        """The pool rows of shard ``i``."""
        return range(i * self.shard_size, min(self.num_rows, (i + 1) * self.shard_size))

    def done(self, i: int) -> bool:
        return self.path(i).is_file()

    def shard_rows(self, shards: list[int] | None = None) -> dict[int, int]:
        """Shard index -> its number of rows, for ``shards`` (default all)."""
        return {i: len(self.rows(i)) for i in (range(self.num_shards) if shards is None
                                                else shards)}

    def missing(self, shards: list[int] | None = None) -> list[int]:
        """The shards (of ``shards``, default all) not finished yet."""
        return [i for i in (range(self.num_shards) if shards is None else shards)
                if not self.done(i)]

    # -- settings --------------------------------------------------------------------------
    def complete(self) -> bool:
        """True when the output is a complete scores folder of this very input and settings."""
        from deita_hf.folder.layout import read_settings

        kind, old = read_settings(self.out)
        return kind == "scores" and bool(old.get("complete")) and \
            _comparable(old) == _comparable(self.settings)

    def prepare(self, *, overwrite: bool) -> bool:
        """Check the output and the partial folder (under the run's lock).

        Returns:
            True when the output is already complete for these settings (leftovers of a run
            killed after it was written are removed); False when there is work to do: the
            partial folder exists and its settings are this run's.

        Raises:
            InputError: an unfinished run of another input or other settings (without
                ``overwrite``; with it, that run is discarded).
            OutputExistsError: the output holds another folder and ``overwrite`` is False.
        """
        if self.complete():  # killed after the output was in place: only leftovers to remove
            shutil.rmtree(self.work, ignore_errors=True)
            clean_leftovers(self.out)
            return True
        check_score_output(self.out, overwrite=overwrite, allow_scores=False)
        try:
            self._check_manifest(overwrite)
        except OSError as err:
            raise ConfigError(f"--output {str(self.out)!r}: cannot write the partial run "
                              f"{str(self.work)!r} ({type(err).__name__}: {err.strerror or err}). "
                              f"Choose a folder you can write to.") from err
        return False

    def _check_manifest(self, overwrite: bool) -> None:
        path = self.work / MANIFEST
        if path.is_file():
            old = json.loads(path.read_text(encoding="utf-8"))
            if _comparable(old) != _comparable(self.settings):
                if not overwrite:
                    raise InputError(_difference(self.work, _comparable(old),
                                                 _comparable(self.settings)))
                shutil.rmtree(self.work)
        self.shard_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.work / f".{MANIFEST}.tmp-{os.getpid()}"
        tmp.write_text(json.dumps({**self.settings, "engine": self.engine, "complete": False},
                                  indent=2), encoding="utf-8")
        os.replace(tmp, path)

    # -- shards ----------------------------------------------------------------------------
    def clean_tmp(self, tag: str) -> None:
        """Remove the temporary files writer ``tag`` left (a killed earlier run of it)."""
        for folder in (self.shard_dir, self.input_dir):
            for tmp in folder.glob(f".tmp-{tag}-*"):
                tmp.unlink(missing_ok=True)

    def write_shard(self, i: int, ds: Any, *, tag: str) -> Path:
        """Write shard ``i`` (a ``Dataset``) atomically: a temporary file, then a rename (vector
        columns as float32)."""
        return self._write(float32_vectors(ds), self.path(i), tag)

    def _write(self, ds: Any, dst: Path, tag: str) -> Path:
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = dst.parent / f".tmp-{tag}-{dst.name}"
        try:
            ds.to_parquet(str(tmp))
            os.replace(tmp, dst)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return dst

    def stage_input(self, ds: Any, shards: list[int], *, tag: str = "stage") -> None:
        """Write the pool rows of ``shards`` into ``input/`` once (skipping those there), for
        workers that read their shard from the partial folder (Ray)."""
        for i in shards:
            dst = self.input_dir / self.name(i)
            if not dst.is_file():
                self._write(ds.select(self.rows(i)), dst, tag)

    def read_input(self, i: int) -> Any:
        """The staged pool rows of shard ``i`` as an in-memory ``Dataset``."""
        import pyarrow.parquet as pq
        from datasets import Dataset
        from datasets.table import InMemoryTable

        return Dataset(InMemoryTable(pq.read_table(self.input_dir / self.name(i))))

    def drop_input(self, i: int) -> None:
        (self.input_dir / self.name(i)).unlink(missing_ok=True)

    # -- the end ---------------------------------------------------------------------------
    def assemble(self) -> Path:
        """Write the output folder from the finished shards, in the pool's order, with the one
        writer; then remove the partial folder.

        Raises:
            InputError: shards are missing (the message lists them).
        """
        missing = self.missing()
        if missing:
            shown = ", ".join(map(str, missing[:20])) + (" ..." if len(missing) > 20 else "")
            raise InputError(
                f"{len(missing)} of {self.num_shards} shards of {str(self.out)!r} are not scored "
                f"yet (shards {shown}); run the same command again (or the array tasks that own "
                f"them) to score them, then assemble.")
        manifest = json.loads((self.work / MANIFEST).read_text(encoding="utf-8"))
        write_folder(self.out, "scores", {"default": [self.path(i) for i in range(self.num_shards)]},
                     {**manifest, "engine": self.engine, "complete": True}, body=README,
                     overwrite=True, tags=["deita", "deita-hf"])
        kill_point("score.assembled")
        shutil.rmtree(self.work, ignore_errors=True)
        return self.out


def _difference(work: Path, old: dict, new: dict) -> str:
    changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    parts = []
    if "input" in changed:
        o, n = old.get("input") or {}, new.get("input") or {}
        parts.append(f"the input changed (rows {o.get('num_rows')} -> {n.get('num_rows')}, "
                     f"content hash {str(o.get('sha256'))[:12]} -> {str(n.get('sha256'))[:12]})")
        changed.remove("input")
    if changed:
        parts.append(f"the settings changed ({', '.join(changed)})")
    return (f"An unfinished `deita-hf score` run in {str(work)!r} was made with another input "
            f"or other settings: {'; '.join(parts)}. Re-run with the original input and settings to "
            f"finish it, or pass --overwrite (overwrite=True) to start over.")
