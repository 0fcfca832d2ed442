"""FastChat's Vicuna v1.1 chat template (DEITA's SFT format), marked up for assistant-only loss.

DEITA's SFT run formats conversations with FastChat's ``vicuna_v1.1`` template
(``conv_template="vicuna_v1.1"`` in hkust-nlp/deita ``examples/train/sft.sh``)::

    <s>{system} USER: {user} ASSISTANT: {assistant}</s>USER: {user} ASSISTANT:

The template below renders exactly that string, uses FastChat's default system prompt when the
conversation has none, and wraps each assistant reply (with its leading space and the closing
``</s>``) in ``{% generation %}`` markers so that TRL's ``assistant_only_loss=True`` trains on
the replies only, as DEITA's ``mask_user=True`` did. The prompt rendered with
``add_generation_prompt=True`` ends in ``ASSISTANT:``, a prefix of the rendered conversation,
as TRL's DPO tokenisation needs.

DEITA's DPO run did **not** use this template: its ``dpo_train.py`` builds its own strings
(``{system} user: {prompt} `` and ``assistant: {reply}</s>``). ``chat_template_mode: deita``
(:data:`CHAT_TEMPLATE_MODES`) reproduces them (see :mod:`deita_hf.training.dpo_data`); with the
other modes a DPO run formats pairs with this Vicuna template, which is FastChat's format, not
DEITA's DPO format.

Example:
    >>> from deita_hf.training.chat_template import VICUNA_V1_1_TEMPLATE
    >>> "{% generation %}" in VICUNA_V1_1_TEMPLATE
    True
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from deita_hf.data.formats import VICUNA_V1_1_SYSTEM
from deita_hf.errors import ConfigError

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = ["CHAT_TEMPLATE_MODES", "VICUNA_SYSTEM_PROMPT", "VICUNA_V1_1_TEMPLATE",
           "describe_format", "ensure_chat_template"]

logger = logging.getLogger(__name__)

#: FastChat's vicuna_v1.1 system prompt
VICUNA_SYSTEM_PROMPT = VICUNA_V1_1_SYSTEM

VICUNA_V1_1_TEMPLATE = (
    "{{ bos_token }}"
    "{% if messages[0]['role'] == 'system' %}"
    "{% set system_message = messages[0]['content'] %}{% set loop_messages = messages[1:] %}"
    "{% else %}"
    "{% set system_message = '" + VICUNA_SYSTEM_PROMPT.replace("'", "\\'") + "' %}"
    "{% set loop_messages = messages %}"
    "{% endif %}"
    "{% if system_message %}{{ system_message + ' ' }}{% endif %}"
    "{% for message in loop_messages %}"
    "{% if message['role'] == 'user' %}{{ 'USER: ' + message['content'] + ' ' }}"
    "{% elif message['role'] == 'assistant' %}{{ 'ASSISTANT:' }}"
    "{% generation %}{{ ' ' + message['content'] + eos_token }}{% endgeneration %}"
    "{% else %}{{ raise_exception('Vicuna v1.1 template: unsupported role ' + message['role']) }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}"
)

#: ``if_missing``: install the Vicuna template only when the tokenizer has no chat template;
#: ``always``: replace any existing template; ``never``: keep the tokenizer as it is;
#: ``deita`` (DPO only): no chat template, the original ``dpo_train.py`` strings instead.
CHAT_TEMPLATE_MODES = ("if_missing", "always", "never", "deita")


def describe_format(stage: str, mode: str, template: str | None, *,
                    max_length: int | None = 2048, max_prompt_length: int = 512) -> str:
    """One phrase for the model card: how the training data was formatted.

    Example:
        >>> describe_format("dpo", "deita", None)[:35]
        "DEITA's dpo_train.py strings (promp"
    """
    if mode == "deita":
        cut = ("" if max_length is None else
               f"; when a pair exceeds {max_length:,} tokens the prompt keeps its last "
               f"{max_prompt_length:,} and the responses their first "
               f"{max_length - max_prompt_length:,}, as TRL 0.7 did")
        return ("DEITA's dpo_train.py strings (prompt `{system} user: {prompt} `, responses "
                f"`assistant: {{reply}}</s>`{cut})")
    if template and template == VICUNA_V1_1_TEMPLATE:
        return ("FastChat's Vicuna v1.1 (DEITA's SFT format)" if stage == "sft" else
                "FastChat's Vicuna v1.1 (not DEITA's DPO format: see chat_template_mode: deita)")
    if template and "ASSISTANT:" in template:
        return "a Vicuna-style template"
    return "the tokenizer's own"


def ensure_chat_template(tokenizer: PreTrainedTokenizerBase, mode: str = "if_missing") -> bool:
    """Install :data:`VICUNA_V1_1_TEMPLATE` on ``tokenizer`` according to ``mode``.

    Args:
        tokenizer: a ``transformers`` tokenizer; changed in place.
        mode: one of :data:`CHAT_TEMPLATE_MODES` (``deita``: nothing is installed; the DPO
            data is formatted as strings).

    Returns:
        True if the Vicuna template was installed.

    Raises:
        ValueError: unknown ``mode``; or ``mode="never"`` and the tokenizer has no template.

    Example:
        >>> from deita_hf.testing import build_tokenizer
        >>> tok = build_tokenizer()
        >>> ensure_chat_template(tok)
        True
        >>> tok.apply_chat_template([{"role": "user", "content": "Hi"}], tokenize=False,
        ...                         add_generation_prompt=True).endswith("questions. USER: Hi ASSISTANT:")
        True
    """
    if mode not in CHAT_TEMPLATE_MODES:
        raise ConfigError(f"chat_template_mode={mode!r}; expected one of {CHAT_TEMPLATE_MODES}.")
    if mode == "deita":
        logger.info("chat_template_mode='deita': DEITA's dpo_train.py strings, no chat template.")
        return False
    has_template = bool(getattr(tokenizer, "chat_template", None))
    if mode == "never" or (mode == "if_missing" and has_template):
        if not has_template:
            raise ConfigError(
                "The tokenizer has no chat template and chat_template_mode='never'. Set "
                "chat_template_mode='if_missing' to install FastChat's Vicuna v1.1 template "
                "(DEITA's SFT format), or give "
                "the tokenizer a template (SFTConfig.chat_template_path)."
            )
        logger.info("Keeping the tokenizer's own chat template.")
        return False
    if tokenizer.eos_token is None:
        raise ConfigError(
            "The tokenizer has no eos_token; the Vicuna v1.1 template ends each assistant reply "
            "with it. Set tokenizer.eos_token first."
        )
    tokenizer.chat_template = VICUNA_V1_1_TEMPLATE
    logger.info("Installed the Vicuna v1.1 chat template (with generation markers).")
    return True
