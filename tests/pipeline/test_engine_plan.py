"""Where a Ray run's workers go (GPUs, vLLM tensor-parallel groups, CPU fallback), tested without
GPUs, vLLM or a cluster; and the worker (`ShardWorker`) run in this process."""

import warnings

import pytest
from datasets import Dataset

from deita_hf.components import build_component
from deita_hf.embedding.vllm_embedder import VLLMDeitaEmbedder
from deita_hf.errors import ConfigError
from deita_hf.pipeline.engine_plan import plan_workers, uses_vllm
from deita_hf.pipeline.ray_engine import ShardWorker, worker_env
from deita_hf.pipeline.score_run import ScoreRun, run_settings
from deita_hf.runtime import set_vllm_defaults, vllm_defaults
from deita_hf.scoring import ComplexityScorer, InstructionLengthScorer, QualityScorer


def test_cpu_cluster_runs_the_transformers_backends_on_cpu():
    comps = [ComplexityScorer("/m"), build_component("embedding", "minilm")]
    plan = plan_workers(comps, cluster_cpus=16, cluster_gpus=0)
    assert (plan.num_workers, plan.num_gpus, plan.device, plan.tensor_parallel_size) == (16, 0.0, "cpu", 1)
    assert plan.backends == ("transformers", "transformers")
    assert plan_workers(comps, cluster_cpus=16, cluster_gpus=0, cpus_per_worker=4).num_workers == 4
    assert plan_workers(comps, cluster_cpus=1.5, cluster_gpus=0).num_workers == 1
    with pytest.raises(ConfigError, match="has no GPU"):
        plan_workers(comps, cluster_cpus=16, cluster_gpus=0, gpus_per_worker=1)


def test_gpu_cluster_one_worker_per_gpu_or_shares():
    comps = [QualityScorer("/m")]
    plan = plan_workers(comps, cluster_cpus=64, cluster_gpus=8)
    assert (plan.num_workers, plan.num_gpus, plan.device) == (8, 1.0, "cuda")
    half = plan_workers(comps, cluster_cpus=64, cluster_gpus=8, gpus_per_worker=0.5)
    assert (half.num_workers, half.num_gpus) == (16, 0.5)  # two transformers workers per GPU
    cpu = plan_workers(comps, cluster_cpus=64, cluster_gpus=8, gpus_per_worker=0)
    assert (cpu.device, cpu.num_workers) == ("cpu", 64)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert plan_workers(comps, cluster_cpus=64, cluster_gpus=8, num_workers=12).num_workers == 12
    assert "wait for GPUs" in str(caught[0].message)


def test_vllm_components_get_one_engine_per_tensor_parallel_group():
    comps = [ComplexityScorer("/m", backend="vllm"), build_component("quality", "vllm:/q"),
             build_component("embedding", "vllm:/e"), InstructionLengthScorer()]
    assert [uses_vllm(c) for c in comps] == [True, True, True, False]
    assert isinstance(comps[2], VLLMDeitaEmbedder)
    plan = plan_workers(comps, cluster_cpus=32, cluster_gpus=8, gpus_per_worker=2)
    assert (plan.num_workers, plan.tensor_parallel_size) == (4, 2)
    assert plan.backends == ("vllm", "vllm", "vllm", "transformers")
    assert plan_workers(comps, cluster_cpus=32, cluster_gpus=8).tensor_parallel_size == 1
    with pytest.raises(ConfigError, match="needs GPUs"):
        plan_workers(comps, cluster_cpus=32, cluster_gpus=0)
    with pytest.raises(ConfigError, match="whole GPUs"):
        plan_workers(comps, cluster_cpus=32, cluster_gpus=8, gpus_per_worker=0.5)
    with pytest.raises(ConfigError, match="must be positive"):
        plan_workers(comps, cluster_cpus=32, cluster_gpus=8, num_workers=0)


def test_worker_env_forwards_offline_settings_and_hides_gpus_from_cpu_workers():
    driver = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
              "HF_TOKEN": "secret", "PATH": "/bin"}
    cpu = worker_env(plan_workers([], cluster_cpus=8, cluster_gpus=0, cpus_per_worker=2), driver)
    assert cpu == {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
                   "OMP_NUM_THREADS": "2", "OMP_WAIT_POLICY": "PASSIVE",
                   "TOKENIZERS_PARALLELISM": "false", "CUDA_VISIBLE_DEVICES": ""}
    gpu = worker_env(plan_workers([], cluster_cpus=8, cluster_gpus=2), driver)
    assert "CUDA_VISIBLE_DEVICES" not in gpu  # Ray sets it to the worker's GPUs


def test_shard_worker_scores_missing_shards_once_with_pool_row_numbers(tmp_path):
    ds = Dataset.from_list([{"instruction": "x" * i, "output": "y"} for i in range(1, 6)])
    comps = [InstructionLengthScorer(), build_component("scorer", "random:3")]
    run = ScoreRun(tmp_path / "out", run_settings(ds, comps, shard_size=2))
    assert run.prepare(overwrite=False) is False
    run.stage_input(ds, run.missing())
    worker = ShardWorker(comps, run, tensor_parallel_size=2)
    try:
        assert vllm_defaults() == {"tensor_parallel_size": 2, "distributed_executor_backend": "mp"}
    finally:
        set_vllm_defaults()
    first = worker({"shard": [2, 0]})
    assert first["computed"] == [True, True] and first["rows"] == [1, 2] and first["error"] == [b"", b""]
    again = worker({"shard": [0]})  # a retried task: the file is there, nothing is computed
    assert again["computed"] == [False]
    worker({"shard": [1]})
    scored = Dataset.from_parquet([str(run.path(i)) for i in range(3)])
    assert scored["complexity"] == [[float(i)] for i in range(1, 6)]
    reference = comps[1]({"instruction": ds["instruction"]}, list(range(5)))["random"]
    assert scored["random"] == reference  # the pool's row numbers, not the shard's
    assert not any(run.input_dir.glob("*.parquet"))  # staged rows dropped once scored
