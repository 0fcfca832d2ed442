"""DEITA direct preference optimisation with TRL's ``DPOTrainer``: a thin script over :mod:`deita_hf.training.dpo`
(the same recipe as ``deita-hf dpo``; what it trains on and how is described there).

Usage (8 GPUs, DeepSpeed ZeRO-3)::

    accelerate launch --config_file recipes/accelerate_configs/zero3.yaml recipes/dpo.py \
        --config recipes/deita-mistral-7b/dpo.yaml

Flags override YAML keys. On one CPU (smoke test)::

    accelerate launch --num_processes 1 --num_machines 1 --mixed_precision no \
        --dynamo_backend no recipes/dpo.py --config my_tiny.yaml
"""

from deita_hf.training.dpo import main, make_parser

if __name__ == "__main__":
    main(*make_parser().parse_args_and_config())
