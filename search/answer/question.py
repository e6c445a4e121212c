"""What a question asks, apart from where it says to look.

"According to the essay on asking for help, how does trust between teammates get built?" locates its answer ("the
essay on asking for help") and then asks ("how does trust between teammates get built?"). Retrieval uses the whole
question: the locator finds the document. Choosing the sentence that answers uses only what is asked: inside the
right document, every sentence is near the locator's words ("help", "asking"), so they say nothing about which
one answers. A frame that sets a scene ("When hiring engineers, how…") is part of what is asked and stays.

A question may also set its scene in sentences of its own before the one that asks ("Michael Galloway mentions a
French designer who set Disneyland's purpose. What was that designer's name?"): the scene stays part of what is
asked (it says which passage and which moment), but the kind of answer wanted is read from the sentence that asks.
"""
from __future__ import annotations

import re

# "According to X, …", "In the episode with Y, …", "From Z's notes, …", up to the comma before the question word
# (not "In what year, roughly, did…", which asks from its first word)
_LOCATOR = re.compile(r"^\s*(?:according to|in|from)\s+(?!(?:what|which|whose|how)\b)[^?]{8,}?,\s+"
                      r"(?=(?:(?:in|at|on|for|from|by|with|to) )?"  # "…, in what year was it founded?"
                      r"(?:what|how|why|who|whom|whose|which|where|when|does|did|do|is|was|are|were|can|should)\b)",
                      re.I)


def asked(question: str) -> str:
    """The question without a leading locator (the whole question when it has none)."""
    m = _LOCATOR.search(question)
    return question[m.end():] if m else question


# a question's sentences: split where one ends and a capital starts the next (not spaCy's sentencizer: `kb ask` does
# not load spaCy, 1-2 s, for a line the user typed); the last asks if it opens like a question (not "Smith say?"
# after "What did Dr.")
_NEXT_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[\"“‘'(]?[A-Z])")
_ASKS = re.compile(r"(?:what|which|who|whom|whose|how|when|where|why|is|are|was|were|does|do|did|can|could|should|"
                   r"would|will|has|have|in|on|at|for|from|by|to|with|and|so|name)\b", re.I)


def the_ask(question: str) -> str:
    """The sentence that asks: the last of a question that sets its scene in sentences before it."""
    parts = [p.strip() for p in _NEXT_SENTENCE.split(question.strip()) if p.strip()]
    if len(parts) > 1 and parts[-1].endswith("?") and _ASKS.match(parts[-1]):
        return parts[-1]
    return question
