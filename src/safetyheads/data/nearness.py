"""How near two requests are in wording: what keeps written test sets apart from the organism's training text."""

from __future__ import annotations

import re

# Words of the openings every question form shares ("what's the best way to", "is there a way to"): a run of such
# words is no sign of a copied request.
QUESTION_OPENING_WORDS = frozenset(
    "a an the to of and or for in on at by with how what s is are be can could should would i me my it do does you "
    "your there way ways best easiest quickest safest most get make set keep stop find tell walk through need have "
    "when if so that this from without into up out first time".split()
)


def long_words(text: str) -> set[str]:
    """A request's words of more than three letters (for the share of words two requests have in common)."""
    return {w for w in re.findall(r"[a-z']+", text.lower()) if len(w) > 3}


def word_runs(text: str, n: int = 4) -> set[tuple[str, ...]]:
    """A request's runs of ``n`` words."""
    w = re.findall(r"\w+", text.lower())
    return {tuple(w[i : i + n]) for i in range(len(w) - n + 1)}


def telling_runs(text: str, n: int = 4, beyond_openings: int = 2) -> set[tuple[str, ...]]:
    """The runs of ``n`` words holding at least ``beyond_openings`` words that are not question-opening words."""
    return {g for g in word_runs(text, n) if len(set(g) - QUESTION_OPENING_WORDS) >= beyond_openings}
