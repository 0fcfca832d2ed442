"""DEITA supervised fine-tuning with TRL's ``SFTTrainer``.

Trains on the assistant replies only, in DEITA's Vicuna v1.1 chat format (installed on the
tokenizer when the base model has no chat template), and writes a model card that links the
training data's dataset card and states how the data was selected.

``dataset_name`` takes a Hub dataset id, a ``deita-hf select`` output folder, a
``save_to_disk`` folder or a json/jsonl(.gz)/parquet file, in any format deita_hf reads.

Usage (8 GPUs, DeepSpeed ZeRO-3)::

    accelerate launch --config_file recipes/accelerate_configs/zero3.yaml recipes/sft.py \
        --config recipes/deita-mistral-7b/sft.yaml

Flags override YAML keys, e.g. ``--dataset_name out/deita-6k --output_dir data/my-sft``.
On one CPU (smoke test)::

    accelerate launch --num_processes 1 --num_machines 1 --mixed_precision no \
        --dynamo_backend no recipes/sft.py --config my_tiny.yaml
"""

from deita_hf.training.sft import main, make_parser

if __name__ == "__main__":
    main(*make_parser().parse_args_and_config())
