"""The typed configs of ``deita-hf select`` and ``deita-hf score``: :class:`SelectionConfig` and
:class:`ScoreConfig`, dataclasses whose fields carry ``help`` metadata (the
``HfArgumentParser``/``TrlParser`` convention ``deita-hf sft`` follows).

The same config comes from Python, from a YAML file (``--config select.yaml``: keys are the
fields, i.e. the flags' names with underscores) or from the command line; flags override the
YAML, and a YAML key no field has is an error naming it. :func:`load_config` reads a YAML file
into a config; :meth:`SelectionConfig.check` / :meth:`ScoreConfig.check` check the values
before anything loads.

Example:
    >>> cfg = SelectionConfig(input="pool.jsonl", budget=10, output="out/sel",
    ...                       complexity_scorer="length", quality_scorer="length")
    >>> cfg.check().strategy, cfg.component_options()["batch_size"]
    ('deita', 8)
    >>> SelectionConfig(input="p.jsonl", output="o").check()
    Traceback (most recent call last):
    ...
    deita_hf.errors.ConfigError: budget is required: the most rows to select.

Errors name the parameters (``budget``); the command line names its flags (``--budget``).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from deita_hf.components.specs import ON_ERROR
from deita_hf.errors import ConfigError

__all__ = ["DEVICE_HELP", "DTYPE_HELP", "MAX_LENGTH_HELP", "MODEL_FLAGS", "ON_ERROR",
           "ComponentArguments", "ScoreConfig", "SelectionConfig", "config_keys", "load_config"]

#: the help of ``--max-length``, ``--dtype`` and ``--device``, the same in every command that
#: runs a model (``select``, ``score``, ``preference``, ``eval``, ``scorer-eval``); each
#: defaults to None: the component's own
MAX_LENGTH_HELP = ("token budget per input (prompt, conversation or context); longer ones are "
                   "cut (default: None, each model's own; the DEITA scorers score prompts whole)")
DTYPE_HELP = ("bfloat16 | float16 | float32 | auto for every model (default: None, each "
              "model's own: a preset's dtype where one sets it, else auto: bf16/fp16 on CUDA, "
              "fp32 on CPU)")
DEVICE_HELP = ("torch device: cpu, cuda, cuda:1, ... (default: None, the process's device under "
               "accelerate launch, else cuda if available, else cpu)")
#: flag -> (help, metavar) of these three flags
MODEL_FLAGS = {"--max-length": (MAX_LENGTH_HELP, "TOKENS"), "--dtype": (DTYPE_HELP, "DTYPE"),
               "--device": (DEVICE_HELP, "DEVICE")}

C = TypeVar("C")


def _f(default: Any = None, help: str = "", **metadata: Any) -> Any:  # noqa: A002
    """A field with ``help`` metadata (and argparse extras: ``aliases``, ``action``, ...)."""
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"help": help, **metadata})
    return field(default=default, metadata={"help": help, **metadata})


@dataclass
class ComponentArguments:
    """The scorers, embedder and model options shared by ``select`` and ``score``."""

    preset: str = _f("deita", "the scorers and embedder to use: 'deita' (the paper's set-up: "
                     "the published scorers in float32, DeitaEmbedder on Mistral-7B-v0.1) or "
                     "'fast' (the scorers in bf16 on a GPU, MiniLM); the options below override "
                     "its parts", choices=("deita", "fast"))
    complexity_scorer: str | None = _f(None, "model folder/Hub id, 'vllm:<model>', 'length' (the "
                                       "paper's instruction-length baseline) or 'none' (default: "
                                       "the preset's)")
    quality_scorer: str | None = _f(None, "model folder/Hub id, 'vllm:<model>', 'length' "
                                    "(response-length baseline) or 'none' (default: the preset's)")
    embedder: str | None = _f(None, "'deita' (DeitaEmbedder on Mistral-7B-v0.1: the paper's Repr "
                              "filter), 'deita:<model>', 'vllm[:<model>]', 'minilm' (packaged "
                              "all-MiniLM-L6-v2), a sentence-transformers folder, "
                              "'causal-lm:<chat model>' or 'none' (default: the preset's)")
    batch_size: int = _f(8, "prompts (or conversations) per forward pass of a model (default 8)")
    max_length: int | None = _f(None, MAX_LENGTH_HELP, metavar="TOKENS")
    dtype: str | None = _f(None, DTYPE_HELP, metavar="DTYPE")
    on_error: Literal["raise", "nan"] = _f("raise", "a failed forward pass: stop (raise), or NaN "
                                           "for its rows with a counting warning (nan)")
    device: str | None = _f(None, DEVICE_HELP, metavar="DEVICE")

    def component_options(self) -> dict[str, Any]:
        """The options every component is built with (``batch_size``, ``max_length``,
        ``device``, ``dtype``, ``on_error``), checked.

        Raises:
            ConfigError: a non-positive ``batch_size``/``max_length``, an unknown ``on_error``
                or a device this machine lacks.
        """
        if self.batch_size < 1 or (self.max_length is not None and self.max_length < 1):
            raise ConfigError(f"batch_size and max_length must be positive (got "
                              f"{self.batch_size} and {self.max_length}).",
                              param=("batch_size", "max_length"))
        if self.on_error not in ON_ERROR:
            raise ConfigError(f"on_error must be one of {list(ON_ERROR)}, got "
                              f"{self.on_error!r}.", param="on_error")
        if self.device is not None and str(self.device) != "auto":
            from deita_hf.runtime import torch_device

            try:  # a device this machine lacks fails here, before a pool or a model loads
                torch_device(self.device)
            except ConfigError as err:
                raise ConfigError(f"device: {err}", param="device") from None
        return {"batch_size": self.batch_size, "max_length": self.max_length,
                "device": self.device, "dtype": self.dtype, "on_error": self.on_error}

    def flag_specs(self) -> dict[str, str | None]:
        """role -> the spec given for it (None: not given)."""
        return {"complexity": self.complexity_scorer, "quality": self.quality_scorer,
                "embedding": self.embedder}

    def to_dict(self, *, changed_only: bool = False) -> dict[str, Any]:
        """The fields as a plain dict (``changed_only``: those differing from the default),
        the form a YAML config holds."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            default = f.default if f.default is not dataclasses.MISSING else (
                f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
            if not changed_only or value != default:
                out[f.name] = list(value) if isinstance(value, (list, tuple)) else value
        return out


def _positive(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a positive number of rows, got {value!r}.",
                          param=name)
    return value


def _required(value: Any, name: str, what: str) -> None:
    if value is None or value == "":
        raise ConfigError(f"{name} is required: {what}.", param=name)


@dataclass
class SelectionConfig(ComponentArguments):
    """Everything ``deita-hf select`` (and :func:`deita_hf.pipeline.run_selection`) takes."""

    input: str | None = _f(None, "the pool: a json/jsonl(.gz)/parquet/csv file, a save_to_disk, "
                           "Hub-layout or `deita-hf score` folder, or a Hub dataset id",
                           positional=True)
    budget: int | None = _f(None, "the most rows to select (fewer when fewer survive the filter)")
    output: str | None = _f(None, "output folder (Hub layout)")
    threshold: float | None = _f(None, "max cosine similarity to an already selected row (deita "
                                 "only; default: the preset's, 0.9)")
    strategy: str = _f("deita", "selection strategy NAME[:ARGS], e.g. 'deita' (default), "
                       "'random:seed=1', 'topk:column=complexity', 'kcenter', 'facility', "
                       "'kmeans:n_clusters=50', 'instag', 'mig', 'kmq', 'less:target=PATH' (see "
                       "deita_hf.selection.dispatch); only the columns it reads are computed",
                       metavar="NAME[:ARGS]")
    scorers: list[str] = _f([], "generic measures to compute first, e.g. 'ifd:MODEL' (repeatable "
                            "as --scorer SPEC; their columns can then be named in the strategy "
                            "or score_column)", aliases=["--scorer"],
                            metavar="SPEC")
    score_column: str | None = _f(None, "a ready score column; skips complexity x quality")
    embedding_column: str = _f("embedding", "the column of the vectors (default: embedding)")
    complexity_column: str = _f("complexity", "the complexity column (default: complexity)")
    quality_column: str = _f("quality", "the quality column (default: quality)")
    split: str = _f("train", "split to read from folders/Hub ids (default: train)")
    overwrite: bool = _f(False, "write into a non-empty output folder")
    decontaminate: str | None = _f(None, "drop pool rows matching benchmark prompts first: "
                                   "comma-separated mt_bench (shipped), alpaca_eval (Hub, or "
                                   "alpaca_eval=PATH), NAME=PATH or PATH", metavar="SPEC")
    decontaminate_method: Literal["ngram", "embedding", "both"] = _f(
        "ngram", "ngram: shared word n-gram after normalising case and punctuation (default); "
        "embedding: cosine >= the threshold; both: either")
    decontaminate_ngram: int = _f(13, "n-gram length in words (default 13, as GPT-3 and "
                                  "lm-eval-harness)")
    decontaminate_min_words: int = _f(8, "prompts shorter than the n-gram are matched whole down "
                                      "to this many words (default 8)")
    decontaminate_threshold: float = _f(0.9, "cosine at or above which a turn matches a prompt "
                                        "(embedding, both; default 0.9)")
    decontaminate_embedder: str | None = _f(None, "embedder of the embedding method (default: "
                                            "embedder, else the preset's)", metavar="SPEC")
    include_pool: bool = _f(False, "also write the whole scored pool as the 'pool' config")
    license: str | None = _f(None, "license id for the card, e.g. cc-by-nc-4.0")
    source_datasets: list[str] = _f([], "source datasets of the pool for the card (repeatable "
                                    "as --source-dataset; default: the 'source' column)",
                                    aliases=["--source-dataset"])
    pretty_name: str | None = _f(None, "the card's title")
    keep_vectors: bool = _f(False, "keep the vector columns (embedding, less_grad) in the "
                            "default config; by default they go to the 'embeddings' config and "
                            "data/ holds what trl.SFTTrainer trains on")

    def check(self) -> SelectionConfig:
        """Check the values that need no pool or model; returns ``self``.

        Raises:
            ConfigError: a missing ``input``/``budget``/``output``, a bad budget, threshold or
                component option (each named by its parameter; the CLI names its flag).
        """
        _required(self.input, "input", "the pool to select from")
        _required(self.budget, "budget", "the most rows to select")
        _positive(self.budget, "budget")
        _required(self.output, "output", "the folder to write")
        if self.threshold is not None:
            from deita_hf.selection.deita import check_threshold

            try:
                check_threshold(self.threshold)
            except ConfigError as err:
                raise ConfigError(f"threshold: {err}", param="threshold") from None
        if not isinstance(self.strategy, str) or not self.strategy.strip():
            raise ConfigError(f"strategy must be a spec like 'deita' or "
                              f"'random:seed=1', got {self.strategy!r}.", param="strategy")
        self.component_options()
        return self


@dataclass
class ScoreConfig(ComponentArguments):
    """Everything ``deita-hf score`` (and :func:`deita_hf.pipeline.run_scoring`) takes."""

    input: str | None = _f(None, "the pool: a json/jsonl/parquet/csv file, a dataset folder or "
                           "a Hub id", positional=True)
    output: str | None = _f(None, "output folder (resumes if it holds a run)")
    split: str = _f("train", "split to read from folders/Hub ids (default: train)")
    shard_size: int = _f(1000, "rows per shard (the unit of resumption; default 1000)")
    overwrite: bool = _f(False, "discard a previous run with other settings or input")
    engine: Literal["local", "ray"] = _f("local", "local: this process (or the processes of "
                                         "`accelerate launch`); ray: the workers of a Ray "
                                         "cluster (pip install 'deita_hf[ray]')")
    address: str | None = _f(None, "engine ray: the cluster ('auto', HOST:PORT or "
                             "ray://HOST:10001; default: start a local Ray)")
    num_workers: int | None = _f(None, "engine ray: workers, each loading the models once "
                                 "(default: the cluster's GPUs / gpus_per_worker, else its CPUs)")
    gpus_per_worker: float | None = _f(None, "engine ray: GPUs per worker (default 1 where the "
                                       "cluster has GPUs, else 0)")
    num_shards: int | None = _f(None, "Slurm arrays: split the run into this many array shards")
    shard_index: int | None = _f(None, "Slurm arrays: score array shard I (0-based, e.g. "
                                 "$SLURM_ARRAY_TASK_ID); the last task to finish assembles")
    assemble: bool = _f(False, "Slurm arrays: score nothing; write the output from the finished "
                        "shards")

    def check(self) -> ScoreConfig:
        """Check the values that need no pool or model; returns ``self``.

        Raises:
            ConfigError: a missing ``input``/``output``, a bad shard size or scale-out options
                that do not fit together (each named by its parameter; the CLI names its flag).
        """
        from deita_hf.pipeline.sharded import check_array_task

        _required(self.input, "input", "the pool to score")
        _required(self.output, "output", "the folder to write")
        _positive(self.shard_size, "shard_size")
        ray_only = [name for name, value in (("address", self.address),
                                             ("num_workers", self.num_workers),
                                             ("gpus_per_worker", self.gpus_per_worker))
                    if value is not None]
        array = self.num_shards is not None or self.shard_index is not None or self.assemble
        if self.engine != "ray" and ray_only:
            raise ConfigError(f"{', '.join(ray_only)} only appl"
                              f"{'ies' if len(ray_only) == 1 else 'y'} to engine ray; add "
                              f"engine ray or drop {'it' if len(ray_only) == 1 else 'them'}.",
                              param=(*ray_only, "engine"))
        if self.num_workers is not None and self.num_workers < 1:
            raise ConfigError(f"num_workers must be a positive number of workers, got "
                              f"{self.num_workers}.", param="num_workers")
        if self.gpus_per_worker is not None and self.gpus_per_worker < 0:
            raise ConfigError(f"gpus_per_worker must be 0 or more, got "
                              f"{self.gpus_per_worker:g}.", param="gpus_per_worker")
        if self.engine == "ray" and array:
            raise ConfigError("num_shards/shard_index/assemble split a run into Slurm array "
                              "tasks; Ray schedules the shards itself. Drop them, or drop "
                              "engine ray.", param=("num_shards", "shard_index", "assemble",
                                                    "engine"))
        if array:
            check_array_task(self.num_shards, self.shard_index, self.assemble)
        return self


def config_keys(cls: type) -> list[str]:
    """The keys a YAML config of ``cls`` may hold (its fields, in order).

    Example:
        >>> config_keys(ScoreConfig)[:3]
        ['preset', 'complexity_scorer', 'quality_scorer']
    """
    return [f.name for f in dataclasses.fields(cls)]


def load_config(cls: type[C], path: str | os.PathLike | None = None, **overrides: Any) -> C:
    """A config of class ``cls`` from a YAML file, with ``overrides`` (e.g. the flags given on
    the command line) on top; nothing is checked beyond the keys (call ``.check()``).

    Args:
        cls: :class:`SelectionConfig` or :class:`ScoreConfig`.
        path: the YAML file (a mapping of field names to values); None: no file.
        **overrides: field values that replace the file's.

    Returns:
        The config.

    Raises:
        ConfigError: the file is missing or not a YAML mapping, or a key no field has (named,
            with the accepted keys).

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "select.yaml"
        >>> _ = p.write_text("budget: 5\\nstrategy: random:seed=1\\n")
        >>> cfg = load_config(SelectionConfig, p, budget=7)
        >>> cfg.budget, cfg.strategy
        (7, 'random:seed=1')
    """
    values: dict[str, Any] = {}
    if path is not None:
        import yaml

        file = Path(path)
        if not file.is_file():
            raise ConfigError(f"--config {str(path)!r}: no such file.")
        try:
            loaded = yaml.safe_load(file.read_text(encoding="utf-8"))
        except yaml.YAMLError as err:
            raise ConfigError(f"--config {str(path)!r} is not valid YAML: {err}") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"--config {str(path)!r} must hold a mapping of option names to "
                              f"values, got {type(loaded).__name__}.")
        values = {str(k): v for k, v in loaded.items()}
        _check_keys(cls, values, f"--config {str(path)!r}")
    _check_keys(cls, overrides, cls.__name__)
    values.update(overrides)
    for key, value in values.items():  # a YAML scalar where a list is expected
        if key in ("scorers", "source_datasets") and isinstance(value, str):
            values[key] = [value]
    return cls(**values)


def _check_keys(cls: type, values: dict[str, Any], where: str) -> None:
    known = config_keys(cls)
    unknown = [k for k in values if k not in known]
    if unknown:
        hints = [f"{k!r} (did you mean {k.replace('-', '_')!r}?)"
                 if k.replace("-", "_") in known else repr(k) for k in unknown]
        raise ConfigError(f"{where}: unknown key(s) {', '.join(hints)}; the keys are the "
                          f"options' names with underscores: {', '.join(known)}.")

