"""Word stems (Snowball English, through PyStemmer's C extension), so a question's "delegating" finds a passage's
"delegated".

Why not spaCy's lemmas: the answer path only needs to know which question words a sentence holds, and importing
spaCy and building a lemmatizer costs a cold `kb ask` over a second; PyStemmer imports in milliseconds. The
stemmer is the same family as the Porter stemmer SQLite's FTS5 index applies, so what counts as "the same word"
agrees between keyword search and answers.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

_WORD = re.compile(r"\w+(?:['’]\w+)*")


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer  # PyStemmer

    return Stemmer.Stemmer("english")


def stem_words(words: Iterable[str]) -> list[str]:
    """The stem of each (lower-cased) word, in order."""
    return _stemmer().stemWords([w.lower().replace("’", "'") for w in words])


def stems(text: str) -> list[str]:
    """Stems of the words of `text`, in order (punctuation dropped)."""
    return stem_words(_WORD.findall(text))
