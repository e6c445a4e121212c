"""Sentence boundaries from spaCy's rule-based sentencizer (no downloaded model needed)."""
from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from text.nlp import spacy

if TYPE_CHECKING:  # pragma: no cover
    from spacy.language import Language


@lru_cache(maxsize=1)
def nlp() -> Language:
    pipeline = spacy().blank("en")
    pipeline.add_pipe("sentencizer")
    return pipeline


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences in `text`; newlines also end a sentence (bullets, headings)."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for line in text.split("\n"):
        if line.strip():
            for sent in nlp()(line).sents:
                spans.append((pos + sent.start_char, pos + sent.end_char))
        pos += len(line) + 1
    return spans


def split_sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]
