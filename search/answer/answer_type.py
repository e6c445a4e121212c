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

from search.answer.question import asked, the_ask
from text.nlp import stop_words


class Wanted(str, Enum):
    number = "number"
    year = "year"
    duration = "length of time"
    frequency = "frequency"
    money = "sum of money"
    date = "date"
    place = "place"
    person = "person"
    name = "name"


# a question may open with a preposition ("For how much money…", "At what age…") or a hedge ("Roughly how many…")
_HEDGE = (r"^\s*(?:(?:for|at|in|on|by|to|from|with)\s+)?"
          r"(?:(?:roughly|approximately|about|around|exactly|so far,?)\s+)?")
_UNIT = r"(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?|decades?|quarters?|sprints?)"
_MONEY_WORDS = (r"salary|price|cost|costs|fee|fees|budget|revenue|valuation|money|funding|charge|charges|pay|paid|"
                r"sell for|sold for|raise|raised|worth|invest|invested")
_NUMBER_WORDS = (r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|(?:thir|four|fif|six|seven|eigh|nine)teen|"
                 r"(?:twen|thir|for|fif|six|seven|eigh|nine)ty|hundred|thousand|million|billion|half|third|quarter|dozen")
# Question classes in the manner of Li & Roth's taxonomy (NUM:date, NUM:period, NUM:money, NUM:count, LOC…), read
# from the question's opening; the first that matches decides. Persons and names follow in `wanted`.
_OPENINGS: list[tuple[re.Pattern[str], Wanted]] = [(re.compile(pattern, re.I), kind) for pattern, kind in [
    (rf"{_HEDGE}(?:what|which) year\b", Wanted.year),
    (rf"{_HEDGE}how (?:long\b|many {_UNIT}\b)", Wanted.duration),
    (rf"{_HEDGE}how often\b", Wanted.frequency),
    (rf"{_HEDGE}(?:how much\b.*\b(?:{_MONEY_WORDS})\b|what (?:salar(?:y|ies)|prices?|costs?|fees?|budgets?|revenues?|valuations?)\b)",
     Wanted.money),
    (rf"{_HEDGE}(?:how (?:much|many|old)|what (?:share|percentage|percent|proportion|fraction|number|amount|"
     r"headcount|age))\b", Wanted.number),
    (r"^\s*(?:(?:on|in|by|from) )?(?:what|which) (?:day|date|month|weekday)s?\b", Wanted.date),
    (r"^\s*where (?:is|are|was|were|does|do|did)\b.*\b(?:based|headquartered|located|situated|live|lives|living|"
     r"born|grow up|grew up)\b", Wanted.place),
]]
_NUMBER = re.compile(rf"\d[\d.,]*%?|\b(?:{_NUMBER_WORDS}|percent)\b", re.I)
# what an answer of each kind looks like in an excerpt (numbers, places, persons and names: see `Asked.held_by`)
_FORM = {kind: re.compile(pattern, re.I) for kind, pattern in [
    (Wanted.year, r"\b(?:1[89]|20)\d\d\b|\b(?:last|this|next) year\b"),
    (Wanted.duration, rf"\b(?:\d[\d.,]*|a|an|{_NUMBER_WORDS}|few|couple of|several|many)\s+(?:[\w-]+\s+)?{_UNIT}\b"),
    (Wanted.frequency, r"\b(?:(?:bi|semi-?)?(?:daily|weekly|monthly|quarterly|yearly|annually)|hourly|every|each|"
                       r"once|twice|times|per|a (?:day|week|month|quarter|year))\b"
                       r"|(?:\d\s*%|\bpercent|\bhalf|\bmost) of the time\b"),  # "about 30% of the time"
    (Wanted.money, r"[$€£¥]\s*\d|\d\s*(?:k|m|bn)\b|\b(?:dollars?|euros?|pounds?|bucks|cents?|grand)\b"),
    (Wanted.date, r"\d|\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekends?|january|february|"
                  r"march|april|may|june|july|august|september|october|november|december|spring|summer|autumn|fall|"
                  r"winter|today|tomorrow|yesterday|(?:last|next|this) (?:week|month|year|quarter))\b"),
]}
# a fee, a cut or a commission is often a share of the money: "Open Collective has a 5% fee across the board"
_FEE = re.compile(r"\b(?:fees?|cut|commissions?|take rate|margins?|royalt(?:y|ies))\b", re.I)
_SHARE = re.compile(r"\d\s*%|\d\s*percent\b|\bpercent(?:age)?\b", re.I)
# nouns whose answer is a person, after "which/what …" or in "the name of the …"
# ("lead" is not one: "what leads to…" is a verb; "which lead engineer…" has "engineer")
_PEOPLE = {"person", "people", "man", "woman", "engineer", "designer", "author", "writer", "founder", "co-founder",
           "colleague", "ceo", "cto", "cfo", "vp", "manager", "boss", "leader", "hire", "mentor", "host",
           "guest", "speaker", "daughter", "son", "wife", "husband"}
# nouns whose answer is a proper name of some other kind
_THINGS = {"company", "firm", "startup", "vendor", "provider", "customer", "client", "university", "school",
           "college", "country", "city", "language", "tool", "book", "product", "framework", "database", "team",
           "organisation", "organization", "conference", "podcast", "show", "brand", "publisher", "consultancy",
           "agency", "investor", "game", "app", "event"}
# a question that asks two things is not answered by the form of one alone ("…, and why…", "… and where…?")
_SECOND_QUESTION = re.compile(r"\w[,;]?\s+and\s+(?:why|how|what|who|whom|where|when|which|whether)\b", re.I)
_WHO = re.compile(r"^\s*(?:(?:do we know|can you tell me|does anyone say)\s+)?(?P<who>who|whom|whose)\b", re.I)
# "which/what <noun>", "at which <noun>", "name the <noun>", "the name(s) of (the) <noun>": up to two plain
# words may stand before the noun ("which venture capital firms"), not words such as "does the"
_WHICH = re.compile(r"^\s*(?:(?:at|in|on|from|for|to|with|by|of)\s+)?(?:which|what)\s+(?P<rest>.*)", re.I)
_NAME_THE = re.compile(r"^\s*name\s+(?:the|a|an|one|two|three|all|some)\s+(?P<rest>.*)", re.I)
_NAME_OF = re.compile(r"\b(?:names?|titles?) of\s+"
                      r"(?:the |a |an |two |three |[A-Z][\w’']*(?:\s[A-Z][\w’']*)*['’]s )?(?P<rest>.*)", re.I)
# "What was that designer's name?", "…and what is her name?": a person's name when the owner is one
_OWNERS_NAME = re.compile(r"\b(?:(?P<owner>[\w-]+)['’]s|his|her|their) (?:full |first |last )?names?\s*\??\s*$", re.I)
# "who is Armstrong (at Stellafai)?" asks for a description; "who is Michael Galloway's boss?" for a person
_WHO_IS = re.compile(r"^\s*(?i:who (?:is|was|are|were)) (?:[A-Z][\w-]*\s?)++(?!['’]s)")


def wanted(question: str) -> Wanted | None:
    """The kind of answer the question asks for, when it asks for a number, a date, a place or a name (else None):
    question classes in the manner of Li & Roth's (NUM, NUM:date, LOC, HUM, ENTY), by the question's opening."""
    for pattern, kind in _OPENINGS:
        if pattern.search(question):
            return kind
    if _WHO_IS.search(question):
        return None
    who = _WHO.search(question)
    if who:  # "whose turnaround…" may be a company's: whose asks for any name
        return Wanted.name if who.group("who").lower() == "whose" else Wanted.person
    owner = _OWNERS_NAME.search(question)
    if owner:
        noun = _head_noun(owner.group("owner")) if owner.group("owner") else "person"
        return Wanted.person if noun in _PEOPLE else Wanted.name
    for pattern, named in ((_WHICH, False), (_NAME_THE, True), (_NAME_OF, True)):
        m = pattern.search(question)
        if m:
            noun = _head_noun(m.group("rest"))
            if noun is not None or named:
                return Wanted.person if noun in _PEOPLE else Wanted.name
    return None


def _head_noun(rest: str) -> str | None:
    """The person- or thing-noun among the first three words of `rest` (singular), if only plain words precede it."""
    for word in re.findall(r"[\w’'-]+", rest.lower())[:3]:
        for form in (word, word[:-1] if word.endswith("s") else None, word[:-3] + "y" if word.endswith("ies") else None):
            if form and (form in _PEOPLE or form in _THINGS):
                return form
        if word in stop_words():
            return None
    return None


_WORD = re.compile(r"[A-Za-z][\w’'-]*")
_SENTENCE_START = re.compile(r"(?:^|[.!?…:;]\s*[\"“‘']?\s*|[\"“‘]\s*)$")
_SPOKEN = {"ok", "yep", "hey", "hi", "oh", "ah", "uh", "um", "wow", "thanks", "alright"}  # open speech, not in WordNet
# WordNet lists base forms: moved -> move, studies -> study, making -> make, teams -> team, quickly -> quick
_INFLECTIONS = [("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e"), ("ly", "")]
_CONTRACTION = re.compile(r"['’](?:s|ve|re|ll|d|m|t)$|n['’]t$")
_CALLED = re.compile(r"\b(?:called|named|known as)\s+[\"“‘']?\w", re.I)


def names(text: str, lowercase: set[str]) -> list[str]:
    """Proper names in running text: capitalised words that are not common words (stop words, or words the same
    passages also write in lower case: speech transcripts capitalise after any pause), nor after "our", "my" or "a"
    ("our API", "a VP"); at a sentence's start, where every word is capitalised, only words that are not English
    words either."""
    stops = stop_words()
    out = []
    for m in _WORD.finditer(text):
        word = m.group(0)
        if not word[0].isupper() or word in ("I", "I’m", "I'm", "I’ve", "I've", "I’d", "I'd", "I’ll", "I'll"):
            continue
        bare = re.sub(r"['’]s$", "", word).lower()
        if bare in stops or bare in lowercase or bare in _SPOKEN:  # "…just say, Hey, I'm Bruce"
            continue
        if _PLURAL_ACRONYM.match(word):  # PRDs, APIs, OKRs: documents and terms, counted, not named
            continue
        if _SENTENCE_START.search(text[:m.start()]) and _english(bare):
            continue
        if _OWNED.search(text[:m.start()]):  # "our API", "my CTO", "a VP": a thing someone has, not a name
            continue
        out.append(word)
    return out


_PLURAL_ACRONYM = re.compile(r"^[A-Z]{2,}s$")
_OWNED = re.compile(r"\b(?:our|my|your|their|his|her|its|a|an)\s+$", re.I)


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


class Asked:
    """What a question asks: `what`, the question without a leading locator (search.answer.question), and `kind`,
    the kind of answer it asks for (None when it asks for neither a number nor a name); and whether a text holds
    an answer of that kind that the question does not already give (a place is a name).
    `passages`: the retrieved texts, for the words they also write in lower case; `speakers`: the corpus's speakers'
    names, people wherever they stand."""

    def __init__(self, question: str, passages: Iterable[str], speakers: Iterable[str] = ()):
        self.what = asked(question)
        ask = the_ask(self.what)  # "…set Disneyland's purpose. What was his name?": the last one
        self.kind = wanted(ask)
        # whether an answer must hold that kind: not when the question asks something more ("How many teams does
        # she lead, and where are they based?", "What language was it in, and why did it never run?": the
        # excerpts that hold it come first, but none holding it is no reason to abstain)
        self.required = self.kind is not None and not _SECOND_QUESTION.search(ask)
        self._share = self.kind == Wanted.money and bool(_FEE.search(ask))
        self._words = [w.lower() for w in _WORD.findall(self.what)]
        self._numbers = {m.group(0).lower() for m in _NUMBER.finditer(self.what)}
        self._lowercase = {w for p in passages for w in _WORD.findall(p) if w.islower()} \
            if self.kind in (Wanted.place, Wanted.person, Wanted.name) else set()
        # names the same passages put where a company or a place goes ("at Netflix", "joined Yahoo")
        self._places = {m.group(1) for p in passages for m in _AFTER_PLACE_WORD.finditer(p)} \
            if self.kind == Wanted.person else set()
        # the corpus's speakers are people, wherever their names stand ("Bruce joins a new team…")
        self._speakers = {w for name in speakers for w in name.split() if len(w) > 1 and w.isalpha() and w[0].isupper()
                          and w.lower() not in ("speaker", "host", "guest", "interviewer")}  # not "Speaker 1"

    def held_by(self, text: str, speaker: str | None = None) -> bool:
        """`speaker`: the full name the text is attributed to (an answer shows it: for "who said…", that is the
        answer). True for any text when the question asks for no particular kind."""
        if self.kind is None:
            return True
        if self.kind in _FORM:
            return bool(_FORM[self.kind].search(text) or (self._share and _SHARE.search(text)))
        if self.kind == Wanted.number:  # a number the question does not already say ("the three teams")
            return any(m.group(0).lower() not in self._numbers for m in _NUMBER.finditer(text))
        if _CALLED.search(text):  # "a team called product platform systems": a name, in any case
            return True
        if self.kind != Wanted.person:
            return any(not _asked(n, self._words) for n in names(text, self._lowercase))
        found = [n for n in people(text, self._lowercase, self._places)
                 if not any(_asked(w, self._words) for w in n.split())]
        found += [w for w in _WORD.findall(text) if w in self._speakers and not _asked(w, self._words)]
        if speaker and not any(_asked(part, self._words) for part in speaker.split()):
            found.append(speaker)
        return bool(found)


_PLACE_BEFORE = re.compile(r"\b(?:at|in|from|for|of|on|by|via|into|across|within|inside|joined|left)\s+(?:the\s+)?$",
                           re.I)
_AFTER_PLACE_WORD = re.compile(r"\b(?:at|in|joined|left)\s+(?:the\s+)?([A-Z][\w’'-]*)")
_CAMEL = re.compile(r"[a-z][A-Z]")  # HashiCorp, GitHub: companies and products


def people(text: str, lowercase: set[str], places: set[str] = frozenset()) -> list[str]:
    """People's names in running text, without a tagger: names in a row ("David Filo", "Momofuku Ando"), or one name
    where a person stands ("Priya built it") rather than a company or a place ("at Yahoo", "joined Netflix",
    "HashiCorp", or one the retrieved passages put there: `places`). A run with a common word in it ("Consumer
    Edge", "Principal Architect") is a term, and capitals (CTO, VP) a title: no one's name."""
    kept = set(names(text, lowercase))
    runs: list[list[re.Match[str]]] = []  # capitalised words in a row
    for m in _WORD.finditer(text):
        if not m.group(0)[0].isupper():
            continue
        if runs and not text[runs[-1][-1].end():m.start()].strip():
            runs[-1].append(m)
        else:
            runs.append([m])
    out = []
    for run in runs:
        words = [m.group(0) for m in run]
        if words[0] not in kept and _SENTENCE_START.search(text[:run[0].start()]):  # "So Priya…", "Then Ann…"
            words, run = words[1:], run[1:]
        if not words or any(w not in kept or w.isupper() for w in words):
            continue  # a term with a common word in it ("Consumer Edge", "Principal Architect"), or CTO, VP
        if len(words) >= 2 or not (_CAMEL.search(words[0]) or words[0] in places
                                   or _PLACE_BEFORE.search(text[:run[0].start()])):
            out.append(" ".join(words))
    return out
