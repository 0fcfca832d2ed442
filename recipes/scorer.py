"""Train your own DEITA complexity or quality scorer with TRL (DEITA's ``train_scorers.sh``).

A causal LM learns to answer DEITA's scorer prompt with the score token ("1".."6"); the loss
covers that token only. The output folder loads in ``deita_hf.ComplexityScorer(path)`` /
``QualityScorer(path)`` and carries a model card (base model, data, hyper-parameters, held-out
agreement when ``train_fraction < 1``).

``dataset_name`` takes the released ShareGPT form (``hkust-nlp/deita-complexity-scorer-data``,
``-quality-scorer-data``), a ``deita-hf rank`` output folder, or plain
``{instruction, [output], score}`` rows (file, folder or Hub id); ``kind`` picks the scorer.

Usage (4 GPUs, as DEITA)::

    accelerate launch recipes/scorer.py --config recipes/deita-scorer/complexity.yaml

Flags override YAML keys (``--dataset_name out/rank --output_dir data/my-scorer``); the same
recipe is ``deita-hf scorer-train --config ...``. Measure it on held-out rows with
``deita-hf scorer-eval``.
"""

from deita_hf.scorer_training.train import make_scorer_parser, run_scorer_training

if __name__ == "__main__":
    run_scorer_training(*make_scorer_parser().parse_args_and_config())
