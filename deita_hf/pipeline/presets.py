"""Presets: named sets of scorers and embedder, so that "DEITA as the paper ran it" is one word.

=========  ===========================================================================
preset     components
=========  ===========================================================================
``deita``  the paper's set-up (the default): ``hkust-nlp/deita-complexity-scorer`` and
           ``hkust-nlp/deita-quality-scorer`` in float32, :class:`~deita_hf.embedding.DeitaEmbedder`
           on ``mistralai/Mistral-7B-v0.1`` (the Repr filter's vectors), threshold 0.9
``fast``   the published scorers in bfloat16 where a GPU is present (``auto`` otherwise:
           float32 on CPU) and the packaged all-MiniLM-L6-v2 (not the paper's set-up)
=========  ===========================================================================

Explicit specs, ``threshold`` and ``dtype`` override a preset's parts (``deita-hf select
--preset deita --embedder minilm``); a spec given explicitly runs in the ``dtype`` option (auto
by default) unless it equals the preset's own spec.

The scorers of both presets score every prompt whole, as the original DEITA does (no cut;
prompts over the model's position limit are counted in a warning); cutting is the explicit
``max_length`` option (``--max-length N``).

Offline (``HF_HUB_OFFLINE=1``), :func:`check_models_available` fails at once, in one message,
when a Hub model the run needs has no local copy, before anything loads.

Example:
    >>> from deita_hf.pipeline.presets import PRESETS, preset_components
    >>> PRESETS["deita"].specs["embedding"]
    'deita'
    >>> preset_components("deita", {"embedding": "minilm"})["embedding"]
    ('minilm', {})
    >>> preset_components("deita")["complexity"]
    ('hkust-nlp/deita-complexity-scorer', {'dtype': 'float32'})
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deita_hf.errors import ConfigError, ModelLoadError
from deita_hf.runtime import offline_reason, offline_variables
from deita_hf.hub.run_setup import (  # re-exported: the presets' API
    paper_setup,
    run_setup,
)

__all__ = [
    "DEFAULT_PRESET",
    "PRESETS",
    "Preset",
    "check_models_available",
    "get_preset",
    "paper_setup",
    "preset_components",
    "required_models",
    "run_setup",
]

COMPLEXITY_SCORER = "hkust-nlp/deita-complexity-scorer"
QUALITY_SCORER = "hkust-nlp/deita-quality-scorer"

#: ``--complexity-scorer/--quality-scorer/--embedder`` per role
FLAGS = {"complexity": "--complexity-scorer", "quality": "--quality-scorer",
         "embedding": "--embedder"}

#: what runs with no network and no model downloads
OFFLINE_ALTERNATIVE = "--complexity-scorer length --quality-scorer length --embedder minilm"


@dataclass(frozen=True)
class Preset:
    """A named set of component specs with their dtypes and the similarity threshold.

    Attributes:
        name: the preset's name.
        specs: role (``complexity``, ``quality``, ``embedding``) -> spec string.
        dtypes: role -> dtype option (``"gpu-bf16"``: bfloat16 where CUDA is available, else
            auto); a role not listed runs with the default (auto).
        threshold: the diversity filter's cosine-similarity threshold.
        description: one line for ``--help`` and the card.
    """

    name: str
    specs: Mapping[str, str]
    dtypes: Mapping[str, str] = field(default_factory=dict)
    threshold: float = 0.9
    description: str = ""

    def dtype(self, role: str) -> str | None:
        """The dtype option this preset gives ``role``'s component (None: auto)."""
        value = self.dtypes.get(role)
        if value == "gpu-bf16":
            import torch

            return "bfloat16" if torch.cuda.is_available() else None
        return value


PRESETS: dict[str, Preset] = {
    "deita": Preset(
        "deita",
        {"complexity": COMPLEXITY_SCORER, "quality": QUALITY_SCORER, "embedding": "deita"},
        {"complexity": "float32", "quality": "float32"},
        0.9,
        "the paper's set-up: the published scorers in float32, DeitaEmbedder on "
        "Mistral-7B-v0.1 (vicuna_v1.1), threshold 0.9",
    ),
    "fast": Preset(
        "fast",
        {"complexity": COMPLEXITY_SCORER, "quality": QUALITY_SCORER, "embedding": "minilm"},
        {"complexity": "gpu-bf16", "quality": "gpu-bf16"},
        0.9,
        "the published scorers in bf16 on a GPU (auto otherwise) and the packaged "
        "all-MiniLM-L6-v2; not the paper's set-up",
    ),
}

DEFAULT_PRESET = "deita"


def get_preset(name: str | Preset | None) -> Preset:
    """The :class:`Preset` called ``name`` (None: :data:`DEFAULT_PRESET`).

    Raises:
        ConfigError: an unknown name.
    """
    if isinstance(name, Preset):
        return name
    key = DEFAULT_PRESET if name is None else str(name).strip().lower()
    if key not in PRESETS:
        raise ConfigError(f"Unknown preset {name!r}; expected one of {sorted(PRESETS)}.")
    return PRESETS[key]


def preset_components(preset: str | Preset | None = None,
                      specs: Mapping[str, str | None] | None = None, *,
                      dtype: Any = None) -> dict[str, tuple[str, dict[str, Any]]]:
    """Each role's spec and the options the preset adds to it.

    Args:
        preset: a preset name (None: ``deita``).
        specs: role -> an explicit spec, overriding the preset's (None: the preset's).
        dtype: an explicit dtype for every component, overriding the preset's.

    Returns:
        ``{role: (spec, {"dtype": ...} or {})}`` for the three roles.
    """
    p = get_preset(preset)
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for role, default in p.specs.items():
        spec = (specs or {}).get(role) or default
        options: dict[str, Any] = {}
        if dtype is not None:
            options["dtype"] = dtype
        elif spec == default and p.dtype(role) is not None:
            options["dtype"] = p.dtype(role)
        out[role] = (spec, options)
    return out


def _hub_model(role: str, spec: str | None) -> str | None:
    """The Hub id a spec loads (None: nothing to download: none/length/minilm/a local path)."""
    from deita_hf.components import parse_spec

    if spec is None:
        return None
    parsed = parse_spec(role, spec)
    if parsed.kind in ("none", "length", "minilm"):
        return None
    if parsed.kind == "deita" and parsed.target is None:
        from deita_hf.embedding.deita import DEITA_EMBEDDER_MODEL

        return DEITA_EMBEDDER_MODEL
    if parsed.kind == "model" and parsed.target is None:
        return COMPLEXITY_SCORER if role == "complexity" else QUALITY_SCORER
    target = parsed.target or ""
    if Path(target).expanduser().exists() or target.startswith(("/", ".", "~")):
        return None
    return target


def required_models(specs: Mapping[str, str | None]) -> dict[str, str]:
    """role -> the Hub id each spec needs to download (local folders and packaged models left out).

    Example:
        >>> required_models({"complexity": "length", "quality": "hkust-nlp/deita-quality-scorer",
        ...                  "embedding": "minilm"})
        {'quality': 'hkust-nlp/deita-quality-scorer'}
    """
    out = {}
    for role, spec in specs.items():
        model = _hub_model(role, spec)
        if model is not None:
            out[role] = model
    return out


def _offline() -> str | None:
    """Which variables make the Hub unreachable (None: online)."""
    return offline_reason("hub")


def _cached(repo_id: str) -> bool:
    """True when the Hub cache holds the model's ``config.json`` (no network request)."""
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(repo_id, "config.json")
    except (ValueError, OSError):  # an id the cache cannot hold (not a valid repo id)
        return False
    return isinstance(found, str)


def _local_spec(role: str, spec: str | None) -> str:
    """The spec that loads ``role``'s model from a local folder DIR."""
    from deita_hf.components import parse_spec

    kind = parse_spec(role, spec).kind
    return {"deita": "deita:DIR", "vllm": "vllm:DIR", "causal-lm": "causal-lm:DIR"}.get(kind, "DIR")


_ROLE_NAMES = {"complexity": "complexity scorer", "quality": "quality scorer",
               "embedding": "embedder"}


def check_models_available(specs: Mapping[str, str | None], *, command: str = "deita-hf select",
                           preset: str | None = None, alternatives: str | None = None) -> None:
    """Offline, fail at once when a Hub model the run needs has no local copy.

    Does nothing when huggingface_hub is online (neither ``HF_HUB_OFFLINE`` nor
    ``TRANSFORMERS_OFFLINE`` set; the models then download on first use).
    Makes no network request: it looks in the Hub cache only.

    Args:
        specs: role -> spec of every component that will run.
        command: the command named in the message.
        preset: the preset in use, named in the message.
        alternatives: the offline alternatives to suggest (default: a local-scorer ``fast``
            preset or the length baselines with MiniLM, for commands with those flags).

    Raises:
        ModelLoadError: one message naming every missing model, how to get them, and the
            offline alternatives.
    """
    offline = _offline()
    if not offline:
        return
    missing = {role: model for role, model in required_models(specs).items()
               if not _cached(model)}
    if not missing:
        return
    listed = "; ".join(f"{model} ({_ROLE_NAMES[role]})" for role, model in missing.items())
    local = " ".join(f"{FLAGS[role]} {_local_spec(role, specs[role])}" for role in missing)
    what = f"{command} --preset {preset}" if preset else command
    if alternatives is None:
        alternatives = (
            f"`--preset fast` with local scorer models (`--complexity-scorer DIR "
            f"--quality-scorer DIR`; it embeds with the packaged MiniLM), or "
            f"`{OFFLINE_ALTERNATIVE}` (the paper's length baselines and MiniLM; not the paper's "
            f"set-up)")
    raise ModelLoadError(
        f"{what} needs {len(missing)} model(s) that are not available offline ({offline}, and "
        f"the Hub cache has no copy): {listed}. Download them where there is network "
        f"(`hf download MODEL --local-dir DIR`) and pass the folders ({local}), or unset "
        f"{' and '.join(v.split('=')[0] for v in offline_variables('hub'))}. To run offline "
        f"instead: {alternatives}."
    )


