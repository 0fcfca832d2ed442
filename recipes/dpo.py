"""DEITA direct preference optimisation with TRL's ``DPOTrainer``.

Starts from the SFT model (DEITA: the DEITA-SFT model, 10K UltraFeedback pairs) with the
model itself as the frozen reference, in DEITA's Vicuna v1.1 chat format (installed on the
tokenizer when it has no chat template), and writes a model card that links the preference
data's dataset card and states how the pairs were sampled.

``dataset_name`` takes a Hub dataset id, a ``deita-hf preference`` output folder, a
``save_to_disk`` folder or a json/jsonl(.gz)/parquet file with TRL ``prompt``/``chosen``/
``rejected`` (strings or messages), ShareGPT ``conversations`` + ``chosen``/``rejected``
messages, or AlpacaEval annotations.

Usage (8 GPUs, DeepSpeed ZeRO-3)::

    accelerate launch --config_file recipes/accelerate_configs/zero3.yaml recipes/dpo.py \
        --config recipes/deita-mistral-7b/dpo.yaml

Flags override YAML keys, e.g. ``--model_name_or_path data/deita-mistral-7b-sft``.
On one CPU (smoke test)::

    accelerate launch --num_processes 1 --num_machines 1 --mixed_precision no \
        --dynamo_backend no recipes/dpo.py --config my_tiny.yaml
"""

from deita_hf.training.dpo import main, make_parser

if __name__ == "__main__":
    main(*make_parser().parse_args_and_config())
