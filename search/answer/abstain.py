"""When the corpus does not hold an answer: say so rather than quote the nearest thing.

The evidence, each a reason a person would accept: nothing in the passages is content that could answer; the
question names something the corpus never mentions; or the best excerpt is far from the question in meaning.
(A question that asks for a number, a date or a name is also abstained on when no excerpt close enough to the
best holds one: search.answer.answer_type, applied as the points are chosen.)
"""
from __future__ import annotations

import re
from collections.abc import Callable

from search.query import query_terms

ABSTAIN_BELOW = 0.36  # cosine of the best excerpt to the question under which the corpus does not answer

_NAME = re.compile(r"(?<![.?!]\s)(?<!^)\b([A-Z][a-z]+[A-Z]?\w*|[A-Z]{2,})\b")
NO_ANSWER = "The corpus does not seem to cover this question. The closest passages are listed below."


def unknown_names(question: str, in_corpus: Callable[[str], bool]) -> list[str]:
    """Names and acronyms in the question (capitalised mid-sentence, or all caps) the corpus never mentions:
    a question about RACI matrices cannot be answered by a corpus without the word."""
    names = {m.group(1) for m in _NAME.finditer(question.strip())}
    return [n for n in sorted(names) if query_terms(n) and not in_corpus(query_terms(n)[0])]


def before_choosing(question: str, has_candidates: bool, best_similarity: float,
                    in_corpus: Callable[[str], bool] | None) -> str | None:
    """A reason to abstain that the candidates alone show, or None."""
    if not has_candidates:
        return "no passage holds content that could answer it"
    if in_corpus is not None:
        missing = unknown_names(question, in_corpus)
        if missing:
            return f"the corpus never mentions {', '.join(missing)}"
    if best_similarity < ABSTAIN_BELOW:
        return "no passage is close enough to the question"
    return None
