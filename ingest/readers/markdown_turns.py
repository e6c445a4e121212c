"""Markdown transcripts with bold speaker labels (Changelog style): `**Name:** text`, one paragraph per turn.

A paragraph without a label continues the turn. Escaped inline clocks such as `\\[04:22\\]` or `\\[01:02:09.27\\]`
are time markers and leave the text; other escaped brackets (`\\[laughs\\]`, `\\[unintelligible 00:05:45.20\\]`,
`\\[win alert\\]`; in the Changelog corpus nearly all are sounds) are never times and are dropped from the text.
"""
from __future__ import annotations

import re
from pathlib import Path

from core.models import Document, Kind, Segment
from ingest.readers.base import Reader, register
from ingest.readers.notes import title_from_path
from ingest.text import clean, paragraphs, slugify
from text.clock import parse_clock

_LABEL = re.compile(r"\*\*([^*\n]{1,80}?):\*\*[ \t]*|\*\*([^*:\n]{1,80})\*\*:[ \t]*")
_LABEL_LINE = re.compile(r"^(?:\*\*[^*\n]{1,80}?:\*\*|\*\*[^*:\n]{1,80}\*\*:)(?:[ \t]|\r?$)", re.M)
# the whole bracket content is a clock (optionally with stray escapes); not a Markdown link text `[12:30](url)`
TIMESTAMP = re.compile(r"\\?\[\\*(\d{1,3}:\d{2}(?::\d{2})?(?:\.\d+)?)\\*\\?\](?!\()")
_ESCAPED = re.compile(r"\\\[([^\]\n]{1,80}?)\\\]")
_HEADING = re.compile(r"#{1,6}[ \t]+(.+?)[ \t#]*$")
NOT_SPEAKERS = {"break", "outro", "intro", "music", "ad", "ads", "sponsor", "jingle", "teaser", "transition"}
MIN_TURNS = 3


def _words_of(raw: str) -> str:
    """Turn text for search: clocks and escaped non-speech marks removed (what is left is verbatim source)."""
    return clean(_ESCAPED.sub(" ", TIMESTAMP.sub(" ", raw)))


@register
class MarkdownTurnsReader(Reader):
    name = "markdown-turns"
    extensions = (".md", ".markdown", ".txt")
    priority = 35  # before discussion threads (40) and plain notes (90); after the corpus blog export (20)

    @classmethod
    def sniff(cls, path: Path, text: str) -> bool:
        """Several lines that open with a bold `**Name:**` label, or one that opens the file (a solo episode)."""
        if path.suffix.lower() not in cls.extensions:
            return False
        return len(_LABEL_LINE.findall(text)) >= MIN_TURNS or bool(_LABEL_LINE.match(text.lstrip()))

    def read(self, path: Path, text: str, source: str) -> list[Document]:
        spans: list[list] = []  # [speaker, start, end, section, kind]
        section: str | None = None
        for a, b in paragraphs(text):
            heading = _HEADING.match(text, a, b)
            if heading and "\n" not in text[a:b]:
                section, spans = heading.group(1).strip(), spans + [None]  # a heading ends the turn
                continue
            label = _LABEL.match(text, a, b)
            if label:
                name = (label.group(1) or label.group(2)).split(":")[0].strip()
                speaker = None if name.lower() in NOT_SPEAKERS else name
                spans.append([speaker, label.end(), b, section, Kind.transcript])
            elif spans and spans[-1] is not None:
                spans[-1][2] = b
            else:  # prose before the first turn or right under a heading
                spans.append([None, a, b, section, Kind.note])
        return [Document(id=slugify(path.name.split(".")[0]), title=title_from_path(path), source=source,
                         kind=Kind.transcript, segments=_segments(text, [s for s in spans if s is not None]))]


def _segments(text: str, spans: list[list]) -> list[Segment]:
    """Text and time markers per turn; markers of a turn with no words (`**Break**: \\[24:52\\]`) carry over."""
    segments: list[Segment] = []
    pending: list[tuple[int, float]] = []
    for speaker, a, b, section, kind in spans:
        raw = text[a:b]
        pending += [(a + m.start(), parse_clock(m.group(1))) for m in TIMESTAMP.finditer(raw)]
        words = _words_of(raw)
        if not words:
            continue
        segments.append(Segment(text=words, char_start=a, char_end=b, speaker=speaker, kind=kind, section=section,
                                markers=pending))
        pending = []
    return segments
