"""What a question asks, apart from where it says to look.

"According to the essay on asking for help, how does trust between teammates get built?" locates its answer ("the
essay on asking for help") and then asks ("how does trust between teammates get built?"). Retrieval uses the whole
question: the locator finds the document. Choosing the sentence that answers uses only what is asked: inside the
right document, every sentence is near the locator's words ("help", "asking"), so they say nothing about which
one answers. A frame that sets a scene ("When hiring engineers, how…") is part of what is asked and stays.
"""
from __future__ import annotations

import re

# "According to X, …", "In the episode with Y, …", "From Z's notes, …", up to the comma before the question word
# (not "In what year, roughly, did…", which asks from its first word)
_LOCATOR = re.compile(r"^\s*(?:according to|in|from)\s+(?!(?:what|which|whose|how)\b)[^?]{8,}?,\s+"
                      r"(?=(?:what|how|why|who|whom|whose|which|where|when|does|did|do|is|was|are|were|can|should)\b)",
                      re.I)


def asked(question: str) -> str:
    """The question without a leading locator (the whole question when it has none)."""
    m = _LOCATOR.search(question)
    return question[m.end():] if m else question
