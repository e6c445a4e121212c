"""Sentence boundaries from spaCy's rule-based sentencizer (no downloaded model needed), and at a trailing-off
ellipsis before a capital ("…painful weekends... But over time, the margins got better"): edited transcripts
(Changelog's, 1,638 times in thirteen episodes) and Whisper mark a sentence's end that way, and the sentencizer
does not, so whole minutes of speech became one "sentence" too long to quote."""
from __future__ import annotations

import re
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


ELLIPSIS = r"(?:\.\.\.|…)"  # a trailing-off: three dots, or the one character
_ELLIPSIS_END = re.compile(rf"{ELLIPSIS}\s+(?=[\"“‘']?[A-Z])")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences in `text`; newlines also end a sentence (bullets, headings)."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for line in text.split("\n"):
        if line.strip():
            for sent in nlp()(line).sents:
                spans += _at_ellipses(line, pos, sent.start_char, sent.end_char)
        pos += len(line) + 1
    return spans


def _at_ellipses(line: str, pos: int, a: int, b: int) -> list[tuple[int, int]]:
    """The sentence [a, b) of `line` split after each ellipsis that a capitalised word follows."""
    out = []
    for m in _ELLIPSIS_END.finditer(line, a, b):
        end = m.start() + len(m.group().rstrip())
        if a < m.start() and m.end() < b:
            out.append((pos + a, pos + end))
            a = m.end()
    return out + [(pos + a, pos + b)]


def split_sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]
