"""Training support for the TRL recipes in ``recipes/``: data conversion, chat template, cards.

Example:
    from deita_hf.training import VICUNA_V1_1_TEMPLATE, to_sft_dataset
"""

from deita_hf.data.preference import (
                                             PREFERENCE_FORMATS,
                                             detect_preference_format,
                                             preference_to_messages,
                                             to_preference_dataset,
)
from deita_hf.training.chat_template import (
                                             VICUNA_SYSTEM_PROMPT,
                                             VICUNA_V1_1_TEMPLATE,
                                             ensure_chat_template,
)
from deita_hf.training.config import RecipeArguments
from deita_hf.training.model_card import (
                                             framework_versions,
                                             hyperparameters,
                                             load_eval_results,
                                             read_data_provenance,
                                             render_model_card,
)
from deita_hf.training.recipe import (
                                             check_trainable,
                                             finish_training,
                                             load_tokenizer,
                                             load_training_data,
                                             model_init_kwargs,
                                             resolve_checkpoint,
                                             setup_logging,
                                             split_train_eval,
)
from deita_hf.training.sft_data import sft_messages, to_sft_dataset

__all__ = [
                                             "PREFERENCE_FORMATS",
                                             "VICUNA_SYSTEM_PROMPT",
                                             "VICUNA_V1_1_TEMPLATE",
                                             "RecipeArguments",
                                             "check_trainable",
                                             "detect_preference_format",
                                             "ensure_chat_template",
                                             "finish_training",
                                             "framework_versions",
                                             "hyperparameters",
                                             "load_eval_results",
                                             "load_tokenizer",
                                             "load_training_data",
                                             "model_init_kwargs",
                                             "preference_to_messages",
                                             "read_data_provenance",
                                             "render_model_card",
                                             "resolve_checkpoint",
                                             "setup_logging",
                                             "sft_messages",
                                             "split_train_eval",
                                             "to_preference_dataset",
                                             "to_sft_dataset",
]
