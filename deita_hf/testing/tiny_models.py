"""Build small LLaMA models and tokenizers offline, for tests, benchmarks and examples.

Nothing here touches the network: the tokenizer is a byte-level BPE trained with the
``tokenizers`` library on the texts you pass (digits split one per token, so the DEITA score
tokens "1".."6" are single vocabulary entries), the model a randomly initialised
``LlamaForCausalLM``. Both are saved with ``save_pretrained`` and load back with the ``Auto``
classes.

Example:
    >>> from deita_hf.testing import build_tiny_llama
    >>> path = build_tiny_llama("/tmp/tiny-llama", texts=["Hello world 123"] * 10)  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

__all__ = ["VICUNA_STYLE_TEMPLATE", "build_tiny_llama", "build_tokenizer"]

_DEFAULT_TEXTS = [
    "You are a helpful assistant. Please identify the complexity score of the following user "
    "query. ##Query: ##Complexity: 1 2 3 4 5 6",
    "You are a helpful assistant. Please identify the quality score of the Response "
    "corresponding to the Question. #Question# #Response# ##Quality: 0123456789",
    "USER: Write a short poem about the sea. ASSISTANT: The sea is wide and deep and blue.",
]

#: a simple chat template for test tokenizers (the recipes install their own Vicuna template)
VICUNA_STYLE_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ message['content'] + ' ' }}"
    "{% elif message['role'] == 'user' %}{{ 'USER: ' + message['content'] + ' ' }}"
    "{% else %}{{ 'ASSISTANT: ' + message['content'] + eos_token }}{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}"
)


def build_tokenizer(texts: Iterable[str] | None = None, *, vocab_size: int = 512,
                    chat_template: str | None = None) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE tokenizer and wrap it for ``transformers``.

    Args:
        texts: training texts (a few hundred real ones give a realistic vocabulary).
        vocab_size: target vocabulary size, special tokens included.
        chat_template: optional Jinja chat template to set on the tokenizer.

    Returns:
        A ``transformers`` fast tokenizer with ``<s>``, ``</s>``, ``<unk>`` and ``<pad>``, that
        prepends ``<s>`` like LLaMA's.
    """
    from tokenizers import (
        Tokenizer,
        decoders,
        models,
        pre_tokenizers,
        processors,
        trainers,
    )
    from transformers import PreTrainedTokenizerFast

    special = ["<unk>", "<s>", "</s>", "<pad>"]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=special,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(texts or _DEFAULT_TEXTS) + _DEFAULT_TEXTS, trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", tok.token_to_id("<s>"))]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
        pad_token="<pad>", model_max_length=4096,
    )
    if chat_template is not None:
        fast.chat_template = chat_template
    return fast


def build_tiny_llama(output_dir: str | os.PathLike, *, texts: Iterable[str] | None = None,
                     vocab_size: int = 512, hidden_size: int = 64, num_hidden_layers: int = 2,
                     num_attention_heads: int = 4, num_key_value_heads: int | None = None,
                     intermediate_size: int = 128, max_position_embeddings: int = 4096,
                     chat_template: str | None = None, seed: int = 0) -> Path:
    """Build a randomly initialised LLaMA and its tokenizer, and save both to ``output_dir``.

    Args:
        output_dir: where to ``save_pretrained`` the model and tokenizer.
        texts: texts to train the tokenizer on.
        vocab_size: tokenizer vocabulary size; the model's embedding matrix matches it.
        hidden_size, num_hidden_layers, num_attention_heads, num_key_value_heads,
            intermediate_size, max_position_embeddings: ``LlamaConfig`` fields (the defaults
            give a ~0.1M-parameter model; hidden 512, 8 layers, 8 heads, intermediate 1536
            and vocab 32000 give ~60M).
        chat_template: optional chat template for the tokenizer.
        seed: torch seed for the weights.

    Returns:
        ``Path(output_dir)``.
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = build_tokenizer(texts, vocab_size=vocab_size, chat_template=chat_template)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=intermediate_size,
        num_hidden_layers=num_hidden_layers,
        num_attention_heads=num_attention_heads,
        num_key_value_heads=num_key_value_heads or num_attention_heads,
        max_position_embeddings=max_position_embeddings,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


if __name__ == "__main__":  # python -m deita_hf.testing.tiny_models OUT_DIR (the CPU study's model)
    import sys

    if len(sys.argv) != 2:
        sys.exit("usage: python -m deita_hf.testing.tiny_models OUT_DIR")
    print(build_tiny_llama(sys.argv[1], chat_template=VICUNA_STYLE_TEMPLATE))
