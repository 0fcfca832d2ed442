"""The scorer recipe: TRL SFT of a causal LM on DEITA scorer rows (``recipes/scorer.py``,
``deita-hf scorer-train``).

Steps: log the configs; load and check the rows (before the model loads: a bad score stops the
run at once, naming the row); split off held-out rows (``train_fraction``); load the tokenizer and
check that "1".."6" are single tokens; tokenize (prompt masked, one score token); train with
``SFTTrainer`` (``completion_only_loss``); save model and tokenizer (the folder loads in
``ComplexityScorer(path)`` / ``QualityScorer(path)``); score the held-out rows; write the card.
With PEFT (``use_peft``) the folder holds an adapter: merge it into the base model
(``model.merge_and_unload()``, then ``save_pretrained``) before scoring with it.

Example:
    >>> parser = make_scorer_parser(prog="deita-hf scorer-train")
    >>> [t.__name__ for t in parser.dataclass_types]
    ['ScriptArguments', 'SFTConfig', 'ModelConfig', 'ScorerArguments']
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deita_hf.errors import ConfigError
from deita_hf.scorer_training.config import ScorerArguments

if TYPE_CHECKING:
    from datasets import Dataset

__all__ = ["make_scorer_parser", "run_scorer_training"]


def make_scorer_parser(prog: str | None = None) -> Any:
    """``TrlParser((ScriptArguments, SFTConfig, ModelConfig, ScorerArguments))``."""
    import trl

    return trl.TrlParser((trl.ScriptArguments, trl.SFTConfig, trl.ModelConfig, ScorerArguments),
                         prog=prog)


def _load_rows(script_args: Any, scorer_args: ScorerArguments,
               logger: Any) -> tuple[Dataset, Dataset | None]:
    from deita_hf.scorer_training.data import load_scorer_rows
    from deita_hf.training.recipe import split_train_eval

    if not script_args.dataset_name:
        raise ConfigError("Set dataset_name: a scorer-data file or folder (e.g. a deita-hf rank "
                          "output), or a Hub id such as hkust-nlp/deita-complexity-scorer-data.")
    rows = load_scorer_rows(script_args.dataset_name, scorer_args.kind,
                            split=script_args.dataset_train_split)
    if scorer_args.max_train_samples is not None:
        rows = rows.select(range(min(scorer_args.max_train_samples, len(rows))))
    held_out = None
    if scorer_args.train_fraction < 1.0:
        rows, held_out = split_train_eval(rows, scorer_args.train_fraction, seed=scorer_args.split_seed)
        logger.info("train_fraction=%s: %d rows to train on, %d held out.",
                    scorer_args.train_fraction, len(rows), len(held_out))
    return rows, held_out


def run_scorer_training(script_args: Any, training_args: Any, model_args: Any,
                        scorer_args: ScorerArguments | None = None) -> Any:
    """Train a DEITA scorer (see the module docstring).

    Args:
        script_args: TRL ``ScriptArguments`` (``dataset_name``, ``dataset_train_split``).
        training_args: TRL ``SFTConfig`` (``completion_only_loss`` must not be False).
        model_args: TRL ``ModelConfig`` (the base model).
        scorer_args: :class:`ScorerArguments` (defaults if None).

    Returns:
        The trained ``SFTTrainer``.

    Raises:
        ConfigError: no data, a tokenizer without single-token digits, completion_only_loss
            False; FormatError: a bad row (named).
    """
    import trl
    from transformers import AutoTokenizer

    from deita_hf.scorer_training.tokens import check_score_tokens, tokenize_scorer_rows
    from deita_hf.training.recipe import (
        check_trainable,
        model_init_kwargs,
        resolve_checkpoint,
        setup_logging,
    )

    scorer_args = scorer_args or ScorerArguments()
    if training_args.completion_only_loss is False:
        raise ConfigError("completion_only_loss is false: a scorer learns the score token only "
                          "(DEITA mask_user). Remove the key or set it to true.")
    training_args.completion_only_loss = True
    logger = setup_logging(training_args)
    for name, args in (("Script", script_args), ("Model", model_args), ("Scorer", scorer_args),
                       ("Training", training_args)):
        logger.info("%s parameters %s", name, args)
    rows, held_out = _load_rows(script_args, scorer_args, logger)
    tokenizer = AutoTokenizer.from_pretrained(
        model_args.model_name_or_path, revision=model_args.model_revision,
        trust_remote_code=training_args.trust_remote_code)
    score_ids = check_score_tokens(tokenizer, model_args.model_name_or_path)

    def tokenize(ds: Dataset) -> Dataset:
        return tokenize_scorer_rows(ds, tokenizer, scorer_args.kind, score_ids=score_ids,
                                    max_length=training_args.max_length,
                                    num_proc=training_args.dataset_num_proc)

    train_dataset = tokenize(rows)
    eval_dataset = (tokenize(held_out) if held_out is not None and training_args.eval_strategy != "no"
                    else None)
    training_args.model_init_kwargs = model_init_kwargs(model_args, training_args)
    trainer = trl.SFTTrainer(
        model=model_args.model_name_or_path, args=training_args, train_dataset=train_dataset,
        eval_dataset=eval_dataset, processing_class=tokenizer,
        peft_config=trl.get_peft_config(model_args))
    check_trainable(trainer)
    logger.info("*** Train ***")
    train_result = trainer.train(resume_from_checkpoint=resolve_checkpoint(training_args))
    _finish(trainer, train_result, rows, held_out, script_args, model_args, scorer_args, logger)
    return trainer


def _held_out_results(trainer: Any, held_out: Any, scorer_args: ScorerArguments,
                      logger: Any) -> dict[str, Any] | None:
    from deita_hf.scorer_training.heldout import evaluate_rows, make_scorer

    out = Path(trainer.args.output_dir)
    if held_out is None or not scorer_args.held_out_agreement:
        return None
    if trainer.args.world_size > 1 or getattr(trainer.model, "peft_config", None):
        logger.warning("Held-out agreement is measured in-process on one process with a full "
                       "model only; run `deita-hf scorer-eval %s --data HELD_OUT --kind %s "
                       "--output DIR --update-card %s`.", out, scorer_args.kind, out)
        return None
    scorer = make_scorer(scorer_args.kind, str(out), max_length=trainer.args.max_length or 2048,
                         batch_size=trainer.args.per_device_eval_batch_size)
    model = trainer.accelerator.unwrap_model(trainer.model)
    scorer.use_model(model, trainer.processing_class)
    results = evaluate_rows(held_out, scorer, output_dir=out / "held_out_agreement",
                            data_name=f"{trainer.args.output_dir} held-out rows")
    model.train()
    logger.info("Held-out agreement: %s", results["overall"])
    return results


def _finish(trainer: Any, train_result: Any, rows: Any, held_out: Any, script_args: Any,
            model_args: Any, scorer_args: ScorerArguments, logger: Any) -> Path:
    """Save model, tokenizer, metrics; measure held-out agreement; write the card; push."""
    from deita_hf.scorer_training.card import render_scorer_card
    from deita_hf.scorer_training.trained_rows import write_trained_rows
    from deita_hf.training.model_card import hyperparameters, read_data_provenance
    from deita_hf.training.recipe import save_trained

    args = trainer.args
    out = Path(args.output_dir)
    metrics = save_trained(trainer, train_result, "Scorer")
    if trainer.accelerator.is_main_process:
        trainer.model.config.use_cache = True
        trainer.model.config.save_pretrained(out)
        write_trained_rows(out, rows)
        results = _held_out_results(trainer, held_out, scorer_args, logger)
        train_metrics = {k: v for k, v in metrics.items()
                         if k in ("train_loss", "train_runtime", "epoch", "train_samples")}
        train_metrics["global_step"] = trainer.state.global_step
        counts = Counter(int(s) for s in rows["score"])
        name = args.hub_model_id.split("/")[-1] if args.hub_model_id else out.name
        hparams = {**hyperparameters(args), "completion_only_loss": True}
        card = render_scorer_card(
            kind=scorer_args.kind, base_model=model_args.model_name_or_path,
            provenance=read_data_provenance(script_args.dataset_name,
                                            dataset_hub_id=scorer_args.dataset_hub_id),
            hparams=hparams, model_name=name, model_path=args.hub_model_id or str(out),
            num_train_rows=len(trainer.train_dataset),
            num_held_out=len(held_out) if held_out is not None else 0,
            train_fraction=scorer_args.train_fraction, split_seed=scorer_args.split_seed,
            label_counts={str(k): counts[k] for k in sorted(counts)}, train_metrics=train_metrics,
            results=results, template_path=scorer_args.model_card_template)
        card.save(out / "README.md")
        logger.info("Model card written to %s", out / "README.md")
    if args.push_to_hub:
        trainer.create_model_card = lambda *a, **k: None  # upload the card written above
        trainer.push_to_hub(commit_message=f"deita_hf {scorer_args.kind} scorer")
        if trainer.accelerator.is_main_process:  # shown at every log level
            from deita_hf.training.model_card import hub_url

            print(f"Pushed the scorer to {hub_url(trainer.hub_model_id)}", flush=True)
    return out
