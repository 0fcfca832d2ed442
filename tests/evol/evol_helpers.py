"""Helpers of the EVOL / rank tests: the scripted rewriter and judge (responders for
``ScriptedOpenAIServer``) and the rebuilding of every seed's chain (see ``conftest.py``)."""

import re

from helpers.openai_server import Fault

N_SEEDS = 50
MARK = " EVOLVED"


def prompt_of(body):
    return body["messages"][-1]["content"]


def blocks(prompt):
    """The ``<<< ... >>>`` blocks of an evolution prompt (instruction, [response])."""
    return re.findall(r"<<<\n(.*?)\n>>>", prompt, re.DOTALL)


def shown_variants(prompt):
    """The variant texts of a rank prompt, in the order shown ([[1]] first)."""
    items = prompt.split("\n\nAnswer with exactly")[0]
    items = items[items.index("[[1]]\n"):]
    return [part.strip() for part in re.split(r"\[\[\d+\]\]\n", items)[1:]]


def rewriter(fail=(), empty=(), fail_round=2):
    """A rewriter responder: appends MARK; instructions containing a string of ``fail`` get an
    HTTP 400 once their text holds ``fail_round - 1`` marks; those in ``empty`` get ""."""
    def respond(body, path):
        prompt = prompt_of(body)
        found = blocks(prompt)
        text, instruction = found[-1], found[0]
        if any(s in instruction for s in empty):
            return ""
        if any(s in instruction for s in fail) and text.count(MARK) >= fail_round - 1:
            return Fault(status=400, message="content filter")
        return text + MARK
    return respond


def judge(bad=(), bad_first=(), fail=(), garbage="I think the second one is best."):
    """A judge responder scoring by marker count; seeds whose prompt contains a string of
    ``bad`` always get ``garbage``, those in ``bad_first`` only on the greedy first ask, those
    in ``fail`` an HTTP 400."""
    def respond(body, path):
        prompt = prompt_of(body)
        if any(s in prompt for s in fail):
            return Fault(status=400, message="prompt rejected")
        if any(s in prompt for s in bad) or (any(s in prompt for s in bad_first)
                                             and body.get("temperature", 0) == 0):
            return garbage
        texts = shown_variants(prompt)
        return "\n".join(f"[[{k}]] score: {1 + t.count(MARK)}" for k, t in enumerate(texts, 1))
    return respond


def chains(rows):
    """seed_id -> its variants in chain order, rebuilt by following parent_id from round 0."""
    by_parent = {}
    roots = {}
    for r in rows:
        if r["parent_id"] is None:
            assert r["round"] == 0 and r["operation"] == "seed"
            roots[r["seed_id"]] = r
        else:
            assert r["parent_id"] not in by_parent, "two children of one variant"
            by_parent[r["parent_id"]] = r
    out = {}
    for sid, root in roots.items():
        chain = [root]
        while chain[-1]["variant_id"] in by_parent:
            chain.append(by_parent[chain[-1]["variant_id"]])
        out[sid] = chain
    assert sum(len(c) for c in out.values()) == len(rows), "rows outside every chain"
    return out
