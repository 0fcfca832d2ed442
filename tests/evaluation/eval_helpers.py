"""Helpers of the evaluation tests: a scripted model under test, a scripted judge, and readers
of a run folder and of the requests a scripted server received (``import eval_helpers``)."""

from __future__ import annotations

import hashlib
import json
import re


def model_reply(body: dict, path: str) -> str:
    """A scripted model under test: its answer names the turn and the question it answers."""
    users = [m["content"] for m in body["messages"] if m["role"] == "user"]
    tag = hashlib.sha1(users[-1].encode()).hexdigest()[:6]
    return f"  Answer to turn {len(users)} ({tag}), T={body['temperature']:g}.  "


def rating_of(prompt: str) -> int:
    """The rating the scripted judge gives a prompt (deterministic, 1..10)."""
    return 1 + int(hashlib.sha1(prompt.encode()).hexdigest(), 16) % 10


def rating_judge(body: dict, path: str) -> str:
    """A scripted single-answer judge: a short explanation and a ``[[rating]]``."""
    prompt = body["messages"][-1]["content"]
    return f"The answer is adequate. Rating: [[{rating_of(prompt)}]]"


def answer_in(prompt: str, position: str) -> str:
    """The answer shown as assistant ``position`` ("A" or "B") in a pair-v2 prompt."""
    return re.search(rf"\[The Start of Assistant {position}'s Answer\]\n(.*?)\n\[The End of Assistant "
                     rf"{position}'s Answer\]", prompt, re.DOTALL).group(1)


def read_jsonl_file(path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def chat_requests(server) -> list[dict]:
    """The chat-completion bodies a scripted server received, in arrival order."""
    return [r["body"] for r in server.requests if r["path"].endswith("/chat/completions")]
