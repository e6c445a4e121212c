"""Verify a generated answer sentence by sentence against the excerpts it cites, before anything is shown.

A language model writes fluent sentences whether or not the excerpts support them. Five rules catch what a
reader cannot check at a glance, each a function below that returns why a sentence fails (or None):

1. `cites_known_excerpts`: the sentence cites at least one excerpt, and only excerpts that exist;
2. `says_something`: it states more than who said it and where (small models echo an excerpt's heading);
3. `quotes_are_verbatim`: what it puts in quotation marks is what a cited passage says;
4. `names_are_cited`: the names and acronyms it states are in a cited passage (or its speaker and episode);
5. `numbers_are_cited`: the numbers it states are in a cited passage ("ten" and "10" are the same number).

A sentence that fails any rule is dropped with the reason. The rules are lexical on purpose: they cannot tell a
faithful paraphrase from a loose one, but they catch an invented quote, name, number or source, the errors that
mislead a reader who trusts the citation. A reply that only says "The corpus does not say." is an abstention
(`is_abstention`).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from pydantic import BaseModel, Field

from core.models import Point

ABSTENTION = "The corpus does not say."


class Verdict(BaseModel):
    """One sentence of a generated reply and whether it may be shown."""

    text: str = Field(description="the sentence as the model wrote it, with its [n] markers")
    cites: list[int] = Field(default_factory=list, description="the excerpt numbers it cites, in order")
    kept: bool
    reason: str | None = Field(default=None, description="why it was dropped")
    abstains: bool = Field(default=False, description="it says the corpus does not say")


# ---- reading a reply: sentences and their citation markers ----

_MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_MARKERS = r"(?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])"
# a sentence ends at . ! or ? (with any closing quotes or brackets), then its markers; or at markers alone
_END = re.compile(rf"[.!?]+[\"”’')]*{_MARKERS}*[.!?]?|{_MARKERS}+[.!?]*")
_STARTS_SENTENCE = re.compile(r"[\"“‘'(]*[A-Z0-9]")
_LIST_ITEM = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")
_ABBREVIATION = re.compile(r"(?:\b(?:Mr|Mrs|Ms|Dr|Prof|St|Jr|Sr|vs|e\.g|i\.e|cf)|\b[A-Z])$", re.I)


def reply_sentences(text: str, final: bool = True) -> tuple[list[str], str]:
    """Cut a reply into sentences; returns (complete sentences, the unfinished rest).

    While a reply streams in (`final=False`) a sentence counts as complete only once the next one has visibly
    begun (an end mark, its [n] markers, a space, then a capital), since more markers may still follow the full
    stop. Line breaks end sentences too, and list bullets are dropped: models like to answer in lists.
    """
    sentences: list[str] = []
    lines = text.split("\n")
    done_lines, last = (lines, "") if final else (lines[:-1], lines[-1])
    for line in done_lines:
        found, rest = _line_sentences(_LIST_ITEM.sub("", line), final=True)
        sentences.extend(found + ([rest] if rest.strip() else []))
    rest = ""
    if not final:
        found, rest = _line_sentences(_LIST_ITEM.sub("", last), final=False)
        sentences.extend(found)
    return [s.strip() for s in sentences if s.strip()], rest


def _line_sentences(line: str, final: bool) -> tuple[list[str], str]:
    out, start = [], 0
    for m in _END.finditer(line):
        if m.start() < start or not re.search(r"\w", _MARKER.sub("", line[start:m.start()])):
            continue  # markers with nothing before them belong to what follows ("[1] Tamar says ...")
        after = line[m.end():]
        if not after.strip():
            if final:
                out.append(line[start:m.end()])
                start = m.end()
            continue
        if not after[0].isspace() or not _STARTS_SENTENCE.match(after.lstrip()):
            continue
        if line[m.start()] == "." and _ABBREVIATION.search(line[start:m.start()]):
            continue  # "Dr. Smith", "e.g. Box", an initial
        out.append(line[start:m.end()])
        start = m.end()
    rest = line[start:]
    if final and rest.strip():
        out.append(rest)
        rest = ""
    return [s for s in out if s.strip()], rest


def cited_numbers(sentence: str) -> list[int]:
    """The excerpt numbers a sentence cites: [1], [1][3], and the [1, 3] some models write."""
    out: list[int] = []
    for m in _MARKER.finditer(sentence):
        for n in re.split(r"\s*[,;]\s*", m.group(1)):
            if int(n) not in out:
                out.append(int(n))
    return out


def _without_markers(sentence: str) -> str:
    return re.sub(r"\s+", " ", _MARKER.sub(" ", sentence)).strip()


def is_abstention(sentence: str) -> bool:
    """The model's way of saying the excerpts do not answer: the exact sentence it was asked to write (markers,
    case and a contraction aside)."""
    plain = _plain(_without_markers(sentence))
    return plain in ("the corpus does not say", "the corpus doesn t say")


# ---- what a sentence may be checked against ----

def _plain(text: str) -> str:
    """Lower case, words only: quotes are compared without regard to case, punctuation or spacing."""
    text = text.casefold().replace("’", "'").replace("‘", "'")
    return " ".join(re.findall(r"\w+", text))


def points_by_number(points: Iterable[Point]) -> dict[int, list[Point]]:
    """Excerpts under their [n] (two excerpts of one passage may share a number)."""
    out: dict[int, list[Point]] = {}
    for point in points:
        out.setdefault(point.citation.n, []).append(point)
    return out


def _said(points: Iterable[Point]) -> str:
    """What the excerpts say: the whole passage, the verbatim excerpt and the excerpt as shown."""
    return "\n".join(t for p in points for t in (p.citation.text, p.citation.quote, p.text) if t)


def _about(points: Iterable[Point]) -> str:
    """Who says it, where and when: a sentence may name the speaker or episode of an excerpt it cites."""
    parts = []
    for p in points:
        c = p.citation
        role = c.speaker_role.value if c.speaker_role else None
        parts.extend(t for t in (c.speaker, c.speaker_name, role, c.speaker_title, c.episode.title, c.at or c.start) if t)
    return "\n".join(parts)


# ---- the rules ----

def cites_known_excerpts(cites: Sequence[int], excerpts: Mapping[int, object]) -> str | None:
    """A sentence must say where it comes from, and point only at excerpts the model was given: an uncited
    sentence cannot be checked, and a made-up [n] sends the reader to the wrong passage."""
    if not cites:
        return "cites no excerpt"
    unknown = [n for n in cites if n not in excerpts]
    if unknown:
        given = ", ".join(f"[{n}]" for n in sorted(excerpts))
        return f"cites {''.join(f'[{n}]' for n in unknown)}, but the excerpts are {given}"
    return None


# the words the prompt puts around each excerpt besides who, where and when (search.answer.generate.describe)
_HEADING_WORDS = set("a written note an unnamed speaker in at passage key excerpt".split())


def says_something(sentence: str, about: str) -> str | None:
    """A sentence must state something: one made only of markers, or only of who said it, their role and the
    episode (a small model echoing the excerpt's heading, "[1] Tamar Bercovici (VP of Engineering at Box)"), is
    true and tells the reader nothing."""
    words = set(_plain(_without_markers(sentence)).split())
    if not words - set(_plain(about).split()) - _HEADING_WORDS:
        return "says nothing but who said it and where" if words else "says nothing"
    return None


_QUOTES = [
    re.compile(r"“([^”]+)”"),
    re.compile(r'"([^"]+)"'),
    re.compile(r"‘(.+?)’(?!\w)"),  # ’ followed by a letter is an apostrophe, not the closing mark
    re.compile(r"(?<!\w)'([^']+?)'(?!\w)"),
]


def quoted_spans(sentence: str) -> list[tuple[int, int, str]]:
    """(start, end, text) of every quotation in the sentence, straight or curly, double or single."""
    spans: list[tuple[int, int, str]] = []
    for pattern in _QUOTES:
        for m in pattern.finditer(sentence):
            if not any(s <= m.start() < e for s, e, _ in spans):
                spans.append((m.start(), m.end(), m.group(1)))
    return sorted(spans)


def quotes_are_verbatim(sentence: str, said: str) -> str | None:
    """Quotation marks promise the speaker's own words: each quotation must appear in a cited passage (case,
    punctuation and spacing aside), or be its episode's title. An ellipsis inside a quotation marks words left
    out: each part must appear."""
    source = f" {_plain(said)} "
    for _, _, quote in quoted_spans(sentence):
        for part in re.split(r"\.\.\.|…", quote):
            if _plain(part) and f" {_plain(part)} " not in source:
                return f"quotes “{quote.strip()}”, which the cited passage does not say"
    return None


_CAPITALISED = re.compile(r"(?<![\w’'])[A-Z][\w’'&-]*")


def names_in(sentence: str) -> list[str]:
    """Names and acronyms a sentence states: capitalised words except its first word (any sentence starts with
    one) unless that is an acronym, "I", single letters (initials) and words inside quotations (the quotation rule
    checks those)."""
    text = _without_markers(sentence)
    quoted = quoted_spans(text)
    first = re.search(r"[A-Za-z]", text)
    out = []
    for m in _CAPITALISED.finditer(text):
        at_start = first and m.start() == first.start() and not re.fullmatch(r"[A-Z]{2,}s?", m.group())
        if at_start or any(s <= m.start() < e for s, e, _ in quoted):
            continue
        word = re.sub(r"[’']s?$", "", m.group())
        if len(word) > 1 and re.split(r"[’']", word)[0] != "I" and word not in out:
            out.append(word)
    return out


def names_are_cited(sentence: str, said: str, about: str) -> str | None:
    """A name or acronym is a claim a reader takes on trust: it must appear in a cited passage, or be its
    speaker, their role or its episode. Case is ignored (transcripts are not careful with it); a plural acronym
    ("OKRs") may appear in the singular; in a hyphenated word only its capitalised parts are names ("Bracho-led")."""
    source = f"{said}\n{about}".replace("’", "'")

    def found(word: str) -> bool:
        return bool(re.search(rf"(?<!\w){re.escape(word)}(?!\w)", source, re.I))

    for name in names_in(sentence):
        name = name.replace("’", "'")
        plural_acronym = re.fullmatch(r"[A-Z]{2,}s", name)
        parts = [p for p in name.split("-") if p[:1].isupper()]
        if found(name) or plural_acronym and found(name[:-1]) or "-" in name and all(map(found, parts)):
            continue
        return f"names {name}, which no cited excerpt mentions"
    return None


_WORD_NUMBERS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen".split())}
_WORD_NUMBERS.update({w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)})
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_NUMBER_TOKEN = re.compile(r"(?<![A-Za-z\d.,])\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?<![A-Za-z\d.,])\d+(?:\.\d+)?|[A-Za-z]+")


def numbers_in(text: str, lone_one: bool = True) -> set[float]:
    """The numbers a text states, as values: digits ("10", "1,000", "3.5", "2019", "40%"), number words
    ("ten", "twenty-five", "two hundred") and either with a scale ("5 million" = "five million" = 5000000).
    `lone_one=False` skips a lone "one", which in a sentence is nearly always a pronoun ("one of the things")."""
    out: set[float] = set()
    tokens = list(_NUMBER_TOKEN.finditer(_without_markers(text)))
    i = 0
    while i < len(tokens):
        word = tokens[i].group().lower()
        if word[0].isdigit():
            value = float(word.replace(",", ""))
            if i + 1 < len(tokens) and tokens[i + 1].group().lower() in _SCALES:
                value *= _SCALES[tokens[i + 1].group().lower()]
                i += 1
            out.add(value)
            i += 1
            continue
        if word not in _WORD_NUMBERS and word not in _SCALES:
            i += 1
            continue
        run = []
        while i < len(tokens):
            w = tokens[i].group().lower()
            if w in _WORD_NUMBERS or w in _SCALES:
                run.append(w)
            elif not (w == "and" and run and i + 1 < len(tokens) and tokens[i + 1].group().lower() in _WORD_NUMBERS):
                break
            i += 1
        if run == ["one"] and not lone_one:
            continue
        total = current = 0
        for w in run:
            if w in _WORD_NUMBERS:
                current += _WORD_NUMBERS[w]
            elif w == "hundred":
                current = (current or 1) * 100
            else:
                total += (current or 1) * _SCALES[w]
                current = 0
        out.add(float(total + current))
    return out


def numbers_are_cited(sentence: str, said: str, about: str) -> str | None:
    """A number is the claim a model most often gets wrong and a reader least often checks: every number the
    sentence states must be stated by a cited passage (or be its time stamp), in digits or in words."""
    source = numbers_in(f"{said}\n{about}")
    unquoted = sentence
    for start, end, _ in reversed(quoted_spans(sentence)):
        unquoted = unquoted[:start] + " " + unquoted[end:]
    for value in sorted(numbers_in(unquoted, lone_one=False)):
        if value not in source:
            shown = f"{value:g}" if value < 1e15 else str(value)
            return f"states {shown}, which no cited excerpt states"
    return None


# ---- a sentence, a reply ----

def verify_sentence(sentence: str, excerpts: Mapping[int, Sequence[Point]]) -> Verdict:
    """Apply the rules in order; the first that fails drops the sentence. An abstention is not shown as a
    sentence: the caller decides what a reply of nothing else means."""
    cites = cited_numbers(sentence)
    if is_abstention(sentence):
        return Verdict(text=sentence, cites=cites, kept=False, reason="says the corpus does not say", abstains=True)
    reason = cites_known_excerpts(cites, excerpts)
    if reason is None:
        cited = [p for n in cites for p in excerpts[n]]
        said, about = _said(cited), _about(cited)
        titles = "\n".join(p.citation.episode.title for p in cited)
        reason = (says_something(sentence, about) or quotes_are_verbatim(sentence, f"{said}\n{titles}")
                  or names_are_cited(sentence, said, about) or numbers_are_cited(sentence, said, about))
    return Verdict(text=sentence, cites=cites, kept=reason is None, reason=reason)


def verify_reply(reply: str, points: Sequence[Point]) -> list[Verdict]:
    """Every sentence of a whole reply, each with its verdict (see `verify_sentence`)."""
    excerpts = points_by_number(points)
    sentences, _ = reply_sentences(reply, final=True)
    return [verify_sentence(s, excerpts) for s in sentences]
