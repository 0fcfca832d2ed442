"""Word n-gram overlap between texts and benchmark prompts (the test GPT-3 and lm-eval-harness
use for contamination).

Normalisation (:func:`normalize_words`), after lm-eval-harness's ``Janitor``
(``lm_eval/decontamination/janitor.py``: lower case, ``string.punctuation`` deleted, split on
whitespace), preceded by :func:`normalize_text` (Unicode format characters, category Cf: zero-width
spaces, word joiners, soft hyphens, ..., deleted, then NFKC: full-width letters become ASCII,
ligatures are split; the embedding method of decontamination compares these texts too): the text
is lower-cased (all letters, not ASCII only), every ASCII punctuation
character and every Unicode punctuation character (categories P*: curly quotes, dashes, ...)
is deleted, and the rest is split on whitespace. So "Hello, World!" and "hello world" are the
same words; "don't" becomes "dont".

A text *matches* a prompt when one of the prompt's word n-grams (``n`` = 13 by default, as in
GPT-3 and the harness) occurs in the text. A prompt shorter than ``n`` words is matched whole
(its full word sequence must occur) if it has at least ``min_words`` words (8, GPT-3's smallest
n-gram); shorter prompts cannot be matched by n-grams (counted as ``too_short``; the embedding
method covers them). The limit this sets: a prompt of W words with one word changed still
matches iff a run of ``n`` unchanged words is left, i.e. when the changed word has ``n`` words
before or after it (always when W >= 2n + 1 = 27); a changed word in a prompt matched whole
defeats the match.

Example:
    >>> normalize_words("Hello, World! It’s 2 o'clock.")
    ['hello', 'world', 'its', '2', 'oclock']
    >>> normalize_words("Ｃｏｍ\u200bpose a tra\u00advel\u2060 blog")
    ['compose', 'a', 'travel', 'blog']
    >>> index = NgramIndex([["Compose an engaging travel blog post about a recent trip to "
    ...                      "Hawaii, highlighting cultural experiences."]], n=13)
    >>> index.match(normalize_words("Please COMPOSE an engaging travel blog post about a "
    ...                             "recent trip to hawaii highlighting cultural sights"))
    {0: (0, 'compose an engaging travel blog post about a recent trip to hawaii highlighting')}
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Sequence

__all__ = ["NORMALISATION", "NgramIndex", "normalize_text", "normalize_words"]

#: the normalisation in one line, for settings and cards
NORMALISATION = ("Unicode format characters (Cf) deleted, NFKC; lower case; ASCII and Unicode "
                 "punctuation deleted; split on whitespace (lm-eval-harness's Janitor)")


_ASCII_PUNCTUATION = str.maketrans("", "", string.punctuation)


def normalize_text(text: str) -> str:
    """``text`` without Unicode format characters (category Cf: zero-width spaces and joiners,
    word joiners, soft hyphens, bidi marks, ...), then in NFKC (full-width and other
    compatibility forms become their plain letters). ASCII text is returned as it is.

    Args:
        text: any text.

    Returns:
        The normalised text (what both decontamination methods compare).

    Example:
        >>> normalize_text("ｆｕｌｌ\u200b-width soft\u00adhyphen")
        'full-width softhyphen'
    """
    if text.isascii():
        return text
    text = "".join(c for c in text if c.isascii() or unicodedata.category(c) != "Cf")
    return unicodedata.normalize("NFKC", text)


def normalize_words(text: str) -> list[str]:
    """The words of ``text`` after the module's normalisation (:func:`normalize_text` first).

    Args:
        text: any text.

    Returns:
        Its words.
    """
    text = normalize_text(text).lower().translate(_ASCII_PUNCTUATION)
    if not text.isascii():
        text = "".join(c for c in text
                       if c.isascii() or not unicodedata.category(c).startswith("P"))
    return text.split()


class NgramIndex:
    """The word n-grams of several prompt sets, for finding which sets a text overlaps.

    Args:
        sets: one list of prompts per set.
        n: the n-gram length.
        min_words: prompts with fewer words than ``n`` but at least ``min_words`` are matched
            whole; shorter ones are not indexed (:attr:`too_short` counts them per set).

    Attributes:
        too_short: per set, how many prompts are too short to index.
    """

    def __init__(self, sets: Sequence[Sequence[str]], *, n: int = 13, min_words: int = 8) -> None:
        self.n, self.min_words = int(n), int(min_words)
        #: gram length -> gram -> {set index: prompt index (the first prompt holding it)}
        self.grams: dict[int, dict[tuple[str, ...], dict[int, int]]] = {}
        self.too_short = [0] * len(sets)
        for s, prompts in enumerate(sets):
            for p, prompt in enumerate(prompts):
                words = normalize_words(prompt)
                size = self.n if len(words) >= self.n else len(words)
                if size < self.min_words:
                    self.too_short[s] += 1
                    continue
                table = self.grams.setdefault(size, {})
                for i in range(len(words) - size + 1):
                    table.setdefault(tuple(words[i: i + size]), {}).setdefault(s, p)
        self.vocabulary = {w for table in self.grams.values() for gram in table for w in gram}

    def match(self, words: Sequence[str]) -> dict[int, tuple[int, str]]:
        """The sets ``words`` overlaps: ``{set index: (prompt index, the shared gram)}``, one
        match per set (the first found).

        Only windows of words that all occur in some prompt are looked up (an exact shortcut).
        """
        found: dict[int, tuple[int, str]] = {}
        runs, start = [], None
        for i, w in enumerate([*words, None]):
            if w is not None and w in self.vocabulary:
                start = i if start is None else start
            elif start is not None:
                runs.append((start, i))
                start = None
        for lo, hi in runs:
            for size, table in self.grams.items():
                for i in range(lo, hi - size + 1):
                    hit = table.get(tuple(words[i: i + size]))
                    if hit:
                        for s, p in hit.items():
                            found.setdefault(s, (p, " ".join(words[i: i + size])))
        return found
