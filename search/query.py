"""Query handling: the words BM25 should look for, and the speakers a question points at by name or role."""
from __future__ import annotations

import re

from pydantic import BaseModel

from text.nlp import stop_words

_TERM = re.compile(r"[\w’']+")
# what is left of "don't", "isn't"... once the apostrophe splits them ("won" stays: it is also a word)
_NEGATED = {"don", "didn", "doesn", "isn", "wasn", "aren", "weren", "wouldn", "couldn", "shouldn", "haven", "hasn",
            "hadn", "ain"}


def query_terms(query: str) -> list[str]:
    """Content words of the query for BM25: lower-cased, de-duplicated, stop words dropped."""
    words = [w.lower().replace("’", "'").strip("'") for w in _TERM.findall(query)]
    stems = [w.split("'")[0] for w in words]  # "Red Hat's" -> hat; "it's", "don't" -> it, don: stop words below
    stop = stop_words()
    terms = [w for w in stems if w not in stop and w not in _NEGATED and len(w) > 1]
    return list(dict.fromkeys(t for t in terms if t))


class SpeakerProfile(BaseModel):
    episode_id: str
    short: str
    full: str
    role: str | None = None  # as introduced: "CTO for LATAM at Red Hat"
    part: str | None = None  # host, co-host or guest


def linked_speakers(query: str, profiles: list[SpeakerProfile]) -> set[tuple[str, str]]:
    """(episode, speaker) pairs whose name the question uses ("Bruce Wang", "Maria"). A role ("Red Hat's LATAM
    CTO") is matched by the context header instead: boosting on it buried write-ups about the person."""
    terms = set(query_terms(query))
    return {(p.episode_id, p.short) for p in profiles if {w for w in query_terms(p.full) if len(w) > 2} & terms}
