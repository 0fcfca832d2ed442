"""The one parser of component spec strings and the one factory (see :mod:`deita_hf.components`).

Example:
    >>> from deita_hf.components.specs import parse_spec
    >>> parse_spec("quality", "vllm:/models/q")
    ComponentSpec(role='quality', kind='vllm', target='/models/q')
"""


from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deita_hf.errors import ConfigError

if TYPE_CHECKING:
    pass

__all__ = ["ON_ERROR", "ROLES", "SCORER_FORMS", "SCORER_ROLE", "SHARED_OPTIONS", "ComponentSpec",
           "build_component", "build_embedder", "build_scorer", "parse_spec"]

#: role -> the column its component writes ("" for ``scorer``: each measure names its own)
ROLES: dict[str, str] = {"complexity": "complexity", "quality": "quality", "embedding": "embedding",
                         "scorer": ""}

_SCORER_KINDS = ("none", "length", "vllm", "model")
_EMBEDDER_KINDS = ("none", "minilm", "deita", "sentence-transformers", "causal-lm", "vllm",
                   "rds")

#: the options one set of which serves every component of a run (``--batch-size``,
#: ``--max-length``, ``--device``, ``--dtype``, ``--on-error``): each component takes those it
#: knows (MiniLM has no ``max_length``, the length baselines no model options); any other option
#: a component does not take is an error
SHARED_OPTIONS = ("batch_size", "max_length", "device", "dtype", "on_error")
#: the one ``on_error`` vocabulary: stop at a failed item, or NaN for it (counted in a warning)
ON_ERROR = ("raise", "nan")

#: the role of the generic measures (perplexity, IFD, reward, judges, InsTag, random)
SCORER_ROLE = "scorer"
#: its accepted spec forms (shown in errors)
SCORER_FORMS = ("perplexity:MODEL", "ifd:MODEL", "superfilter[:MODEL] (IFD from gpt2 or MODEL)",
                "reward:MODEL",
                "judge:PROMPT@GENERATOR (PROMPT: complexity, quality, alpagasus or a template file)",
                "instag@GENERATOR", "random[:SEED]",
                "less:MODEL[,key=value...] (LESS gradient features; keys: the LessGradientScorer "
                "options)", "grand:MODEL[+MODEL...]", "el2n:MODEL[+MODEL...]", "none")


@dataclass(frozen=True)
class ComponentSpec:
    """A parsed spec string: which role, which kind of component, and its model (if any)."""

    role: str
    kind: str
    target: str | None = None
    #: the judge prompt of ``judge:PROMPT@...`` (None otherwise)
    variant: str | None = None
    #: ``(key, value)`` options of ``less:MODEL,key=value,...`` (empty otherwise)
    options: tuple[tuple[str, Any], ...] = ()

    def __repr__(self) -> str:
        parts = [f"{f.name}={getattr(self, f.name)!r}" for f in fields(self)
                 if (f.name != "variant" or self.variant is not None)
                 and (f.name != "options" or self.options)]
        return f"ComponentSpec({', '.join(parts)})"


def parse_spec(role: str, spec: str | None) -> ComponentSpec:
    """Parse a component spec string (see the module docstring for the accepted forms).

    Args:
        role: ``"complexity"``, ``"quality"``, ``"embedding"`` or ``"scorer"`` (a generic measure).
        spec: the spec; None means the role's default (the published scorer / MiniLM; the
            ``scorer`` role has none).

    Returns:
        The :class:`ComponentSpec`.

    Raises:
        ConfigError: an unknown role, or a spec of the wrong form (``length`` for an embedder,
            an empty model after a prefix).

    Example:
        >>> parse_spec("embedding", "causal-lm:/models/mistral")
        ComponentSpec(role='embedding', kind='causal-lm', target='/models/mistral')
        >>> parse_spec("embedding", "deita")
        ComponentSpec(role='embedding', kind='deita', target=None)
    """
    if role not in ROLES:
        raise ConfigError(f"Unknown component role {role!r}; expected one of {sorted(ROLES)}.")
    if role == SCORER_ROLE:
        return _parse_scorer(spec)
    text = None if spec is None else str(spec).strip()
    low = (text or "").lower()
    if role == "embedding":
        if text is None or low == "minilm":
            return ComponentSpec(role, "minilm")
        if low == "none":
            return ComponentSpec(role, "none")
        if low == "deita":
            return ComponentSpec(role, "deita")
        if low == "vllm":  # DeitaEmbedder's vectors from a vLLM engine, on the paper's model
            from deita_hf.embedding.deita import DEITA_EMBEDDER_MODEL

            return ComponentSpec(role, "vllm", DEITA_EMBEDDER_MODEL)
        for prefix in ("deita:", "sentence-transformers:", "causal-lm:", "vllm:", "rds:"):
            if low.startswith(prefix):
                return ComponentSpec(role, prefix[:-1], _target(role, text, prefix))
        if low == "length":
            raise ConfigError("--embedder length is not an embedder; use 'deita' (the paper's), "
                              "'deita:MODEL', 'minilm', a sentence-transformers folder, "
                              "'causal-lm:MODEL' or 'none'.")
        if (Path(text) / "modules.json").is_file() or text.startswith("sentence-transformers/"):
            return ComponentSpec(role, "sentence-transformers", text)
        return ComponentSpec(role, "causal-lm", text)
    if text is None:
        return ComponentSpec(role, "model", None)
    if low in ("none", "length"):
        return ComponentSpec(role, low)
    if low.startswith("vllm:"):
        return ComponentSpec(role, "vllm", _target(role, text, "vllm:"))
    return ComponentSpec(role, "model", text)


def _bad_scorer(spec: Any, why: str) -> ConfigError:
    return ConfigError(f"Bad scorer spec {spec!r}: {why}. Accepted forms: {'; '.join(SCORER_FORMS)}.")


def _generator_target(spec: str, target: str) -> str:
    from deita_hf.generation import build_generator

    if not target.strip():
        raise _bad_scorer(spec, "no generator spec after '@'")
    try:
        build_generator(target.strip())  # validates the form; loads nothing
    except ConfigError as err:
        raise _bad_scorer(spec, f"the generator after '@' is not valid ({err})") from None
    return target.strip()


def _parse_scorer(spec: str | None) -> ComponentSpec:
    """``parse_spec("scorer", spec)``: see the module docstring."""
    role = SCORER_ROLE
    text = "" if spec is None else str(spec).strip()
    if not text:
        raise _bad_scorer(spec, "a scorer spec is required")
    head, at, gen = text.partition("@")
    name, colon, arg = head.partition(":")
    name, arg = name.strip().lower(), arg.strip()
    if name == "judge":
        if not at or not arg:
            raise _bad_scorer(spec, "write judge:PROMPT@GENERATOR")
        from deita_hf.scoring.judge import JUDGE_PROMPTS

        if arg.lower() not in JUDGE_PROMPTS and not Path(arg).expanduser().is_file():
            raise _bad_scorer(spec, f"the judge prompt {arg!r} is neither one of "
                                    f"{sorted(JUDGE_PROMPTS)} nor an existing template file")
        return ComponentSpec(role, "judge", _generator_target(text, gen),
                             arg.lower() if arg.lower() in JUDGE_PROMPTS else arg)
    if name == "instag":
        if not at or colon:
            raise _bad_scorer(spec, "write instag@GENERATOR")
        return ComponentSpec(role, "instag", _generator_target(text, gen))
    if at:
        raise _bad_scorer(spec, "only judge and instag take '@GENERATOR'")
    if name in ("none", "random", "superfilter") and not colon:
        return ComponentSpec(role, name)
    if name == "random":
        try:
            int(arg)
        except ValueError:
            raise _bad_scorer(spec, f"the seed {arg!r} is not an integer") from None
        return ComponentSpec(role, "random", arg)
    if name == "less":
        return _parse_less(text, arg)
    if name in ("perplexity", "ifd", "superfilter", "reward", "grand", "el2n"):
        if not arg:
            raise _bad_scorer(spec, f"'{name}:' needs a model folder or Hub id after it")
        return ComponentSpec(role, name, arg)
    raise _bad_scorer(spec, f"unknown measure {name!r}")


def _parse_less(spec: str, arg: str) -> ComponentSpec:
    """``less:MODEL[,key=value,...]``: the model, then options of ``LessGradientScorer``."""
    from deita_hf.scoring.less import LessGradientScorer
    from deita_hf.selection.dispatch import spec_value

    model, *items = (part.strip() for part in arg.split(","))
    if not model:
        raise _bad_scorer(spec, "'less:' needs a model folder or Hub id after it")
    accepted = LessGradientScorer.options()
    options: dict[str, Any] = {}
    for item in filter(None, items):
        key, eq, value = (x.strip() for x in item.partition("="))
        if not eq or key not in accepted or key in options:
            raise _bad_scorer(spec, f"{item!r} is not a new key=value with a key of "
                                    f"{', '.join(accepted)}")
        options[key] = spec_value(value)
    return ComponentSpec(SCORER_ROLE, "less", model, options=tuple(options.items()))


def _build_scorer_component(parsed: ComponentSpec, kwargs: dict[str, Any]) -> Any:
    from deita_hf import scoring

    kind, target = parsed.kind, parsed.target
    if kind == "random":
        return scoring.RandomScorer(int(target or 0), **_accepted(scoring.RandomScorer, kwargs))
    if kind == "judge":
        prompt = parsed.variant
        if prompt not in scoring.JUDGE_PROMPTS:
            prompt = Path(prompt).expanduser().read_text(encoding="utf-8")
        return scoring.JudgeScorer(target, prompt, **_accepted(scoring.JudgeScorer, kwargs))
    if kind == "instag":
        return scoring.InsTagTagger(target, **_accepted(scoring.InsTagTagger, kwargs))
    if kind == "reward":
        return scoring.RewardModelScorer(target, **_accepted(scoring.RewardModelScorer, kwargs))
    if kind == "perplexity":
        return scoring.PerplexityScorer(target, **_accepted(scoring.PerplexityScorer, kwargs))
    if kind == "less":
        scoring.less.require_peft()
        options = {**_accepted(scoring.LessGradientScorer, kwargs), **dict(parsed.options)}
        return scoring.LessGradientScorer(target, **options)
    if kind in ("grand", "el2n"):
        cls = scoring.GraNdScorer if kind == "grand" else scoring.EL2NScorer
        return cls(target, **_accepted(cls, kwargs))
    if kind in ("ifd", "superfilter"):
        kwargs = {**_accepted(scoring.IFDScorer, kwargs), "superfilter": kind == "superfilter"}
        return scoring.IFDScorer(target, **kwargs)
    raise ConfigError(f"Unknown scorer kind {kind!r}; accepted forms: {'; '.join(SCORER_FORMS)}.")


def _target(role: str, text: str, prefix: str) -> str:
    target = text[len(prefix):].strip()
    if not target:
        raise ConfigError(f"The {role} spec {text!r} names no model after {prefix!r}; "
                          f"write {prefix}PATH_OR_HUB_ID.")
    return target


def build_component(role: str, spec: str | ComponentSpec | None = None, **options: Any) -> Any:
    """Make the component a spec names (models load lazily, on first use).

    Args:
        role: ``"complexity"``, ``"quality"``, ``"embedding"`` or ``"scorer"``.
        spec: a spec string or a parsed :class:`ComponentSpec` (None: the role's default).
        **options: passed to the component's constructor; None values are dropped. The
            :data:`SHARED_OPTIONS` a component does not take (e.g. ``max_length`` for MiniLM)
            are left out for it, so one set of options serves every component; any other
            option it does not take raises.

    Returns:
        The component, or None for ``none``.

    Raises:
        ConfigError: a bad spec, an option the component does not take (named, with the
            options it accepts), or an ``on_error`` outside :data:`ON_ERROR`.

    Example:
        >>> build_component("complexity", "none") is None
        True
        >>> build_component("scorer", "ifd:/models/llama", batch_size=4).batch_size
        4
        >>> build_component("scorer", "ifd:/models/llama", batch_sise=4)
        Traceback (most recent call last):
        ...
        deita_hf.errors.ConfigError: IFDScorer takes no option 'batch_sise'; it accepts: batch_size, device, dtype, layout, max_length, model_name_or_path, on_error, prompt, revision, superfilter, trust_remote_code.
    """
    parsed = spec if isinstance(spec, ComponentSpec) else parse_spec(role, spec)
    if parsed.kind == "none":
        return None
    kwargs = {k: v for k, v in options.items() if v is not None}
    if kwargs.get("on_error", "raise") not in ON_ERROR:
        raise ConfigError(f"on_error must be one of {list(ON_ERROR)} (stop, or NaN for the rows "
                          f"that failed), got {kwargs['on_error']!r}.")

    if parsed.role == SCORER_ROLE:
        return _build_scorer_component(parsed, kwargs)
    if parsed.role == "embedding":
        from deita_hf.embedding import CausalLMEmbedder, DeitaEmbedder, SentenceEmbedder

        if parsed.kind == "deita":
            kwargs = _accepted(DeitaEmbedder, kwargs)
            return (DeitaEmbedder(parsed.target, **kwargs) if parsed.target
                    else DeitaEmbedder(**kwargs))
        if parsed.kind == "causal-lm":
            return CausalLMEmbedder(parsed.target, **_accepted(CausalLMEmbedder, kwargs))
        if parsed.kind == "vllm":
            from deita_hf.embedding.vllm_embedder import VLLMDeitaEmbedder

            return VLLMDeitaEmbedder(parsed.target, **_accepted(VLLMDeitaEmbedder, kwargs))
        if parsed.kind == "rds":  # RDS+ (Ivison et al., 2025): deita_hf.embedding.rds
            from deita_hf.embedding.rds import RdsEmbedder

            return RdsEmbedder(parsed.target, **_accepted(RdsEmbedder, kwargs))
        return SentenceEmbedder(parsed.target, **_accepted(SentenceEmbedder, kwargs))
    from deita_hf.scoring import (
        ComplexityScorer,
        InstructionLengthScorer,
        QualityScorer,
        ResponseLengthScorer,
    )

    if parsed.kind == "length":
        cls = InstructionLengthScorer if parsed.role == "complexity" else ResponseLengthScorer
        return cls(**_accepted(cls, kwargs))
    cls = ComplexityScorer if parsed.role == "complexity" else QualityScorer
    if parsed.kind == "vllm":
        kwargs["backend"] = "vllm"
    return cls(parsed.target, **_accepted(cls, kwargs))


def _accepted(cls: type, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The options of ``kwargs`` for ``cls``: those it takes (following ``**kwargs`` to the base
    classes' ``__init__``); the :data:`SHARED_OPTIONS` it does not take are left out.

    Raises:
        ConfigError: another option ``cls`` does not take (named, with those it accepts).
    """
    names = _init_names(cls)
    unknown = [k for k in kwargs if k not in names and k not in SHARED_OPTIONS]
    if unknown:
        raise ConfigError(f"{cls.__name__} takes no option "
                          f"{', '.join(map(repr, unknown))}; it accepts: "
                          f"{', '.join(sorted(names - {'self'}))}.")
    return {k: v for k, v in kwargs.items() if k in names}


def _init_names(cls: type) -> set[str]:
    """The keyword names ``cls.__init__`` takes, following ``**kwargs`` to the base classes."""
    import inspect

    names: set[str] = set()
    for klass in cls.__mro__:
        if "__init__" not in vars(klass) or klass is object:
            continue
        params = inspect.signature(klass.__init__).parameters
        names |= {n for n, p in params.items() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
        if not any(p.kind == p.VAR_KEYWORD for p in params.values()):
            break
    return names


def build_scorer(kind: str, spec: str | None = None, **kwargs: Any) -> Any:
    """A complexity or quality scorer from a spec (see :func:`build_component`).

    Example:
        >>> build_scorer("complexity", "length").describe()["kind"]
        'length-baseline'
    """
    if kind not in ("complexity", "quality"):
        raise ConfigError(f"kind must be 'complexity' or 'quality', got {kind!r}.")
    return build_component(kind, spec, **kwargs)


def build_embedder(spec: str | None = "minilm", **kwargs: Any) -> Any:
    """An embedder from a spec (see :func:`build_component`).

    Example:
        >>> build_embedder("minilm").describe()["kind"]
        'sentence-transformers'
    """
    return build_component("embedding", spec, **kwargs)


