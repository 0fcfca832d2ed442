"""``deita-hf score``: add complexity, quality and embedding columns to a pool, shard by shard.

Example:
    $ deita-hf score pool.jsonl --output out/scored --complexity-scorer length \\
        --quality-scorer length --embedder minilm --shard-size 1000
    $ accelerate launch --num_processes 8 -m deita_hf.cli.main score pool.jsonl --output out/scored
"""

from __future__ import annotations

import argparse
import logging

logger = logging.getLogger(__name__)

NONE = "none"
#: what `deita-hf score` computes when no flag is given
DEFAULT_SPECS = {"complexity": "hkust-nlp/deita-complexity-scorer",
                 "quality": "hkust-nlp/deita-quality-scorer", "embedding": "minilm"}


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "score", help="Score (complexity, quality) and embed a pool; resumable, multi-process.",
        description="Adds `complexity`/`quality` (one float per turn) and `embedding` columns. "
                    "Writes parquet shards into OUTPUT (Hub layout; load with deita_hf.load_pool) "
                    "and resumes an interrupted run. Under `accelerate launch --num_processes N` "
                    "each process scores its shards on its own device.")
    p.add_argument("input", help="pool: a json/jsonl/parquet/csv file, a dataset folder or a Hub id")
    p.add_argument("--output", required=True, help="output folder (resumes if it holds a run)")
    p.add_argument("--split", default="train", help="split to read from folders/Hub ids")
    add_component_arguments(p, complexity=DEFAULT_SPECS["complexity"],
                            quality=DEFAULT_SPECS["quality"], embedder=DEFAULT_SPECS["embedding"])
    p.add_argument("--shard-size", type=int, default=1000, help="rows per shard (unit of resumption)")
    p.add_argument("--overwrite", action="store_true", help="discard a previous run with other settings")
    p.set_defaults(func=run)
    return p


def add_component_arguments(p: argparse.ArgumentParser, *, complexity: str | None,
                            quality: str | None, embedder: str | None, note: str = "") -> None:
    """The scorer/embedder flags shared by ``deita-hf score`` and ``deita-hf select``.

    Args:
        p: the sub-command's parser.
        complexity, quality, embedder: the defaults of the three spec flags.
        note: appended to each spec flag's help (e.g. how a default of None is resolved).
    """
    g = p.add_argument_group("scoring and embedding")
    g.add_argument("--complexity-scorer", default=complexity,
                   help="model folder/Hub id, 'vllm:<model>', 'length' (the paper's instruction-length "
                        f"baseline, in characters) or 'none'{note}")
    g.add_argument("--quality-scorer", default=quality,
                   help=f"model folder/Hub id, 'vllm:<model>', 'length' (response-length baseline) or "
                        f"'none'{note}")
    g.add_argument("--embedder", default=embedder,
                   help="'minilm' (packaged all-MiniLM-L6-v2), a sentence-transformers folder, "
                        f"'causal-lm:<model>' or 'none'{note}")
    g.add_argument("--batch-size", type=int, default=8, help="prompts per forward pass")
    g.add_argument("--max-length", type=int, default=2048, help="token budget per prompt")
    g.add_argument("--dtype", default=None, help="bfloat16 | float16 | float32 (default: auto)")
    g.add_argument("--on-error", choices=["raise", "nan"], default="raise",
                   help="a failed forward pass: stop, or NaN for its rows (with a counting warning)")
    p.add_argument("--device", default=None,
                   help="torch device (default: this process's accelerate device, else cuda if "
                        "available)")


def make_components(specs: dict[str, str | None], args) -> list:
    """Build the scorers/embedder named by ``specs`` (``{"complexity"|"quality"|"embedding":
    spec}``; a spec of None or ``none`` is skipped), with the options in ``args``."""
    from deita_hf.embedding import build_embedder
    from deita_hf.scoring import build_scorer

    common = {"batch_size": args.batch_size, "max_length": args.max_length, "device": args.device,
              "dtype": args.dtype}
    components = []
    for kind in ("complexity", "quality"):
        spec = specs.get(kind)
        if spec is None or spec.lower() == NONE:
            continue
        kwargs = dict(common, on_error=args.on_error) if spec.lower() != "length" else {}
        components.append(build_scorer(kind, spec, **kwargs))
    spec = specs.get("embedding")
    if spec is not None and spec.lower() != NONE:
        kw = {"device": args.device}
        if spec.startswith("causal-lm:"):
            kw.update(batch_size=args.batch_size, max_length=args.max_length, dtype=args.dtype)
        components.append(build_embedder(spec, **kw))
    return components


def build_components(args) -> list:
    """The scorers/embedder the arguments ask for (``none`` skips one, with a printed line)."""
    specs = {"complexity": args.complexity_scorer, "quality": args.quality_scorer,
             "embedding": args.embedder}
    for kind, spec in specs.items():
        if spec.lower() == NONE:
            flag = "--embedder" if kind == "embedding" else f"--{kind}-scorer"
            print(f"deita-hf score: no {kind} {'embedder' if kind == 'embedding' else 'scorer'} "
                  f"({flag} none)")
    components = make_components(specs, args)
    if not components:
        raise SystemExit("deita-hf score: nothing to do (all components are 'none').")
    return components


def describe_component(component) -> str:
    """One line naming a component, flagging the paper's length baselines as stand-ins."""
    d = component.describe()
    note = " (a stand-in for the model scorer)" if d["kind"] == "length-baseline" else ""
    return f"{d.get('column', 'embedding')} <- {d['name']} [{d['kind']}]{note}"


def run(args) -> int:
    from deita_hf.io import load_pool
    from deita_hf.sharding import dist_state, score_in_shards

    state = dist_state(args.device)
    if args.device is None:
        args.device = str(state.device)
    components = build_components(args)
    if state.is_main_process:
        for c in components:
            print(f"deita-hf score: {describe_component(c)}")
    ds = load_pool(args.input, split=args.split)
    out = score_in_shards(ds, args.output, components, shard_size=args.shard_size,
                          overwrite=args.overwrite, state=state)
    if state.is_main_process:
        print(f"deita-hf score: {len(ds)} rows scored into {out} (load with deita_hf.load_pool)")
    return 0
