"""Components: everything that adds columns to a dataset (scorers, embedders, taggers).

One interface (:class:`Component`), one parser of spec strings (:func:`parse_spec`), one
factory (:func:`build_component`), one way to name a component (:func:`describe_component`) and
one way to run components over a dataset (:func:`apply_components`, always with row indices so
errors name the real row). The CLI, :class:`~deita_hf.pipeline.DatasetSelector`, sharded
scoring and preference sampling all go through here.

A component is a callable for ``Dataset.map(batched=True, with_indices=True)`` that returns
``{component.column: [...]}``, has ``describe() -> dict`` (at least ``name``, ``kind``,
``column``), pickles without its model and fingerprints from its settings, not its weights.

Spec strings (``--complexity-scorer``, ``--quality-scorer``, ``--embedder``):

=====================  ===================================================================
spec                   component
=====================  ===================================================================
``none``               no component (the column must already be in the pool)
``length``             the paper's length baseline (scorers only)
``vllm:MODEL``         a DEITA scorer on the vLLM backend
``MODEL``              a DEITA scorer model (folder or Hub id); for ``embedding`` a
                       sentence-transformers folder (has ``modules.json``) or a causal LM
``minilm``             the packaged all-MiniLM-L6-v2 (embedding; not the paper's set-up)
``deita``              :class:`~deita_hf.embedding.DeitaEmbedder` on Mistral-7B-v0.1: the
                       paper's Repr-filter embeddings (embedding)
``deita:MODEL``        :class:`~deita_hf.embedding.DeitaEmbedder` on another model or a local
                       copy of Mistral-7B-v0.1 (embedding)
``vllm[:MODEL]``       the same vectors from a vLLM pooling engine (embedding; GPU,
                       :class:`~deita_hf.embedding.vllm_embedder.VLLMDeitaEmbedder`)
``sentence-transformers:MODEL``, ``causal-lm:MODEL``   explicit embedder kinds
=====================  ===================================================================

Role ``"scorer"`` (a generic measure; its column comes from the component):

=================================  =======================================================
spec                               component (column)
=================================  =======================================================
``perplexity:MODEL``               :class:`~deita_hf.scoring.PerplexityScorer` (``perplexity``)
``ifd:MODEL``                      :class:`~deita_hf.scoring.IFDScorer`, Cherry's IFD (``ifd``)
``superfilter[:MODEL]``            IFD from GPT-2 (or MODEL): Superfiltering (``ifd``)
``reward:MODEL``                   :class:`~deita_hf.scoring.RewardModelScorer` (``reward``)
``judge:PROMPT@GENERATOR``         :class:`~deita_hf.scoring.JudgeScorer`; PROMPT is
                                   ``complexity``, ``quality``, ``alpagasus`` or a template
                                   file (``judge_PROMPT`` + ``judge_PROMPT_raw``)
``instag@GENERATOR``               :class:`~deita_hf.scoring.InsTagTagger` (``tags``,
                                   ``instag_nodes``, ``tags_raw``)
``random[:SEED]``                  :class:`~deita_hf.scoring.RandomScorer` (``random``)
``less:MODEL[,key=value...]``      :class:`~deita_hf.scoring.LessGradientScorer`: LESS
                                   gradient features (``less_grad`` + ``less_grad_id``);
                                   keys: its options (``dim=``, ``warmup_epochs=``, ...)
``grand:MODEL[+MODEL...]``         :class:`~deita_hf.scoring.GraNdScorer` (``grand``)
``el2n:MODEL[+MODEL...]``          :class:`~deita_hf.scoring.EL2NScorer` (``el2n``)
``none``                           no component
=================================  =======================================================

``GENERATOR`` is a spec of :func:`deita_hf.generation.build_generator`, e.g.
``judge:alpagasus@openai:http://127.0.0.1:8000/v1#my-model`` or ``instag@hf:/models/tagger``.

Example:
    >>> from deita_hf.components import build_component, describe_component, parse_spec
    >>> parse_spec("complexity", "length")
    ComponentSpec(role='complexity', kind='length', target=None)
    >>> describe_component(build_component("quality", "length"))
    'quality <- response-length [length-baseline] (a stand-in for the model scorer)'
    >>> parse_spec("scorer", "judge:quality@openai:http://127.0.0.1:8000/v1#m")
    ComponentSpec(role='scorer', kind='judge', target='openai:http://127.0.0.1:8000/v1#m', variant='quality')
    >>> describe_component(build_component("scorer", "random:3"))
    'random <- random:3 [random]'
"""

from deita_hf.components.interface import (
    Component,
    apply_components,
    component_columns,
    component_name,
    describe_component,
)
from deita_hf.components.specs import (
    ON_ERROR,
    ROLES,
    SCORER_FORMS,
    SCORER_ROLE,
    SHARED_OPTIONS,
    ComponentSpec,
    build_component,
    build_embedder,
    build_scorer,
    parse_spec,
)

__all__ = [
    "ON_ERROR",
    "ROLES",
    "SCORER_FORMS",
    "SCORER_ROLE",
    "SHARED_OPTIONS",
    "Component",
    "ComponentSpec",
    "apply_components",
    "build_component",
    "build_embedder",
    "build_scorer",
    "component_columns",
    "component_name",
    "describe_component",
    "parse_spec",
]
