"""Lemma phrase matching with spaCy's lookup lemmatizer, so "delegated" matches the seed "delegate" without a
downloaded model (blank English pipeline + the tables shipped in spacy-lookups-data)."""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING

from text.nlp import spacy

if TYPE_CHECKING:  # pragma: no cover
    from spacy.language import Language
    from spacy.tokens import Token

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'"})
_WORD = re.compile(r"\w")


@lru_cache(maxsize=1)
def nlp() -> Language:
    """Tokenizer + lookup lemmatizer; texts are lower-cased first because the lookup table is lower-case."""
    pipeline = spacy().blank("en")
    pipeline.add_pipe("lemmatizer", config={"mode": "lookup"})
    pipeline.initialize()
    return pipeline


def _lemma(token: Token) -> str:
    """The lookup lemma, unless it is a different word altogether: the table maps "ai" to "have" and "well" to
    "good", which would make the seed "AI" match every "have"; real inflections keep the first letter."""
    lemma = token.lemma_
    return lemma if lemma and lemma[0] == token.text[0] else token.text


def lemmas(text: str) -> list[str]:
    """Lemmas of the word tokens of `text` (punctuation dropped, so phrases match across commas and dashes)."""
    doc = nlp()(text.lower().translate(_APOSTROPHES))
    return [_lemma(t) for t in doc if _WORD.search(t.text)]


def lemma_texts(texts: Iterable[str], batch_size: int = 64) -> list[list[str]]:
    """`lemmas` for many texts through spaCy's batched pipe."""
    docs = nlp().pipe((t.lower().translate(_APOSTROPHES) for t in texts), batch_size=batch_size)
    return [[_lemma(t) for t in doc if _WORD.search(t.text)] for doc in docs]


class PhraseMatcher:
    """Finds seed phrases in lemma sequences; each seed is lemmatized once and matched as a contiguous run."""

    def __init__(self, phrases: Iterable[str]):
        self.phrases: dict[tuple[str, ...], str] = {}
        for phrase in phrases:
            key = tuple(lemmas(phrase))
            if key:
                self.phrases.setdefault(key, phrase)
        self._by_first: dict[str, list[tuple[str, ...]]] = {}
        for key in self.phrases:
            self._by_first.setdefault(key[0], []).append(key)

    def match(self, text_lemmas: list[str]) -> Counter[str]:
        """Seed phrase (as written in the taxonomy) -> number of occurrences in the text."""
        found: Counter[str] = Counter()
        for i, lemma in enumerate(text_lemmas):
            for key in self._by_first.get(lemma, ()):
                if tuple(text_lemmas[i:i + len(key)]) == key:
                    found[self.phrases[key]] += 1
        return found
