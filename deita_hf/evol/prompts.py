"""The prompts of DEITA's data generation: evolving instructions or responses, and ranking them.

Written for this project after the descriptions in the DEITA paper (Liu et al., 2024, §2.3 and
§2.4) and WizardLM (Xu et al., 2023, in-depth evolving); no text is copied from either.

- EVOL COMPLEXITY rewrites the *instruction* with one in-depth operation per round:
  ``constraints``, ``deepen``, ``concretize``, ``reasoning``, ``complicate_input``.
- EVOL QUALITY rewrites the *response* (the instruction stays) with one of ``helpfulness``,
  ``relevance``, ``depth``, ``creativity``, ``details``.
- Ranking shows a judge all usable variants of one seed, numbered ``[[1]]..[[n]]`` in a
  shuffled order, and asks for one line per variant: ``[[k]] score: s`` with ``s`` in 1..6.

Example:
    >>> p = evol_prompt("complexity", "constraints", instruction="Name three rivers.")
    >>> "Name three rivers." in p and OPERATIONS["complexity"]["constraints"] in p
    True
    >>> print(answer_format(2))
    [[1]] score: <1-6>
    [[2]] score: <1-6>
"""

from __future__ import annotations

from deita_hf.errors import ConfigError

__all__ = ["EVOL_KINDS", "OPERATIONS", "RANK_TEMPLATES", "SCORE_RANGE", "TEMPLATES",
           "answer_format", "evol_prompt", "rank_prompt"]

#: the two evolutions of DEITA
EVOL_KINDS = ("complexity", "quality")

#: kind -> operation name -> what the rewriter is asked to do
OPERATIONS: dict[str, dict[str, str]] = {
    "complexity": {
        "constraints": "Add exactly one new constraint or requirement that the answer must "
                       "satisfy (a limit, a condition, a format, an audience).",
        "deepen": "Widen and deepen what is asked: where the instruction touches a topic "
                  "lightly, ask for more of it (causes, consequences, comparisons, edge cases).",
        "concretize": "Replace general words and concepts with specific, concrete ones (a "
                      "named case, a precise quantity, a particular setting).",
        "reasoning": "If the task can be solved with a single simple step, reword it so that "
                     "solving it explicitly takes several steps of reasoning.",
        "complicate_input": "Add a piece of concrete input the task must work on, in a structured "
                            "form that fits it (a small table, a code snippet, a JSON object, a "
                            "formula or a data list), and refer to it in the instruction.",
    },
    "quality": {
        "helpfulness": "Make it more helpful: address the user's actual need more fully and add "
                       "practical guidance they can act on.",
        "relevance": "Make it more relevant: remove what drifts from the question and tie "
                     "every part of the answer closely to what was asked.",
        "depth": "Make it deeper: explain the reasons and mechanisms behind the answer and "
                 "discuss the important nuances.",
        "creativity": "Make it more creative: use an original angle, an apt example or an "
                      "engaging structure, while staying accurate.",
        "details": "Make it more detailed: add specific facts, figures, steps or examples "
                   "that make the answer more complete.",
    },
}

_COMPLEXITY_EVOL = """You are editing a collection of instructions used to train AI assistants. \
Rewrite the instruction below into a harder version: one that even strong assistants such as \
GPT-4 find more demanding, yet that stays sensible, self-contained and answerable by a person.

How to make it harder: {method}

Rules:
- Keep all the information of the original, including any text, table or code it contains.
- The new version may be at most 10 to 20 words longer than the original.
- Reply with the new instruction only: no heading, no introduction, no explanation, and no \
mention of the original or of these rules.

Original instruction:
<<<
{instruction}
>>>

New instruction:"""

_QUALITY_EVOL = """You are improving the answers in a collection used to train AI assistants. \
Below are an instruction and its current response. Write a better response in one respect.

How to improve it: {method}

Rules:
- The new response must still answer the instruction as asked, stay correct, and keep what \
the current response gets right.
- Reply with the new response only: no heading, no introduction, and no notes on what you \
changed.

Instruction:
<<<
{instruction}
>>>

Current response:
<<<
{response}
>>>

Improved response:"""

#: kind -> the evolution prompt (fields: ``method``, ``instruction``, and ``response`` for quality)
TEMPLATES = {"complexity": _COMPLEXITY_EVOL, "quality": _QUALITY_EVOL}

#: the score scale of ranking (the DEITA scorers' 1..6)
SCORE_RANGE = (1, 6)

_RANK_COMPLEXITY = """Below are {n} versions of one instruction, numbered [[1]] to [[{n}]] in \
random order. Compare them and score the complexity of each: how difficult it is to answer \
well, from 1 (the simplest) to 6 (the most complex). Versions that ask for more knowledge, \
more steps of reasoning or more constraints deserve higher scores; versions of about the same \
complexity may share a score. Judge complexity only, not correctness or style.

{items}

Answer with exactly {n} lines, one per version in the order [[1]] to [[{n}]], in this format \
and nothing else:
{format}"""

_RANK_QUALITY = """Below are an instruction and {n} responses to it, numbered [[1]] to [[{n}]] \
in random order. Compare the responses and score the quality of each, from 1 (the worst) to 6 \
(the best): how helpful, relevant, accurate, deep and detailed it is as an answer to the \
instruction. Responses of about the same quality may share a score.

Instruction:
<<<
{instruction}
>>>

{items}

Answer with exactly {n} lines, one per response in the order [[1]] to [[{n}]], in this format \
and nothing else:
{format}"""

#: kind -> the ranking prompt (fields: ``n``, ``items``, ``format``, and ``instruction`` for quality)
RANK_TEMPLATES = {"complexity": _RANK_COMPLEXITY, "quality": _RANK_QUALITY}


def _check_kind(kind: str) -> None:
    if kind not in EVOL_KINDS:
        raise ConfigError(f"kind must be one of {list(EVOL_KINDS)}, got {kind!r}.")


def evol_prompt(kind: str, operation: str, *, instruction: str, response: str | None = None) -> str:
    """The evolution prompt of one round.

    Args:
        kind: ``"complexity"`` (rewrite ``instruction``) or ``"quality"`` (rewrite ``response``).
        operation: a key of ``OPERATIONS[kind]``.
        instruction: the current instruction.
        response: the current response (quality only).

    Returns:
        The prompt text (sent as one user message).

    Raises:
        ConfigError: unknown kind or operation, or quality without a response.
    """
    _check_kind(kind)
    if operation not in OPERATIONS[kind]:
        raise ConfigError(f"Unknown {kind} operation {operation!r}; known: {list(OPERATIONS[kind])}.")
    method = OPERATIONS[kind][operation]
    if kind == "complexity":
        return TEMPLATES[kind].format(method=method, instruction=instruction)
    if response is None:
        raise ConfigError("Quality evolution needs the current response.")
    return TEMPLATES[kind].format(method=method, instruction=instruction, response=response)


def answer_format(n: int) -> str:
    """The answer lines a judge must write for ``n`` variants (``[[k]] score: <1-6>``)."""
    low, high = SCORE_RANGE
    return "\n".join(f"[[{k}]] score: <{low}-{high}>" for k in range(1, n + 1))


def rank_prompt(kind: str, texts: list[str], *, instruction: str | None = None) -> str:
    """The ranking prompt for one seed's variants, in the order given (already shuffled).

    Args:
        kind: ``"complexity"`` (``texts`` are instructions) or ``"quality"`` (``texts`` are
            responses to ``instruction``).
        texts: the variants, shown as ``[[1]]``, ``[[2]]``, ... in this order.
        instruction: the instruction the responses answer (quality only).

    Returns:
        The prompt text.

    Example:
        >>> p = rank_prompt("complexity", ["Add 2 and 3.", "Add 2 and 3, then square it."])
        >>> "[[2]]\\nAdd 2 and 3, then square it." in p and p.endswith("[[2]] score: <1-6>")
        True
    """
    _check_kind(kind)
    items = "\n\n".join(f"[[{k}]]\n{text}" for k, text in enumerate(texts, 1))
    fields = {"n": len(texts), "items": items, "format": answer_format(len(texts))}
    if kind == "quality":
        if instruction is None:
            raise ConfigError("Quality ranking needs the instruction.")
        fields["instruction"] = instruction
    return RANK_TEMPLATES[kind].format(**fields)
