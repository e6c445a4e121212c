"""Subtitle cues (WebVTT, SRT) merged into speaker-true paragraphs, because ASR cues cut sentences mid-way.

Each merged segment keeps the start of its first cue, the end of its last, and one time marker per cue, so the
chunker can interpolate times inside the paragraph and cite the exact characters of the source file.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from collections.abc import Callable
from pathlib import Path

from core.models import Document, Kind, Segment
from ingest.readers.base import ReaderError
from ingest.readers.notes import title_from_path
from ingest.text import slugify, trim

PARAGRAPH_WORDS = 120  # a paragraph may end at a sentence end once it is this long
MAX_WORDS = 250  # ...and must end at a cue boundary once it is this long (ASR without punctuation)
PAUSE = 3.0  # seconds of silence between cues that end a paragraph
_SENTENCE_END = re.compile(r"[.?!…][\"'”’)\]]*$")
_NAME_PREFIX = re.compile(r"([A-Z][\w.'’-]*(?: [A-Z][\w.'’-]*){0,3}):[ \t]+(?=\S)")
_TAG = re.compile(r"<[^>\n]*>")


@dataclass
class Line:
    """One line of the source file: 1-based number, offset of its first character, text without the newline."""

    no: int
    start: int
    text: str


@dataclass
class Cue:
    """One timed cue; `text_start`/`text_end` locate its (speaker-less) text in the source file."""

    start: float
    end: float
    text: str
    text_start: int
    text_end: int
    line: int
    speaker: str | None = None


def lines(text: str) -> list[Line]:
    out, pos = [], 0
    for no, raw in enumerate(text.split("\n"), 1):
        out.append(Line(no, pos, raw.rstrip("\r")))
        pos += len(raw) + 1
    return out


def blocks(text: str) -> list[list[Line]]:
    """Blank-line separated groups of lines, the unit of both WebVTT and SRT."""
    groups: list[list[Line]] = [[]]
    for line in lines(text):
        if line.text.strip():
            groups[-1].append(line)
        elif groups[-1]:
            groups.append([])
    return [g for g in groups if g]


def clean_cue(raw: str) -> str:
    """Cue text without markup tags (`<i>`, `<c.x>`, `<00:01.000>`), whitespace collapsed."""
    return " ".join(_TAG.sub("", raw).split())


def cue_times(path: Path, timing: Line, pattern: re.Pattern, to_seconds: Callable[[str], float | None],
              expected: str) -> tuple[float, float]:
    """Start and end of a `start --> end` timing line, or a ReaderError naming the line and what is wrong."""
    m = pattern.match(timing.text)
    if not m:
        raise ReaderError(path, f"truncated cue timing {timing.text.strip()!r}", timing.no)
    start, end = to_seconds(m.group(1)), to_seconds(m.group(2))
    for value, seconds in ((m.group(1), start), (m.group(2), end)):
        if seconds is None:
            raise ReaderError(path, f"bad timestamp {value!r} (expected {expected})", timing.no)
    if end < start:
        raise ReaderError(path, f"cue ends before it starts ({m.group(1)} --> {m.group(2)})", timing.no)
    return start, end


def apply_name_prefixes(cues: list[Cue], source: str) -> None:
    """Treat `Name: text` cue prefixes as speakers when they are consistent: the same few names, each used at
    least twice (a one-off `Note:` is not a speaker). A cue without a prefix continues the previous speaker."""
    if any(c.speaker for c in cues):
        return
    found = [_NAME_PREFIX.match(c.text) for c in cues]
    counts = Counter(m.group(1) for m in found if m)
    names = {n for n, k in counts.items() if k >= 2}
    if not names or len(names) > 12 or sum(counts[n] for n in names) < 3:
        return
    current = None
    for cue, m in zip(cues, found):
        if m and m.group(1) in names:
            current = m.group(1)
            cue.text = cue.text[m.end():]
            label = source.find(m.group(1) + ":", cue.text_start, cue.text_end)
            if label >= 0:  # the source text starts after the label, so citations do not include it
                cue.text_start = trim(source, label + len(m.group(1)) + 1, cue.text_end)[0]
        cue.speaker = current


def merge(cues: list[Cue]) -> list[Segment]:
    """Cues into paragraphs: a new one on a speaker change, a long pause, or a sentence end past ~120 words."""
    segments: list[Segment] = []
    group: list[Cue] = []
    words = 0
    for cue in cues:
        if not cue.text:
            continue
        if group:
            prev = group[-1]
            boundary = (cue.speaker != prev.speaker or cue.start - prev.end >= PAUSE or words >= MAX_WORDS
                        or (words >= PARAGRAPH_WORDS and _SENTENCE_END.search(prev.text)))
            if boundary:
                segments.append(_segment(group))
                group, words = [], 0
        group.append(cue)
        words += len(cue.text.split())
    if group:
        segments.append(_segment(group))
    return segments


def _segment(group: list[Cue]) -> Segment:
    return Segment(
        text=" ".join(c.text for c in group),
        char_start=group[0].text_start,
        char_end=group[-1].text_end,
        speaker=group[0].speaker,
        kind=Kind.transcript,
        start=group[0].start,
        end=max(c.end for c in group),
        markers=[(c.text_start, c.start) for c in group],
    )


def cue_document(path: Path, text: str, source: str, cues: list[Cue]) -> Document:
    """The transcript document of a cue file (SRT, WebVTT): speakers from consistent name prefixes, cues merged."""
    apply_name_prefixes(cues, text)
    return Document(id=slugify(path.name.split(".")[0]), title=title_from_path(path), source=source,
                    kind=Kind.transcript, segments=merge(cues))
