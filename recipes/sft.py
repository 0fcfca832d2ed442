"""DEITA supervised fine-tuning with TRL's ``SFTTrainer``: a thin script over :mod:`deita_hf.training.sft`
(the same recipe as ``deita-hf sft``; what it trains on and how is described there).

Usage (8 GPUs, DeepSpeed ZeRO-3)::

    accelerate launch --config_file recipes/accelerate_configs/zero3.yaml recipes/sft.py \
        --config recipes/deita-mistral-7b/sft.yaml

Flags override YAML keys. On one CPU (smoke test)::

    accelerate launch --num_processes 1 --num_machines 1 --mixed_precision no \
        --dynamo_backend no recipes/sft.py --config my_tiny.yaml
"""

from deita_hf.training.sft import main, make_parser

if __name__ == "__main__":
    main(*make_parser().parse_args_and_config())
