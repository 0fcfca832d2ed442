"""``run_scoring(config)``: score a pool with one interface over every engine, behind
``deita-hf score``.

The engine follows from the config: ``engine="ray"`` scores on a Ray cluster
(:func:`deita_hf.pipeline.ray_engine.score_on_ray`); ``num_shards``/``shard_index``/``assemble``
make this process one Slurm array task (or the assembler); otherwise this process scores, or
each process of ``accelerate launch`` (:func:`deita_hf.pipeline.sharded.score_in_shards`).
Each writes the same shards, settings and output folder, and each returns a
:class:`ScoreResult`.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from datasets import Dataset
    >>> tmp = Path(tempfile.mkdtemp())
    >>> _ = Dataset.from_dict({"instruction": ["a", "bb"], "output": ["x", "y"]}).to_json(
    ...     str(tmp / "pool.jsonl"))
    >>> result = run_scoring(ScoreConfig(input=str(tmp / "pool.jsonl"), output=str(tmp / "s"),
    ...                      complexity_scorer="length", quality_scorer="length",
    ...                      embedder="none"), progress=False)
    >>> result.complete, result.num_rows, result.engine, result.scored_rows, result.written
    (True, 2, 'local', 2, True)
    >>> again = run_scoring(ScoreConfig(input=str(tmp / "pool.jsonl"), output=str(tmp / "s"),
    ...                     complexity_scorer="length", quality_scorer="length",
    ...                     embedder="none"), progress=False)
    >>> again.scored_rows, again.found_rows, again.written
    (0, 2, False)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deita_hf.errors import ConfigError
from deita_hf.pipeline.config import ScoreConfig

__all__ = ["ScoreResult", "engine_name", "run_scoring"]


@dataclass
class ScoreResult:
    """What a scoring run did, on any engine."""

    output: Path = field(metadata={"help": "the output folder"})
    engine: str = field(metadata={"help": "'local' (one process or accelerate), 'array' or 'ray'"})
    num_rows: int = field(metadata={"help": "rows of the pool"})
    complete: bool = field(metadata={"help": "this run wrote the complete output folder (an "
                                             "array task that did not assemble it: False)"})
    settings: dict[str, Any] = field(default_factory=dict,
                                     metadata={"help": "deita_score.json once complete"})
    components: list[dict[str, Any]] = field(default_factory=list,
                                             metadata={"help": "the components' describe()"})
    main_process: bool = field(default=True, metadata={"help": "False on the other processes "
                                                               "of accelerate launch"})
    shards: int = field(default=0, metadata={"help": "shards this run was responsible for (an "
                                                     "array task: its own)"})
    scored_shards: int = field(default=0, metadata={"help": "of them, shards this run scored"})
    scored_rows: int = field(default=0, metadata={"help": "rows this run scored"})
    found_shards: int = field(default=0, metadata={"help": "shards found already scored (a "
                                                           "resumed or finished run)"})
    found_rows: int = field(default=0, metadata={"help": "rows found already scored"})
    written: bool = field(default=False, metadata={"help": "this run wrote the output folder "
                                                           "(False: it was already complete)"})


def engine_name(config: ScoreConfig) -> str:
    """``"ray"``, ``"array"`` (a Slurm array task or ``assemble``) or ``"local"``.

    Example:
        >>> engine_name(ScoreConfig(num_shards=4, shard_index=0))
        'array'
    """
    if config.engine == "ray":
        return "ray"
    if config.num_shards is not None or config.shard_index is not None or config.assemble:
        return "array"
    return "local"


def run_scoring(config: ScoreConfig, *, progress: bool = True,
                say: Callable[[str], None] | None = None) -> ScoreResult:
    """Score ``config.input`` into ``config.output`` (see the module docstring); every option
    is checked before a model or the pool loads.

    Args:
        config: the :class:`~deita_hf.pipeline.config.ScoreConfig`.
        progress: show progress bars.
        say: where one-line notes go (the CLI prints them; default: nowhere).

    Returns:
        The :class:`ScoreResult`.

    Raises:
        ConfigError: a bad option or spec, or nothing to compute.
        InputError: an unfinished run of another input or other settings.
    """
    from deita_hf.components import build_component, describe_component, parse_spec
    from deita_hf.data.loading import load_pool
    from deita_hf.folder.layout import folder_kind, read_settings
    from deita_hf.pipeline.presets import check_models_available, preset_components
    from deita_hf.pipeline.progress import ShardCounts
    from deita_hf.pipeline.run_select import check_local_paths
    from deita_hf.pipeline.sharded import check_score_output, score_in_shards
    from deita_hf.runtime import dist_state

    say = say or (lambda _: None)
    config.check()
    engine = engine_name(config)
    on_ray = engine == "ray"
    if on_ray:
        from deita_hf.pipeline.ray_engine import require_ray

        require_ray()
    # on Ray the workers resolve the device, not this process
    options = (dataclasses.replace(config, device=None) if on_ray else config).component_options()
    options["device"] = config.device
    parts = preset_components(config.preset, config.flag_specs(), dtype=options.pop("dtype"))
    parsed = {role: parse_spec(role, spec) for role, (spec, _) in parts.items()}
    check_local_paths(parsed)
    if all(p.kind == "none" for p in parsed.values()):
        raise ConfigError("deita-hf score: nothing to do (all components are 'none').")
    if not config.assemble:  # assembling loads no model
        check_models_available({role: spec for role, (spec, _) in parts.items()},
                               command="deita-hf score", preset=config.preset)
    check_score_output(config.output, overwrite=config.overwrite)
    state = None if on_ray else dist_state(config.device)
    if config.device is None and not on_ray:
        options["device"] = str(state.device)
    components = [build_component(role, p, **{**options, **parts[role][1]})
                  for role, p in parsed.items()]
    components = [c for c in components if c is not None]
    main = state is None or state.is_main_process
    if main:
        for role, p in parsed.items():
            if p.kind == "none":
                say(f"no {role} component ({role} spec 'none')")
        for c in components:
            say(describe_component(c))
    ds = load_pool(config.input, split=config.split)
    counts = ShardCounts()
    common = {"shard_size": config.shard_size, "overwrite": config.overwrite,
              "progress": progress, "source": str(config.input), "preset": config.preset,
              "counts": counts}
    if on_ray:
        from deita_hf.pipeline.ray_engine import score_on_ray

        out = score_on_ray(ds, components, output_dir=config.output, address=config.address,
                           num_workers=config.num_workers,
                           gpus_per_worker=config.gpus_per_worker, **common)
    else:
        out = score_in_shards(ds, config.output, components, state=state,
                              num_shards=config.num_shards, shard_index=config.shard_index,
                              assemble=config.assemble, **common)
    kind, settings = read_settings(out) if folder_kind(out) == "scores" else (None, {})
    complete = bool(settings.get("complete"))
    if engine == "array" and not config.assemble and complete:
        # another array task may have assembled the folder meanwhile: this one wrote it only
        # when the folder says so
        complete = (settings.get("engine") or {}).get("assembled_by") == config.shard_index
    return ScoreResult(output=Path(out), engine=engine, num_rows=len(ds),
                       complete=complete, settings=settings,
                       components=list(settings.get("components") or []), main_process=main,
                       shards=counts.shards, scored_shards=counts.scored_shards,
                       scored_rows=counts.scored_rows, found_shards=counts.found_shards,
                       found_rows=counts.found_rows, written=counts.written)
