"""deita_hf.runtime: model folders whose tokenizer is only a SentencePiece ``tokenizer.model``
load, score and embed (and a missing sentencepiece is named); the offline variables are read as
huggingface_hub and datasets read them."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from sample_data import DOLLY, read_jsonl

from deita_hf.embedding import DeitaEmbedder, render_vicuna
from deita_hf.errors import ModelLoadError
from deita_hf.runtime import OFFLINE_VARIABLES, offline_reason, offline_variables
from deita_hf.scoring import COMPLEXITY_TEMPLATE, QUALITY_TEMPLATE, ComplexityScorer, QualityScorer

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def spm_llama(tmp_path_factory):
    """A LLaMA folder whose tokenizer is ONLY ``tokenizer.model`` (+ tokenizer_config.json), as
    the original LLaMA/Mistral checkpoints ship: a SentencePiece BPE trained offline on 300 real
    Dolly rows with LLaMA's settings (identity normalisation, digits split, dummy prefix)."""
    import sentencepiece as spm
    from transformers import LlamaConfig, LlamaForCausalLM

    texts = [r["instruction"] + " " + r["output"] for r in read_jsonl(DOLLY)]
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(texts), model_writer=buf, vocab_size=700, model_type="bpe",
        character_coverage=1.0, split_digits=True, byte_fallback=False, unk_id=0, bos_id=1,
        eos_id=2, pad_id=-1, normalization_rule_name="identity", remove_extra_whitespaces=False,
        allow_whitespace_only_pieces=True, minloglevel=2)
    root = tmp_path_factory.mktemp("spm") / "llama"
    root.mkdir()
    (root / "tokenizer.model").write_bytes(buf.getvalue())
    (root / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "LlamaTokenizer", "bos_token": "<s>", "eos_token": "</s>",
        "unk_token": "<unk>", "add_bos_token": True}))
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(
        vocab_size=700, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=2048,
        bos_token_id=1, eos_token_id=2, tie_word_embeddings=False))
    with torch.no_grad():
        model.lm_head.weight.mul_(40.0)  # scores spread over 1..6
    model.save_pretrained(root)
    assert sorted(p.name for p in root.iterdir() if p.name.startswith("tokenizer")) == [
        "tokenizer.model", "tokenizer_config.json"]
    return root


def _sp_ids(root: Path, text: str) -> list[int]:
    """BOS + SentencePiece's own encoding of ``text`` ("</s>" as the EOS id): an independent
    tokenization, without transformers."""
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(root / "tokenizer.model"))
    ids = [sp.bos_id()]
    for i, part in enumerate(text.split("</s>")):
        if i:
            ids.append(sp.eos_id())
        if part:
            ids.extend(sp.encode(part))
    return ids


def _last_logits_and_hidden(root: Path, ids: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    from transformers import LlamaForCausalLM

    model = LlamaForCausalLM.from_pretrained(root).eval()
    with torch.no_grad():
        out = model(torch.tensor([ids]), output_hidden_states=True)
    return out.logits[0, -1], out.hidden_states[-1][0, -1]


def test_sentencepiece_only_folder_scores_and_embeds(spm_llama, dolly_rows):
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(spm_llama / "tokenizer.model"))
    score_ids = [sp.piece_to_id(d) for d in "123456"]
    assert all(i != sp.unk_id() for i in score_ids)  # single pieces, as in LLaMA's vocabulary
    rows = dolly_rows[:5]
    batch = {"instruction": [r["instruction"] for r in rows], "output": [r["output"] for r in rows]}
    complexity = ComplexityScorer(str(spm_llama), batch_size=2)(batch)["complexity"]
    quality = QualityScorer(str(spm_llama), batch_size=2)(batch)["quality"]
    for r, c, q in zip(rows, complexity, quality):
        for got, prompt in ((c[0], COMPLEXITY_TEMPLATE.format(instruction=r["instruction"])),
                            (q[0], QUALITY_TEMPLATE.format(instruction=r["instruction"],
                                                           output=r["output"]))):
            logits, _ = _last_logits_and_hidden(spm_llama, _sp_ids(spm_llama, prompt))
            probs = torch.softmax(logits[score_ids].double(), -1)
            assert got == pytest.approx(float(probs @ torch.arange(1.0, 7.0).double()), abs=1e-4)
    assert max(c[0] for c in complexity) - min(c[0] for c in complexity) > 0.01

    vectors = DeitaEmbedder(str(spm_llama), batch_size=2)(batch)["embedding"]
    for r, vec in zip(rows, vectors):
        text = render_vicuna([{"role": "user", "content": r["instruction"]},
                              {"role": "assistant", "content": r["output"]}])
        _, hidden = _last_logits_and_hidden(spm_llama, _sp_ids(spm_llama, text))
        ref = torch.nn.functional.normalize(hidden, dim=0)
        assert float((torch.tensor(vec) - ref).abs().max()) < 1e-5


_HIDE_SENTENCEPIECE = """
import importlib.util, sys
sys.modules["sentencepiece"] = None  # as if not installed
_find = importlib.util.find_spec
importlib.util.find_spec = lambda name, *a, **k: (
    None if name.split(".")[0] == "sentencepiece" else _find(name, *a, **k))
from deita_hf.scoring import ComplexityScorer
try:
    ComplexityScorer(sys.argv[1]).load()
except Exception as err:
    print(type(err).__name__, err)
"""


def test_a_missing_sentencepiece_is_named(spm_llama):
    """transformers then falls back to tiktoken and fails with a message about tiktoken or a
    parse error; the load error names the package to install."""
    proc = subprocess.run([sys.executable, "-c", _HIDE_SENTENCEPIECE, str(spm_llama)],
                          capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
    out = proc.stdout.strip().splitlines()[-1]
    assert out.startswith("ModelLoadError"), proc.stdout + proc.stderr
    assert "SentencePiece model (tokenizer.model)" in out and "pip install sentencepiece" in out
    assert "protobuf" not in out.split("pip install")[1]  # protobuf is installed here


def test_load_error_names_the_offline_variable(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    with pytest.raises(ModelLoadError) as err:
        ComplexityScorer("someone/not-cached-scorer").load()
    assert "TRANSFORMERS_OFFLINE=1 is set" in str(err.value)
    assert "HF_HUB_OFFLINE" not in str(err.value)


_LIBRARIES = """
import json
import huggingface_hub.constants
import datasets.config
print(json.dumps([huggingface_hub.constants.HF_HUB_OFFLINE, datasets.config.HF_HUB_OFFLINE]))
"""

ENVS = [{}, {"TRANSFORMERS_OFFLINE": "1"}, {"HF_HUB_OFFLINE": "0", "TRANSFORMERS_OFFLINE": "1"},
        {"HF_DATASETS_OFFLINE": "1"}, {"HF_HUB_OFFLINE": "yes", "HF_DATASETS_OFFLINE": "0"},
        {"HF_HUB_OFFLINE": "", "TRANSFORMERS_OFFLINE": "true"}, {"HF_HUB_OFFLINE": " 1"},
        {"HF_DATASETS_OFFLINE": "on "}]


def test_offline_variables_are_read_as_the_libraries_read_them():
    """Each environment in a fresh interpreter: huggingface_hub's and datasets' own verdicts."""
    import os

    base = {k: v for k, v in os.environ.items() if k not in OFFLINE_VARIABLES}
    procs = [subprocess.Popen([sys.executable, "-c", _LIBRARIES], env={**base, **env},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for env in ENVS]
    for env, proc in zip(ENVS, procs):
        out, err = proc.communicate(timeout=120)
        hub, data = json.loads(out.strip().splitlines()[-1])
        assert bool(offline_variables("hub", env)) == hub, (env, err)
        assert bool(offline_variables("datasets", env)) == data, (env, err)
        reason = offline_reason("hub", env)
        assert (reason is None) == (not hub)
        for name in offline_variables("hub", env):
            assert name in reason and name.split("=")[0] in env
