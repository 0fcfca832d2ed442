"""build_generator spec parsing, the vLLM parameter conversion (no vLLM needed) and the shared
``generate`` logic of the base class."""

import pytest

from deita_hf.errors import ConfigError, GenerationError
from deita_hf.generation import (
    GenerationParams,
    Generator,
    OpenAIGenerator,
    TransformersGenerator,
    VLLMGenerator,
    build_generator,
)
from deita_hf.generation.vllm_backend import sampling_kwargs


@pytest.mark.parametrize("spec,cls,model,normalised", [
    ("hf:org/model", TransformersGenerator, "org/model", "hf:org/model"),
    ("vllm:org/model", VLLMGenerator, "org/model", "vllm:org/model"),
    ("openai:http://127.0.0.1:8000/v1#my-model", OpenAIGenerator, "my-model", "openai:http://127.0.0.1:8000/v1#my-model"),
    ("openai:http://127.0.0.1:8000#my-model", OpenAIGenerator, "my-model", "openai:http://127.0.0.1:8000/v1#my-model"),
    ("openai:https://host/v1/#org/Model-7B", OpenAIGenerator, "org/Model-7B", "openai:https://host/v1#org/Model-7B"),
])
def test_specs(spec, cls, model, normalised):
    gen = build_generator(spec)
    assert type(gen) is cls and gen.model == model and gen.spec == normalised


def test_bare_local_path_is_hf(tmp_path):
    gen = build_generator(tmp_path, batch_size=2, cache_dir=tmp_path / "c")
    assert isinstance(gen, TransformersGenerator) and gen.spec == f"hf:{tmp_path}" and gen.batch_size == 2
    assert gen.describe()["cache"] == str(tmp_path / "c" / "generations.sqlite")


@pytest.mark.parametrize("spec", ["", "hf:", "vllm:  ", "openai:http://x/v1", "openai:#m", "openai:ftp://x#m",
                                  "gpt-4", "org/not-a-local-path", "tgi:http://x#m", None])
def test_bad_specs_list_the_accepted_forms(spec):
    with pytest.raises(ConfigError) as info:
        build_generator(spec)
    assert "hf:PATH_OR_ID" in str(info.value) and "openai:URL#MODEL" in str(info.value)


def test_unknown_kwargs_are_config_errors():
    with pytest.raises(ConfigError, match="batch_size"):
        build_generator("openai:http://127.0.0.1:1/v1#m", batch_size=4)


def test_vllm_sampling_kwargs_and_engine_args():
    assert sampling_kwargs(GenerationParams(max_new_tokens=5, temperature=0.7, top_p=0.95, seed=None)) == {
        "temperature": 0.7, "top_p": 0.95, "max_tokens": 5, "stop": []}
    assert sampling_kwargs(GenerationParams(stop=("a", "b")))["stop"] == ["a", "b"]
    gen = VLLMGenerator("m", tensor_parallel_size=2, max_model_len=2048, gpu_memory_utilization=0.5)
    assert gen.engine_args() == {"model": "m", "tensor_parallel_size": 2, "dtype": "auto",
                                 "max_model_len": 2048, "gpu_memory_utilization": 0.5}
    assert VLLMGenerator("m", data_parallel_size=2).engine_args()["data_parallel_size"] == 2


def test_vllm_missing_is_a_config_error(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "vllm", None)  # as if not installed
    with pytest.raises(ConfigError, match=r"pip install 'deita_hf\[vllm\]'"):
        VLLMGenerator("m").load()


class Flaky(Generator):
    backend = "flaky"

    def __init__(self, **kwargs):
        super().__init__("toy", **kwargs)
        self.seen = []

    def _run(self, jobs, params, report):
        for index, item in jobs:
            self.seen.append(item)
            if item == "fail":
                report(index, error=RuntimeError("boom"))
            else:
                report(index, item.upper())


def test_base_generate_contract(tmp_path):
    gen = Flaky(cache_dir=tmp_path)
    with pytest.raises(ConfigError, match="on_error"):
        gen.generate(["a"], on_error="skip")
    with pytest.raises(ConfigError, match="GenerationParams"):
        gen.generate(["a"], {"max_new_tokens": 3})
    assert gen.generate([], progress=False) == []
    with pytest.warns(RuntimeWarning, match="1 of 3"):
        assert gen.generate(["a", "fail", "b"], desc="toy", on_error="none") == ["A", None, "B"]
    with pytest.raises(GenerationError, match="input 1 failed: boom"):
        gen.generate(["a", "fail"], progress=False)
    assert gen.seen == ["a", "fail", "b", "fail"]  # "a" came from the cache the second time
    assert gen.describe()["spec"] == "flaky:toy"
