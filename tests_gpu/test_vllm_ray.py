"""vLLM on Ray: the scorers' and the embedder's vLLM backends run as Ray actors, one engine per
GPU. Needs a GPU, ``pip install 'deita_hf[vllm,ray]'``; not part of ``make test`` (CI has
neither). Run where they exist:

    HF_HUB_OFFLINE=1 python -m pytest tests_gpu/test_vllm_ray.py -q

It scores real Alpaca rows with a tiny LLaMA built offline, through ``score_on_ray`` with the
vLLM backends on one GPU worker, and compares with the transformers backends on the same GPU.
"""

import json

import pytest

vllm = pytest.importorskip("vllm")
ray = pytest.importorskip("ray")
torch = pytest.importorskip("torch")
if not torch.cuda.is_available():
    pytest.skip("vLLM on Ray needs a CUDA GPU", allow_module_level=True)

from datasets import Dataset  # noqa: E402

from deita_hf.data.loading import load_pool  # noqa: E402
from deita_hf.embedding import DeitaEmbedder  # noqa: E402
from deita_hf.embedding.vllm_embedder import VLLMDeitaEmbedder  # noqa: E402
from deita_hf.pipeline.ray_engine import score_on_ray  # noqa: E402
from deita_hf.scoring import ComplexityScorer, QualityScorer  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_gpus=1, include_dashboard=False)
    yield
    ray.shutdown()


def test_vllm_backends_on_ray_match_transformers(cluster, rows, tiny_llama, tmp_path):
    ds = Dataset.from_list([{k: r[k] for k in ("instruction", "input", "output")}
                            for r in rows[:64]])
    comps = [ComplexityScorer(tiny_llama, backend="vllm"), QualityScorer(tiny_llama, backend="vllm"),
             VLLMDeitaEmbedder(tiny_llama, max_length=512)]
    out = score_on_ray(ds, comps, output_dir=tmp_path / "ray", shard_size=16, num_workers=1,
                       gpus_per_worker=1, progress=False)
    got = load_pool(out)
    settings = json.loads((out / "deita_score.json").read_text())
    assert settings["engine"]["backends"] == ["vllm", "vllm", "vllm"]
    assert settings["engine"]["num_gpus"] == 1.0
    batch = ds[:]
    for cls in (ComplexityScorer, QualityScorer):
        want = cls(tiny_llama, dtype="float32", device="cuda")(batch)[cls.column]
        for a, b in zip(got[cls.column], want):
            assert a[0] == pytest.approx(b[0], abs=2e-2)  # vLLM runs in fp16/bf16
    reference = DeitaEmbedder(tiny_llama, max_length=512, device="cuda", dtype="float32")(batch)
    cos = (torch.tensor(got["embedding"]) * torch.tensor(reference["embedding"])).sum(-1)
    assert float(cos.min()) > 0.99, cos
