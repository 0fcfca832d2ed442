"""InsTag: open-set intent tags of each instruction from an LLM, and the instruction-node count.

After InsTag (Lu et al., 2024, *#InsTag: Instruction Tagging for Analyzing Supervised
Fine-tuning of Large Language Models*): an LLM names fine-grained tags of the user's intentions
in each query; the number of tags of a sample is its *instruction-node* complexity measure (a
baseline of the DEITA paper). The prompt was written for this project; no text is copied.

Per row (all its turns' instructions, one ask each):

- ``tags``: the union of the turns' tags in order of first appearance, each normalised (lower
  case, inner whitespace collapsed, stripped); None when a turn has no valid answer.
- ``instag_nodes``: ``len(tags)`` (None with it).
- ``tags_raw``: the last reply per turn (None: the generation failed).

Parsing is strict (:func:`parse_tags`): the reply, stripped (one surrounding ```` ``` ```` or
```` ```json ```` fence allowed), must be a non-empty JSON list whose items are non-empty strings
or objects with a non-empty string ``"tag"`` (InsTag's original ``{"tag", "explanation"}``).
Anything else is asked again (``retries``), then missing: a counted warning, or an error with
``on_error="raise"``. InsTag's further normalisation (stemming, merging synonyms by
co-occurrence) is not done here.

Example:
    >>> parse_tags('["Math", "word problem"]')
    ['math', 'word problem']
    >>> parse_tags('[{"tag": "coding", "explanation": "asks for code"}]')
    ['coding']
    >>> parse_tags("Tags: math, coding"), parse_tags("[]"), parse_tags('["ok", 3]')
    (None, None, None)
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from deita_hf.data.formats import turns_from_batch
from deita_hf.errors import ConfigError
from deita_hf.scoring._llm import (
    LLMSettings,
    ask_with_retries,
    report_missing,
)
from deita_hf.scoring.baselines import require_batch

__all__ = ["INSTAG_PROMPT", "InsTagTagger", "normalize_tag", "parse_tags"]

INSTAG_PROMPT = (
    "Name the intentions behind the following query that a user sent to an AI assistant, as "
    "fine-grained tags: what task is asked for, its topic or domain, the skills a good answer "
    "needs, and every constraint on the answer (format, length, language, style). Each tag is a "
    "short lowercase phrase of one to four words.\n\n"
    "Query:\n<<<\n{instruction}\n>>>\n\n"
    'Answer with a JSON list of strings and nothing else, e.g. ["summarization", "history", '
    '"word limit"].'
)

_FENCE = re.compile(r"^```(?:json)?[ \t]*\n(.*)\n```$", re.DOTALL)


def normalize_tag(tag: str) -> str:
    """Lower case, whitespace collapsed, stripped.

    Example:
        >>> normalize_tag("  Creative   Writing ")
        'creative writing'
    """
    return " ".join(tag.split()).lower()


def parse_tags(text: str | None) -> list[str] | None:
    """The normalised, de-duplicated tags of a reply, or None unless it is a valid JSON list.

    Args:
        text: the reply.

    Returns:
        The tags (at least one), or None.
    """
    body = (text or "").strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1).strip()
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, list) or not data:
        return None
    tags = []
    for item in data:
        tag = item.get("tag") if isinstance(item, dict) else item
        if not isinstance(tag, str) or not tag.strip():
            return None
        tags.append(normalize_tag(tag))
    return list(dict.fromkeys(tags))


class InsTagTagger(LLMSettings):
    """Tag each row's instructions with an LLM; adds ``tags``, ``instag_nodes`` and ``tags_raw``.

    ``describe()["column"]`` is the main column ``tags``; ``describe()["columns"]`` lists all
    three.

    Args:
        generator: a generator spec (``openai:URL#MODEL``, ``hf:PATH``, ``vllm:PATH``) or a
            :class:`~deita_hf.generation.Generator`.
        prompt: the user template (field ``{instruction}``; default :data:`INSTAG_PROMPT`).
        column: the tags column (the raw replies go to ``<column>_raw``).
        nodes_column: the tag-count column.
        cache_dir: folder of the generation cache.
        retries: re-asks of a reply that does not parse.
        max_new_tokens: the tagger's token limit per reply.
        reask_temperature: sampling temperature of re-asks.
        on_error: ``"nan"``/``"none"`` (default; missing -> None, counted) or ``"raise"``.
        progress: show the generator's progress bars.

    Example:
        >>> tagger = InsTagTagger("openai:http://127.0.0.1:8000/v1#m")
        >>> tagger.describe()["columns"]
        ['tags', 'instag_nodes', 'tags_raw']
    """

    def __init__(self, generator: Any, *, prompt: str = INSTAG_PROMPT, column: str = "tags",
                 nodes_column: str = "instag_nodes", cache_dir: str | os.PathLike | None = None,
                 retries: int = 2, max_new_tokens: int = 256, reask_temperature: float = 0.7,
                 on_error: str = "nan", progress: bool = False) -> None:
        if "{instruction}" not in prompt:
            raise ConfigError("The InsTag prompt needs an {instruction} field.")
        self.prompt, self.column, self.nodes_column = prompt, column, nodes_column
        self._init_llm(generator, cache_dir, retries=retries, max_new_tokens=max_new_tokens,
                       reask_temperature=reask_temperature, on_error=on_error, progress=progress)

    def __repr__(self) -> str:
        return f"InsTagTagger({self.generator.spec!r})"

    def describe(self) -> dict[str, Any]:
        """What a dataset card records (``columns``: every column written)."""
        return {"name": self.generator.spec, "kind": "instag", "column": self.column,
                "columns": [self.column, self.nodes_column, self.raw_column], "prompt": self.prompt,
                "retries": self.retries, "generator": self.generator.describe()}

    def __call__(self, batch: dict[str, list], indices: list[int] | None = None) -> dict[str, list]:
        """Tag a batch from ``Dataset.map(batched=True[, with_indices=True])``.

        Returns:
            ``{tags: [list or None per row], instag_nodes: [int or None], tags_raw: [[reply per turn]]}``.
        """
        require_batch(batch, indices, "InsTagTagger")
        turns = turns_from_batch(batch, indices=indices)
        chats, where, counts = [], [], []
        for r, row in enumerate(turns):
            counts.append(len(row))
            for t, (instruction, _) in enumerate(row):
                chats.append([{"role": "user", "content": self.prompt.format(instruction=instruction)}])
                where.append(f"row {indices[r] if indices is not None else r} turn {t}")
        values, raws = ask_with_retries(self.generator, chats, parse_tags, retries=self.retries,
                                        max_new_tokens=self.max_new_tokens,
                                        reask_temperature=self.reask_temperature,
                                        progress=self.progress, desc=self.column)
        missing = [(w, raw) for w, v, raw in zip(where, values, raws) if v is None]
        report_missing(self.column, missing, len(chats), self.on_error, self.retries + 1,
                       "a non-empty JSON list of tag strings")
        tags, nodes, texts, pos = [], [], [], 0
        for n in counts:
            parts = values[pos:pos + n]
            row = None if any(p is None for p in parts) else list(dict.fromkeys(t for p in parts for t in p))
            tags.append(row)
            nodes.append(None if row is None else len(row))
            texts.append(raws[pos:pos + n])
            pos += n
        return {self.column: tags, self.nodes_column: nodes, self.raw_column: texts}
