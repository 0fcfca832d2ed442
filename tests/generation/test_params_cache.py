"""GenerationParams validation and the SQLite generation cache."""

import pickle

import pytest

from deita_hf.errors import ConfigError, InputError
from deita_hf.generation import GenerationCache, GenerationParams, cache_key
from deita_hf.generation.base import cut_at_stop, normalize_inputs


@pytest.mark.parametrize("kwargs,field", [
    ({"max_new_tokens": 0}, "max_new_tokens"), ({"max_new_tokens": 1.5}, "max_new_tokens"),
    ({"max_new_tokens": True}, "max_new_tokens"), ({"temperature": -0.1}, "temperature"),
    ({"temperature": float("nan")}, "temperature"), ({"top_p": 0.0}, "top_p"), ({"top_p": 1.2}, "top_p"),
    ({"seed": -1}, "seed"), ({"seed": 1.0}, "seed"), ({"stop": "###"}, "stop"), ({"stop": ("",)}, "stop"),
    ({"stop": (1,)}, "stop"),
])
def test_params_validation_names_the_field(kwargs, field):
    with pytest.raises(ConfigError, match=rf"GenerationParams\.{field}\b"):
        GenerationParams(**kwargs)


def test_params_defaults_and_to_dict():
    p = GenerationParams(stop=["a", "b"], seed=None, temperature=1)
    assert p.stop == ("a", "b") and p.temperature == 1.0 and not p.greedy
    assert GenerationParams().to_dict() == {"max_new_tokens": 512, "temperature": 0.0, "top_p": 1.0,
                                            "seed": 0, "stop": []}
    assert GenerationParams().greedy and hash(GenerationParams()) == hash(GenerationParams())


def test_cache_key_differs_by_each_part_and_is_stable():
    base = ("openai", "m", GenerationParams(max_new_tokens=8), "Say hi.")
    key = cache_key(*base)
    variants = [
        ("transformers", "m", base[2], base[3]), ("openai", "m2", base[2], base[3]),
        ("openai", "m", GenerationParams(max_new_tokens=9), base[3]),
        ("openai", "m", GenerationParams(max_new_tokens=8, seed=1), base[3]),
        ("openai", "m", GenerationParams(max_new_tokens=8, stop=("x",)), base[3]),
        ("openai", "m", base[2], "Say hi!"),
        ("openai", "m", base[2], [{"role": "user", "content": "Say hi."}]),
    ]
    keys = {cache_key(*v) for v in variants}
    assert key not in keys and len(keys) == len(variants)
    # the same request gives the same key: dict order, extra message keys and a dict of params
    assert cache_key("openai", "m", base[2].to_dict(), base[3]) == key
    chat = [{"content": "Say hi.", "role": "user", "name": "x"}]
    assert cache_key("openai", "m", base[2], chat) == cache_key(*variants[-1])
    # stable across runs and machines (a change here invalidates every user's cache)
    assert key == "a1502ccba6f63914ac38c9024d2563e1226b5e920f3aa4903a2d939a5e3ab8b5"


def test_cache_survives_reopen_and_pickle(tmp_path):
    path = tmp_path / "sub" / "gen.sqlite"
    cache = GenerationCache(path)
    cache.put("k1", "one")
    cache.put("k2", "")
    cache.put("k1", "uno")
    assert len(cache) == 2
    cache.close()
    reopened = GenerationCache(path)
    assert reopened.get_many(["k1", "k2", "k3"]) == {"k1": "uno", "k2": ""}
    clone = pickle.loads(pickle.dumps(reopened))
    assert clone.get("k2") == "" and clone.get("missing") is None
    many = [f"key{i}" for i in range(1200)]  # more than one SELECT chunk
    for k in many[::3]:
        clone.put(k, k)
    assert len(reopened.get_many(many)) == 400
    with pytest.raises(TypeError):
        clone.put("k", None)


def test_inputs_are_checked_and_normalised():
    assert normalize_inputs(["a", [{"role": "user", "content": "b", "x": 1}]]) == [
        "a", [{"role": "user", "content": "b"}]]
    with pytest.raises(InputError, match="Input 1"):
        normalize_inputs(["a", [{"role": "user"}]])
    with pytest.raises(InputError, match="wrap"):
        normalize_inputs("a prompt")
    with pytest.raises(InputError, match="Input 0"):
        normalize_inputs([[]])
    assert cut_at_stop("abc", ()) == "abc" and cut_at_stop("a#b\nc", ("\n", "#")) == "a"
