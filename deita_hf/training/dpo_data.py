"""DEITA's DPO data format (``chat_template_mode: deita``), tokenized for TRL's ``DPOTrainer``.

DEITA's ``dpo_train.py`` (hkust-nlp/deita, commit acec45ca; TRL 0.7.2) trains on the strings of
:func:`deita_hf.data.preference.deita_dpo_strings` with ``max_prompt_length=512`` and
``max_length=2048``. TRL 1.16 has no ``max_prompt_length`` and tokenizes ``prompt +
completion`` in one piece, so :func:`tokenize_deita_pair` does what TRL 0.7 did and the recipe
hands ``DPOTrainer`` the token ids (``prompt_ids``/``chosen_ids``/``rejected_ids``):

* the prompt and each response are tokenized separately;
* when ``len(prompt) + len(longer response)`` exceeds ``max_length``, the prompt keeps its
  **last** ``max_prompt_length`` tokens; if still too long, both responses keep their **first**
  ``max_length - max_prompt_length`` tokens (1,536 for DEITA).

Two token-level choices differ from TRL 0.7.2 and follow the SFT stage and later TRL: the
prompt starts with the tokenizer's BOS (0.7.2 added none), and a response ends with the one EOS
its ``</s>`` gives (0.7.2 appended a second, attention-masked EOS).

Example:
    >>> from deita_hf.testing import build_tokenizer
    >>> tok = build_tokenizer()
    >>> ids = tokenize_deita_pair({"prompt": "S user: Hi ", "chosen": "assistant: Yo</s>",
    ...                            "rejected": "assistant: No</s>"}, tok)
    >>> ids["prompt_ids"][0] == tok.bos_token_id, ids["chosen_ids"][-1] == tok.eos_token_id
    (True, True)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from datasets import Dataset

from deita_hf.data.preference import to_deita_dpo_dataset
from deita_hf.errors import ConfigError

__all__ = ["TOKENIZED_COLUMNS", "deita_dpo_dataset", "pretokenized_dpo_trainer",
           "tokenize_deita_pair"]

#: the columns ``DPOTrainer`` reads from a tokenized dataset
TOKENIZED_COLUMNS = ("prompt_ids", "chosen_ids", "rejected_ids")


def tokenize_deita_pair(strings: Mapping[str, str], tokenizer: Any, *,
                        max_length: int | None = 2048,
                        max_prompt_length: int = 512) -> dict[str, list[int]]:
    """Token ids of one DEITA DPO pair, truncated as TRL 0.7 truncated it.

    Args:
        strings: ``{"prompt", "chosen", "rejected"}`` strings (:func:`deita_dpo_strings`).
        tokenizer: the model's tokenizer.
        max_length: the most tokens of prompt + response (None: no truncation).
        max_prompt_length: the prompt's share when truncating (DEITA: 512).

    Returns:
        ``{"prompt_ids", "chosen_ids", "rejected_ids"}``.
    """
    prompt = list(tokenizer(strings["prompt"], add_special_tokens=True)["input_ids"])
    chosen = list(tokenizer(strings["chosen"], add_special_tokens=False)["input_ids"])
    rejected = list(tokenizer(strings["rejected"], add_special_tokens=False)["input_ids"])
    if max_length is not None:
        if max_prompt_length >= max_length:
            raise ConfigError(f"max_prompt_length ({max_prompt_length}) must be below max_length "
                              f"({max_length}).")
        longer = max(len(chosen), len(rejected))
        if len(prompt) + longer > max_length:  # keep_end: the prompt's last tokens
            prompt = prompt[-max_prompt_length:]
        if len(prompt) + longer > max_length:  # then the responses' first tokens
            chosen = chosen[: max_length - max_prompt_length]
            rejected = rejected[: max_length - max_prompt_length]
    return {"prompt_ids": prompt, "chosen_ids": chosen, "rejected_ids": rejected}


def deita_dpo_dataset(ds: Dataset, tokenizer: Any, *, max_length: int | None = 2048,
                      max_prompt_length: int = 512, num_proc: int | None = None) -> Dataset:
    """Preference data -> DEITA's strings -> token ids for ``DPOTrainer``.

    Args:
        ds: preference data in any :data:`deita_hf.data.preference.PREFERENCE_FORMATS` format
            (or already converted by ``to_preference_dataset``).
        tokenizer: the model's tokenizer.
        max_length, max_prompt_length: see :func:`tokenize_deita_pair`.
        num_proc: processes for ``Dataset.map``.

    Returns:
        The dataset with string ``prompt``/``chosen``/``rejected`` and their token ids
        (``prompt_ids``, ``chosen_ids``, ``rejected_ids``).
    """
    strings = to_deita_dpo_dataset(ds, num_proc=num_proc)

    def tokenize(row: dict[str, str]) -> dict[str, list[int]]:
        return tokenize_deita_pair(row, tokenizer, max_length=max_length,
                                   max_prompt_length=max_prompt_length)

    return strings.map(tokenize, num_proc=num_proc, desc="Tokenizing DEITA DPO pairs")


def pretokenized_dpo_trainer() -> type:
    """``DPOTrainer`` that trains on ``prompt_ids``/``chosen_ids``/``rejected_ids`` as given.

    TRL 1.16 re-tokenizes ``prompt`` + completion in one piece; the DEITA format's ids (prompt
    and responses tokenized and truncated apart) must reach the collator unchanged. A dataset
    without those columns is prepared by TRL as usual.
    """
    from trl import DPOTrainer

    class PretokenizedDPOTrainer(DPOTrainer):
        def _prepare_dataset(self, dataset: Any, processing_class: Any, args: Any,
                             dataset_name: str) -> Any:
            columns = getattr(dataset, "column_names", None) or []
            if set(TOKENIZED_COLUMNS) <= set(columns):
                return dataset
            return super()._prepare_dataset(dataset, processing_class, args, dataset_name)

    return PretokenizedDPOTrainer
