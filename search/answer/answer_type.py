"""What kind of answer a question asks for, and whether the chosen excerpts hold one.

"How many…" wants a number, "Who…" a person, "Which company…" or "What is the name of…" a name. When the
excerpts talk around the question (the corpus mentions the migration but never the company), they hold none:
the honest answer is that the corpus does not say. A check of form, not of truth: an excerpt with some name
passes although the name may be the wrong one; only an answer that cannot be right is stopped.
"""
from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable
from enum import Enum
from functools import lru_cache

from text.nlp import stop_words


class Wanted(str, Enum):
    number = "number"
    person = "person"
    name = "name"


_NUMBER_QUESTION = re.compile(
    r"^\s*(how (much|many|often|long|old)|what (share|percentage|percent|proportion|fraction|number|amount)"
    r"|(in )?what year)\b", re.I)
_NUMBER = re.compile(r"\d|%|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|"
                     r"fifty|hundred|thousand|million|billion|percent|half|third|quarter|dozen)\b", re.I)
# nouns whose answer is a person, after "which/what …" or in "the name of the …"
_PEOPLE = ("person|people|man|woman|engineer|designer|author|writer|founder|co-founder|colleague|ceo|cto|cfo|vp|"
           "manager|boss|lead|leader|hire|hires|mentor|host|guest|speaker|daughter|son|wife|husband")
# nouns whose answer is a proper name of some other kind
_THINGS = ("company|companies|firm|startup|vendor|provider|customer|client|university|school|college|country|city|"
           "language|tool|book|product|framework|database|team|organi[sz]ation|conference|podcast|show|brand")
_WHO = re.compile(r"^\s*(?:(?:do we know|can you tell me|does anyone say)\s+)?(?:who|whom|whose)\b", re.I)
_WHICH = re.compile(rf"^\s*(?:which|what)\s+(?:[\w-]+\s+)?(?P<noun>{_PEOPLE}|{_THINGS})\b", re.I)
_NAME_OF = re.compile(r"\b(?:the )?name of (?:the |a |an |[A-Z][\w’']*(?:\s[A-Z][\w’']*)*['’]s )?(?:[\w-]+\s+)?"
                      rf"(?P<noun>{_PEOPLE}|{_THINGS})?", re.I)
# "who is Armstrong (at Stellafai)?" asks for a description; "who is Michael Galloway's boss?" for a person
_WHO_IS = re.compile(r"^\s*(?i:who (?:is|was|are|were)) (?:[A-Z][\w-]*\s?)++(?!['’]s)")
_PEOPLE_RE = re.compile(rf"^(?:{_PEOPLE})$", re.I)

_WORD = re.compile(r"[A-Za-z][\w’'-]*")
_SENTENCE_START = re.compile(r"(?:^|[.!?…:;]\s*[\"“‘']?\s*|[\"“‘]\s*)$")
_SPOKEN = {"ok", "yep", "hey", "hi", "oh", "ah", "uh", "um", "wow", "thanks", "alright"}  # open speech, not in WordNet
# WordNet lists base forms: moved -> move, studies -> study, making -> make, teams -> team, quickly -> quick
_INFLECTIONS = [("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e"), ("ly", "")]
_CONTRACTION = re.compile(r"['’](?:s|ve|re|ll|d|m|t)$|n['’]t$")
_CALLED = re.compile(r"\b(?:called|named|known as)\s+[\"“‘']?\w", re.I)


def wanted(question: str) -> Wanted | None:
    """The kind of answer the question asks for, when it asks for a number or a name (else None)."""
    if _NUMBER_QUESTION.search(question):
        return Wanted.number
    if _WHO_IS.search(question):
        return None
    if _WHO.search(question):
        return Wanted.person
    for pattern in (_WHICH, _NAME_OF):
        m = pattern.search(question)
        if m:
            noun = m.group("noun") or ""
            return Wanted.person if _PEOPLE_RE.match(noun) else Wanted.name
    return None


def names(text: str, lowercase: set[str]) -> list[str]:
    """Proper names in running text: capitalised words that are not common words (stop words, or words the same
    passages also write in lower case: speech transcripts capitalise after any pause); at a sentence's start,
    where every word is capitalised, only words that are not English words either."""
    stops = stop_words()
    out = []
    for m in _WORD.finditer(text):
        word = m.group(0)
        if not word[0].isupper() or word in ("I", "I’m", "I'm", "I’ve", "I've", "I’d", "I'd", "I’ll", "I'll"):
            continue
        bare = re.sub(r"['’]s$", "", word).lower()
        if bare in stops or bare in lowercase:
            continue
        if _SENTENCE_START.search(text[:m.start()]) and _english(bare):
            continue
        out.append(word)
    return out


def _english(word: str) -> bool:
    """A common English word (WordNet's lemmas as spacy-lookups-data ships them, a stop word, a word that opens
    speech), as a sentence's first word must be to be taken for a word rather than a name ("Research shows…",
    "They’ve…", "Probably…")."""
    base = _CONTRACTION.sub("", word)
    if base in stop_words() or base in _SPOKEN:
        return True
    forms = {base} | {base[:-len(end)] + then for end, then in _INFLECTIONS if base.endswith(end)}
    return bool(forms & _wordnet())


@lru_cache(maxsize=1)
def _wordnet() -> frozenset[str]:
    import spacy_lookups_data

    with gzip.open(spacy_lookups_data.get_file("en_lemma_index.json.gz"), "rt", encoding="utf-8") as f:
        return frozenset(w for words in json.load(f).values() for w in words if len(w) > 2)


def _asked(word: str, question_words: list[str]) -> bool:
    """The question says this word already (Venezuela / Venezuelan: a shared stem of five letters)."""
    w = re.sub(r"['’]s$", "", word).lower()
    return any(q == w or (len(w) >= 5 and len(q) >= 5 and q[:5] == w[:5]) for q in question_words)


def supplied(kind: Wanted, question: str, excerpts: Iterable[str], speakers: Iterable[str | None],
             passages: Iterable[str]) -> bool:
    """Whether the excerpts hold an answer of this kind that the question does not already give. `speakers`: the
    full names the excerpts are attributed to (the answer shows them: for "who said…", that is the answer);
    `passages`: the passages' texts, for the words they also write in lower case."""
    texts = list(excerpts)
    if kind == Wanted.number:
        return any(_NUMBER.search(t) for t in texts)
    asked = [w.lower() for w in _WORD.findall(question)]
    if any(_CALLED.search(t) for t in texts):  # "a team called product platform systems": a name, in any case
        return True
    lowercase = {w for p in passages for w in _WORD.findall(p) if w.islower()}
    found = [n for t in texts for n in names(t, lowercase) if not _asked(n, asked)]
    if kind == Wanted.person:
        found = [n for n in found if not n.isupper()]  # CTO, VP, HR: titles and terms, not people
        found += [s for s in speakers if s and not any(_asked(part, asked) for part in s.split())]
    return bool(found)
