"""LESS gradient features on a tiny LLaMA: the warm-up (TRL + peft), the features against a
direct one-row-at-a-time autograd computation with the Adam state read from the trainer's own
optimizer file, re-use of a finished warm-up, and the errors."""

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from datasets import Dataset
from less_helpers import LESS_OPTIONS, direct_gradient, layout_ids, load_checkpoint
from sample_data import short_dolly_rows

from deita_hf.components import build_component, parse_spec
from deita_hf.errors import ConfigError, InputError
from deita_hf.scoring import LessGradientScorer
from deita_hf.scoring.less_warmup import WARMUP_FILE, sample_rows
from deita_hf.scoring.projection import RademacherProjector


@pytest.fixture(scope="module")
def pool():
    return short_dolly_rows(24)


@pytest.fixture(scope="module")
def scorer(tiny_base_llama, pool, tmp_path_factory):
    cache = tmp_path_factory.mktemp("less-cache")
    return LessGradientScorer(str(tiny_base_llama), cache_dir=str(cache), **LESS_OPTIONS).prepare(
        pool, progress=False)


def direct_features(scorer, rows, gradient):
    """LESS's features built independently: peft's loader, the model's own loss, one row at a
    time, AdamW's moments from the trainer's ``optimizer.pt`` (param index = position among
    the trainable parameters), the projection matrix, normalise, weight, concatenate."""
    model_path, tok = scorer.model_name_or_path, None
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_path)
    out = []
    for ckpt in scorer.warmup["checkpoints"]:
        folder = Path(scorer.warmup["dir"]) / ckpt["path"]
        model = load_checkpoint(model_path, folder)
        params = [p for _, p in model.named_parameters() if p.requires_grad]
        state = torch.load(folder / "optimizer.pt", map_location="cpu")["state"]
        assert len(state) == len(params)
        m = torch.cat([state[i]["exp_avg"].reshape(-1) for i in range(len(params))])
        v = torch.cat([state[i]["exp_avg_sq"].reshape(-1) for i in range(len(params))])
        matrix = RademacherProjector(m.numel(), scorer.dim, scorer.projection_seed).matrix()
        feats = []
        for row in rows:
            g = direct_gradient(model, *layout_ids(tok, row))
            if gradient == "adam":
                g = (0.9 * m + 0.1 * g) / torch.sqrt(0.999 * v + 0.001 * g * g + 1e-8)
            p = g @ matrix
            feats.append((p / p.norm()) * ckpt["weight"] ** 0.5)
        out.append(torch.stack(feats))
    return torch.cat(out, dim=1).numpy()


def test_warmup_is_less_s_recipe_on_a_seeded_slice(scorer, pool):
    w = scorer.warmup
    assert w["rows"] == int(len(pool) * 0.25) == 6
    assert sample_rows(24, 0.25, seed=0).tolist() == np.random.RandomState(0).permutation(24)[:6].tolist()
    assert [c["epoch"] for c in w["checkpoints"]] == [1, 2]
    assert [c["step"] for c in w["checkpoints"]] == [3, 6]  # 6 rows, batch 2
    weights = [c["weight"] for c in w["checkpoints"]]
    assert abs(sum(weights) - 1) < 1e-9 and weights[0] > weights[1]  # linear decay
    assert w["adam"] == {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
    for c in w["checkpoints"]:
        assert (Path(w["dir"]) / c["path"] / "adapter_model.safetensors").is_file()


@pytest.mark.parametrize("gradient", ["adam", "sgd"])
def test_features_equal_a_direct_per_row_autograd_computation(scorer, pool, gradient):
    rows = pool.select(range(5))
    mine = scorer.with_gradient(gradient).row_features(rows[:], list(range(5)))
    assert mine.shape == (5, 2 * scorer.dim) and mine.dtype == np.float32
    ref = direct_features(scorer, list(rows), gradient)
    np.testing.assert_allclose(mine, ref, rtol=1e-4, atol=2e-5)
    np.testing.assert_allclose(np.linalg.norm(mine, axis=1), 1.0, atol=1e-5)


def test_map_adds_features_and_their_id(scorer, pool):
    out = pool.select(range(4)).map(scorer, batched=True, with_indices=True, batch_size=3)
    assert out["less_grad_id"][:] == [f"adam:{scorer.features_id}"] * 4
    target = scorer.target_features(pool.select(range(4, 6)), progress=False)
    assert target["less_grad_id"][:] == [f"sgd:{scorer.features_id}"] * 2
    assert set(target.column_names) == set(pool.column_names) | {"less_grad", "less_grad_id"}
    np.testing.assert_allclose(np.array(out["less_grad"][:]),
                               scorer.row_features(pool.select(range(4))[:], [0, 1, 2, 3]),
                               rtol=1e-5, atol=1e-6)


def test_finished_warmup_is_reused_not_redone(scorer, tiny_base_llama, pool, monkeypatch):
    import trl

    def refuse(*a, **k):
        raise AssertionError("the warm-up ran again")

    monkeypatch.setattr(trl, "SFTTrainer", refuse)
    again = LessGradientScorer(str(tiny_base_llama), cache_dir=scorer.cache_dir,
                               **LESS_OPTIONS).prepare(pool, progress=False)
    assert again.warmup == scorer.warmup and again.features_id == scorer.features_id
    by_dir = LessGradientScorer(str(tiny_base_llama), warmup_dir=scorer.warmup["dir"],
                                **LESS_OPTIONS).prepare()
    assert by_dir.features_id == scorer.features_id
    last = LessGradientScorer(str(tiny_base_llama), warmup_dir=scorer.warmup["dir"],
                              checkpoints="last", **LESS_OPTIONS).prepare()
    assert last.features_id != scorer.features_id and len(last._checkpoints()) == 1
    other = dict(LESS_OPTIONS, warmup_seed=1)
    with pytest.raises(ConfigError, match="warmup_seed=0"):
        LessGradientScorer(str(tiny_base_llama), warmup_dir=scorer.warmup["dir"],
                           **other).prepare()


def test_interrupted_warmup_resumes_from_its_last_checkpoint(tiny_base_llama, pool, tmp_path,
                                                             scorer):
    import shutil

    from safetensors.torch import load_file

    done = Path(scorer.warmup["dir"])
    copy = tmp_path / done.name
    shutil.copytree(done, copy)
    (copy / WARMUP_FILE).unlink()  # killed after epoch 1: no record, no epoch-2 checkpoint
    shutil.rmtree(copy / scorer.warmup["checkpoints"][1]["path"])
    resumed = LessGradientScorer(str(tiny_base_llama), cache_dir=str(tmp_path),
                                 **LESS_OPTIONS).prepare(pool, progress=False)
    assert resumed.warmup["dir"] == str(copy)
    for a, b in zip(resumed.warmup["checkpoints"], scorer.warmup["checkpoints"]):
        assert a["step"] == b["step"] and abs(a["weight"] - b["weight"]) < 1e-12
        x = load_file(str(copy / a["path"] / "adapter_model.safetensors"))
        y = load_file(str(done / b["path"] / "adapter_model.safetensors"))
        assert all(torch.allclose(x[k], y[k], atol=1e-6) for k in y)


@pytest.mark.parametrize("left", ["empty", "no_adam_state"])
def test_warmup_killed_while_saving_resumes_from_the_last_complete_checkpoint(
        tiny_base_llama, pool, tmp_path, scorer, left):
    """Issue 24 (g): a checkpoint-N left empty or half-written is not resumed from."""
    import shutil

    from safetensors.torch import load_file

    done = Path(scorer.warmup["dir"])
    copy = tmp_path / done.name
    shutil.copytree(done, copy)
    (copy / WARMUP_FILE).unlink()
    broken = copy / scorer.warmup["checkpoints"][1]["path"]
    if left == "empty":
        shutil.rmtree(broken)
        broken.mkdir()
    else:
        (broken / "adam_state.safetensors").unlink()
    with pytest.warns(UserWarning, match=r"checkpoint-6 is incomplete .* resuming from checkpoint-3"):
        resumed = LessGradientScorer(str(tiny_base_llama), cache_dir=str(tmp_path),
                                     **LESS_OPTIONS).prepare(pool, progress=False)
    assert resumed.warmup["dir"] == str(copy)
    for a, b in zip(resumed.warmup["checkpoints"], scorer.warmup["checkpoints"]):
        assert a["step"] == b["step"] and abs(a["weight"] - b["weight"]) < 1e-12
        x = load_file(str(copy / a["path"] / "adapter_model.safetensors"))
        y = load_file(str(done / b["path"] / "adapter_model.safetensors"))
        assert all(torch.allclose(x[k], y[k], atol=1e-6) for k in y)


def test_component_contract(scorer, tiny_base_llama):
    fresh = LessGradientScorer(str(tiny_base_llama), **LESS_OPTIONS)
    assert fresh.describe()["warmup"] is None and fresh.describe()["features_id"] is None
    d = scorer.describe()
    assert d["columns"] == ["less_grad", "less_grad_id"] and d["kind"] == "less"
    assert d["projection"]["dim"] == 48 and d["feature_dim"] == 96
    assert d["warmup_config"]["lora_target_modules"] == ["q_proj", "k_proj", "v_proj", "o_proj"] \
        or d["warmup_config"]["lora_target_modules"] == ("q_proj", "k_proj", "v_proj", "o_proj")
    scorer.load()
    blob = pickle.dumps(scorer)
    assert len(blob) < 20_000  # settings only, no model
    from datasets.fingerprint import Hasher

    assert Hasher.hash(scorer) == Hasher.hash(pickle.loads(blob))
    assert Hasher.hash(scorer) != Hasher.hash(fresh)  # the warm-up is part of the identity


def test_rows_without_response_tokens_name_the_row(scorer):
    ds = Dataset.from_dict({"instruction": ["Say hi.", "Add 2 and 3.", "Say bye."],
                            "input": ["", "", ""], "output": ["Hi!", "   ", "Bye."]})
    with pytest.raises(InputError, match=r"less_grad: row 1 has no response tokens.*empty"):
        ds.map(scorer, batched=True, with_indices=True)
    long = Dataset.from_dict({"instruction": ["word " * 400], "input": [""], "output": ["ok"]})
    with pytest.raises(InputError, match=r"row 0 .*max_length=512"):
        scorer.row_features(long[:], [0])


def test_unprepared_scorer_says_what_to_do(tiny_base_llama):
    s = LessGradientScorer(str(tiny_base_llama), **LESS_OPTIONS)
    with pytest.raises(ConfigError, match=r"prepare\(pool\)"):
        Dataset.from_dict({"instruction": ["a"], "output": ["b"]}).map(s, batched=True)
    with pytest.raises(ConfigError, match="needs the pool"):
        s.prepare()


@pytest.mark.parametrize("kw, match", [({"gradient": "sign"}, "gradient"), ({"dim": 0}, "dim"),
                                       ({"checkpoints": "best"}, "checkpoints"),
                                       ({"warmup_fraction": 1.5}, "warmup_fraction"),
                                       ({"lora_target_modules": ""}, "lora_target_modules"),
                                       ({"projection_seed": -3}, r"projection_seed must be an int >= 0"),
                                       ({"warmup_seed": -1}, r"warmup_seed must be an int >= 0"),
                                       ({"projection_seed": 1.5}, "projection_seed")])
def test_bad_settings(kw, match):
    with pytest.raises(ConfigError, match=match):
        LessGradientScorer("m", **kw)


def test_spec_options_are_parsed_and_checked():
    spec = parse_spec("scorer", "less:/m/llama, dim=1024 ,warmup_epochs=1,lora_target_modules=q_proj+v_proj")
    assert spec.kind == "less" and spec.target == "/m/llama"
    assert dict(spec.options) == {"dim": 1024, "warmup_epochs": 1,
                                  "lora_target_modules": "q_proj+v_proj"}
    s = build_component("scorer", spec, batch_size=2, max_length=256, on_error="nan")
    assert (s.dim, s.batch_size, s.max_length) == (1024, 2, 256)
    assert s.config.lora_target_modules == ("q_proj", "v_proj") and s.config.warmup_epochs == 1
    for bad in ("less:/m,colour=red", "less:/m,dim", "less:", "less:/m,dim=1,dim=2"):
        with pytest.raises(ConfigError, match="less:MODEL"):
            parse_spec("scorer", bad)
    # issue 24: a negative seed is refused when the component is built, before any warm-up
    with pytest.raises(ConfigError, match="projection_seed must be an int >= 0"):
        build_component("scorer", "less:/m/llama,projection_seed=-3")


def test_without_peft_the_error_says_how_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "peft", None)  # `import peft` raises ImportError
    with pytest.raises(ConfigError, match=r"pip install 'deita_hf\[less\]'"):
        build_component("scorer", "less:/m/llama")
