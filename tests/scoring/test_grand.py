"""GraNd and EL2N against direct computations: one row at a time, the model's own loss and
``loss.backward()`` for GraNd, softmax minus one-hot per reply token for EL2N, averaged over
two independently initialised tiny models."""

import pytest
import torch
from less_helpers import layout_ids
from sample_data import DOLLY, read_jsonl, short_dolly_rows

from deita_hf.components import build_component, parse_spec
from deita_hf.errors import ConfigError, InputError
from deita_hf.scoring import EL2NScorer, GraNdScorer
from deita_hf.scoring.per_example import LinearCapture


@pytest.fixture(scope="module")
def models(tiny_base_llama, tmp_path_factory):
    from deita_hf.testing import build_tiny_llama

    texts = [r["instruction"] + " " + r["output"] for r in read_jsonl(DOLLY, 200)]
    other = build_tiny_llama(tmp_path_factory.mktemp("tiny-seed1"), texts=texts, seed=1)
    model, _ = load(str(other))
    with torch.no_grad():
        model.lm_head.weight.mul_(30.0)  # peaked predictions: EL2N far from a random model's ~1
    model.save_pretrained(other)
    return [str(tiny_base_llama), str(other)]


@pytest.fixture(scope="module")
def rows():
    return short_dolly_rows(6)


def load(path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval(), \
        AutoTokenizer.from_pretrained(path)


def direct_grand(path, row):
    model, tok = load(path)
    model.zero_grad()
    model(input_ids=layout_ids(tok, row)[0][None], labels=layout_ids(tok, row)[1][None]).loss.backward()
    sq = sum(float((m.weight.grad ** 2).sum()) + (float((m.bias.grad ** 2).sum()) if m.bias is not None else 0.0)
             for m in model.modules() if isinstance(m, torch.nn.Linear))
    return sq ** 0.5


def direct_el2n(path, row):
    model, tok = load(path)
    ids, labels = layout_ids(tok, row)
    with torch.no_grad():
        probs = torch.softmax(model(input_ids=ids[None]).logits[0].double(), dim=-1)
    errors = []
    for t in range(1, len(ids)):
        if labels[t] != -100:
            e = probs[t - 1].clone()
            e[labels[t]] -= 1.0
            errors.append(float(e.norm()))
    return sum(errors) / len(errors)


@pytest.mark.parametrize("cls, direct", [(GraNdScorer, direct_grand), (EL2NScorer, direct_el2n)])
def test_equals_the_direct_computation_averaged_over_models(cls, direct, models, rows):
    scorer = cls("+".join(models), batch_size=4)
    out = rows.map(scorer, batched=True, with_indices=True)[scorer.column]
    want = [sum(direct(m, row) for m in models) / 2 for row in rows]
    assert out == pytest.approx(want, rel=1e-4)
    single = cls(models[0], batch_size=1)(rows[:], list(range(len(rows))))[scorer.column]
    assert single == pytest.approx([direct(models[0], row) for row in rows], rel=1e-4)
    assert single != pytest.approx(out, rel=1e-3)  # the second model counts


def test_ghost_norms_equal_the_formed_gradients():
    torch.manual_seed(0)
    a, b = torch.nn.Linear(5, 3), torch.nn.Linear(3, 4, bias=False)
    x = torch.randn(2, 6, 5, requires_grad=True)
    with LinearCapture({"a": a, "b": b}) as cap:
        y = b(a(x)) + b(torch.tanh(a(x)))  # b and a are each called twice
        torch.autograd.grad((y ** 2).sum(), x)
    formed = sum((w.flatten(1) ** 2).sum(1) + ((bias ** 2).sum(1) if bias is not None else 0)
                 for w, bias in (cap.weight_grads("a"), cap.weight_grads("b")))
    assert torch.allclose(cap.sq_norms(), formed, rtol=1e-5)
    for i in range(2):
        direct = torch.autograd.grad(((b(a(x[i])) + b(torch.tanh(a(x[i])))) ** 2).sum(),
                                     [a.weight, a.bias, b.weight])
        assert torch.allclose(cap.weight_grads("a")[0][i], direct[0], atol=1e-5)
        assert torch.allclose(cap.weight_grads("a")[1][i], direct[1], atol=1e-5)
        assert torch.allclose(cap.weight_grads("b")[0][i], direct[2], atol=1e-5)


def test_specs_and_errors(models):
    spec = parse_spec("scorer", f"grand:{models[0]}+{models[1]}")
    assert (spec.kind, spec.target) == ("grand", f"{models[0]}+{models[1]}")
    g = build_component("scorer", spec, batch_size=3, on_error="nan")
    assert isinstance(g, GraNdScorer) and g.models == models and g.batch_size == 3
    assert isinstance(build_component("scorer", "el2n:/m/x"), EL2NScorer)
    for bad in ("grand", "el2n:"):
        with pytest.raises(ConfigError, match="needs a model"):
            parse_spec("scorer", bad)
    with pytest.raises(ConfigError, match="one or more models"):
        GraNdScorer("a++b")
    empty = {"instruction": ["hi", "yo"], "input": ["", ""], "output": ["there", ""]}
    with pytest.raises(InputError, match="el2n: row 6 has no response tokens"):
        EL2NScorer(models[0])(empty, [5, 6])
