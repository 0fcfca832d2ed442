"""The one spec parser/factory: the ``scorer`` role (generic measures) next to the DEITA roles."""

import pytest
from datasets import Dataset

from deita_hf.components import (
    SCORER_FORMS,
    ComponentSpec,
    apply_components,
    build_component,
    component_columns,
    describe_component,
    parse_spec,
)
from deita_hf.errors import ConfigError
from deita_hf.scoring import (
    IFDScorer,
    InsTagTagger,
    JudgeScorer,
    PerplexityScorer,
    RandomScorer,
    RewardModelScorer,
)

GEN = "openai:http://127.0.0.1:8000/v1#m"


@pytest.mark.parametrize("spec, want", [
    ("perplexity:/m/llama", ComponentSpec("scorer", "perplexity", "/m/llama")),
    ("ifd:org/model", ComponentSpec("scorer", "ifd", "org/model")),
    ("superfilter", ComponentSpec("scorer", "superfilter")),
    ("superfilter:/m/gpt2", ComponentSpec("scorer", "superfilter", "/m/gpt2")),
    ("reward:/m/rm", ComponentSpec("scorer", "reward", "/m/rm")),
    (f"judge:alpagasus@{GEN}", ComponentSpec("scorer", "judge", GEN, "alpagasus")),
    (f" Judge:Quality@{GEN} ", ComponentSpec("scorer", "judge", GEN, "quality")),
    (f"instag@{GEN}", ComponentSpec("scorer", "instag", GEN)),
    ("random", ComponentSpec("scorer", "random")),
    ("random:42", ComponentSpec("scorer", "random", "42")),
    ("none", ComponentSpec("scorer", "none")),
])
def test_scorer_specs_parse(spec, want):
    assert parse_spec("scorer", spec) == want


@pytest.mark.parametrize("spec, why", [
    (None, "a scorer spec is required"),
    ("bleu:/m", "unknown measure 'bleu'"),
    ("perplexity", "needs a model folder"),
    ("ifd:", "needs a model folder"),
    ("judge:quality", "write judge:PROMPT@GENERATOR"),
    (f"judge:fluency@{GEN}", "neither one of"),
    ("judge:quality@gpt-4", "the generator after '@' is not valid"),
    ("instag", "write instag@GENERATOR"),
    ("random:abc", "not an integer"),
    (f"reward:/m@{GEN}", "only judge and instag"),
])
def test_bad_scorer_specs_list_the_accepted_forms(spec, why):
    with pytest.raises(ConfigError, match="Accepted forms: perplexity:MODEL; ifd:MODEL") as info:
        parse_spec("scorer", spec)
    assert why in str(info.value) and all(form in str(info.value) for form in SCORER_FORMS)


def test_build_scorer_components_with_shared_options(tmp_path):
    opts = {"batch_size": 4, "max_length": 512, "device": "cpu", "on_error": "nan", "dtype": None}
    with pytest.raises(ConfigError, match="PerplexityScorer takes no option 'threshold'"):
        build_component("scorer", "perplexity:/m/llama", **opts, threshold=0.9)
    ppl = build_component("scorer", "perplexity:/m/llama", **opts)
    assert isinstance(ppl, PerplexityScorer) and (ppl.batch_size, ppl.max_length, ppl.on_error) == (4, 512, "nan")
    ifd = build_component("scorer", "ifd:/m/llama", **opts)
    assert isinstance(ifd, IFDScorer) and ifd.batch_size == 4 and ifd.describe()["variant"] == "cherry"
    sf = build_component("scorer", "superfilter", **opts)
    assert sf.model_name_or_path == "gpt2" and sf.describe()["variant"] == "superfilter" and sf.device == "cpu"
    rm = build_component("scorer", "reward:/m/rm", **opts)
    assert isinstance(rm, RewardModelScorer) and rm.batch_size == 4
    judge = build_component("scorer", f"judge:complexity@{GEN}", **opts, retries=1,
                            cache_dir=str(tmp_path))
    assert isinstance(judge, JudgeScorer) and judge.retries == 1 and judge.generator.cache is not None
    assert judge.column == "judge_complexity"
    assert isinstance(build_component("scorer", f"instag@{GEN}", **opts, retries=1),
                      InsTagTagger)
    assert build_component("scorer", "random:5").seed == 5 and build_component("scorer", "random").seed == 0
    assert build_component("scorer", "none") is None


def test_judge_template_file(tmp_path):
    path = tmp_path / "my_judge.txt"
    path.write_text("Rate {instruction} from {low} to {high}. Reply 'Score: N'.", encoding="utf-8")
    spec = parse_spec("scorer", f"judge:{path}@{GEN}")
    judge = build_component("scorer", spec)
    assert spec.variant == str(path) and judge.prompt.template.startswith("Rate {instruction}")
    assert judge.column == "judge" and judge.describe()["scale"] == [1.0, 10.0]


def test_existing_roles_unchanged():
    assert parse_spec("complexity", "length") == ComponentSpec("complexity", "length", None)
    assert repr(parse_spec("quality", "vllm:/m")) == "ComponentSpec(role='quality', kind='vllm', target='/m')"
    assert parse_spec("embedding", None).kind == "minilm"
    with pytest.raises(ConfigError, match=r"\['complexity', 'embedding', 'quality', 'scorer'\]"):
        parse_spec("diversity", "x")


def test_multi_column_components_are_named_and_replaced():
    judge = build_component("scorer", f"judge:quality@{GEN}")
    assert component_columns(judge) == ["judge_quality", "judge_quality_raw"]
    assert describe_component(judge).startswith("judge_quality (+judge_quality_raw) <- openai:")
    ds = Dataset.from_dict({"instruction": ["a", "b"], "output": ["x", "y"], "random": [9.0, 9.0]})
    out = apply_components(ds, [RandomScorer(1)], progress=False)
    assert out["random"][:] != [9.0, 9.0]
    with pytest.raises(ConfigError, match="already has a 'random' column"):
        apply_components(ds, [RandomScorer(1)], progress=False, replace=False)
