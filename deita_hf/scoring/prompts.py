"""The prompt templates the published DEITA scorers were trained on (verbatim).

Example:
    >>> from deita_hf.scoring.prompts import COMPLEXITY_TEMPLATE
    >>> COMPLEXITY_TEMPLATE.format(instruction="Hi").endswith("##Complexity: ")
    True
"""

from __future__ import annotations

#: ``hkust-nlp/deita-complexity-scorer``'s prompt; field ``instruction``
COMPLEXITY_TEMPLATE = (
    "You are a helpful assistant. Please identify the complexity score of the following user query. \n"
    "##Query: {instruction}  \n##Complexity: "
)

#: ``hkust-nlp/deita-quality-scorer``'s prompt; fields ``instruction`` and ``output``
QUALITY_TEMPLATE = (
    "You are a helpful assistant. Please identify the quality score of the Response corresponding "
    "to the Question. \n #Question#:\n{instruction}\n#Response#:\n{output} \n##Quality: "
)

#: the vocabulary entries whose next-token probabilities make the expected score
SCORE_TOKENS = ("1", "2", "3", "4", "5", "6")

#: the published LLaMA-1 ids of "1".."6" (for reference; ids are always resolved from the tokenizer)
LLAMA_SCORE_IDS = (29896, 29906, 29941, 29946, 29945, 29953)
