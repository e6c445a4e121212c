"""Blog exports of a podcast: `•` bullet post titles, write-ups, book notes, and `Name: [HH:MM:SS]` transcripts."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from ingest.readers.base import Reader, register
from ingest.text import clean, is_heading, paragraphs, slugify
from text.clock import parse_clock
from core.models import Document, Kind, Segment

_BULLET = re.compile(r"^[ \t]*•[ \t]+(\S.*?)[ \t]*$", re.M)
_TRANSCRIPT = re.compile(r"^(?:here is the )?transcript\b[^\n]{0,40}$", re.I)
_TURN = re.compile(r"([A-Z][\w’'.-]*(?: [A-Z][\w’'.-]*){0,2}):[ \t]+(?=\S)")
MARKER = re.compile(r"\[(\d{1,2}:\d{2}:\d{2})\]")
NOT_SPEAKERS = {"example", "transcript", "note", "summary", "question", "answer", "references", "update", "author"}


def post_titles(text: str) -> list[re.Match]:
    """Bullet lines whose text is repeated as the next non-empty line: that is how a post starts."""
    titles = []
    for m in _BULLET.finditer(text):
        rest = text[m.end():].lstrip()
        if rest.startswith(m.group(1)):
            titles.append(m)
    return titles


@register
class PodcastBlogReader(Reader):
    name = "podcast-blog"
    extensions = (".txt", ".md")
    priority = 20

    @classmethod
    def sniff(cls, path: Path, text: str) -> bool:
        return path.suffix.lower() in cls.extensions and len(post_titles(text)) >= 1 and "•" in text[:2000]

    def read(self, path: Path, text: str, source: str) -> list[Document]:
        titles = post_titles(text)
        docs, seen = [], Counter()
        for i, m in enumerate(titles):
            body_start = text.index(m.group(1), m.end()) + len(m.group(1))
            body_end = titles[i + 1].start() if i + 1 < len(titles) else len(text)
            title = m.group(1)
            slug = slugify(title)
            seen[slug] += 1
            doc_id = slug if seen[slug] == 1 else f"{slug}-{seen[slug]}"
            docs.append(self._post(text, body_start, body_end, title, doc_id, source))
        return docs

    def _post(self, text: str, start: int, end: int, title: str, doc_id: str, source: str) -> Document:
        blocks = list(paragraphs(text, start, end))
        cut = next((i for i, (a, b) in enumerate(blocks) if _TRANSCRIPT.match(text[a:b].strip())), None)
        writeup = blocks if cut is None else blocks[:cut]
        kind = Kind.note if cut is None else Kind.summary
        segments = _prose_segments(text, writeup, kind, title)
        speakers: dict[str, str] = {}
        roles: dict[str, str] = {}
        if cut is not None:
            turns = _turns(text, blocks[cut + 1:])
            speakers = _full_names(text[start:end], {s.speaker for s in turns if s.speaker})
            roles = _roles(text[start:end], speakers)
            segments += turns
        doc_kind = Kind.transcript if cut is not None else Kind.note
        return Document(id=doc_id, title=title, source=source, kind=doc_kind, segments=segments, speakers=speakers,
                        roles=roles)


def _prose_segments(text: str, blocks: list[tuple[int, int]], kind: Kind, title: str) -> list[Segment]:
    """Paragraphs under their most recent heading; headings themselves become section names."""
    segments, section = [], title
    for a, b in blocks:
        block = text[a:b]
        if is_heading(block):
            section = clean(block).lstrip("#").strip()
            continue
        segments.append(Segment(text=clean(block), char_start=a, char_end=b, kind=kind, section=section))
    return segments


def _turns(text: str, blocks: list[tuple[int, int]]) -> list[Segment]:
    """Group paragraphs into speaker turns; a paragraph without a `Name:` prefix continues the current turn."""
    turns: list[Segment] = []
    for a, b in blocks:
        m = _TURN.match(text, a, b)
        name = m.group(1) if m else None
        if name and name.lower() not in NOT_SPEAKERS:
            turns.append(Segment(text="", char_start=m.end(), char_end=b, speaker=name, kind=Kind.transcript))
        elif turns:
            turns[-1].char_end = b
        else:  # transcript prose before the first turn
            turns.append(Segment(text="", char_start=a, char_end=b, kind=Kind.transcript))
    for seg in turns:
        raw = text[seg.char_start:seg.char_end]
        seg.markers = [(seg.char_start + mm.start(), parse_clock(mm.group(1))) for mm in MARKER.finditer(raw)]
        seg.text = clean(MARKER.sub(" ", raw))
    return [t for t in turns if t.text]


def _full_names(post: str, short_names: set[str]) -> dict[str, str]:
    """`Maria` -> `Maria Bracho`: the most frequent capitalised surname following the first name in the post."""
    names = {}
    for short in sorted(short_names):
        if " " in short:
            names[short] = short
            continue
        found = Counter(re.findall(rf"\b{re.escape(short)} ([A-Z][a-z’'-]+(?: [A-Z][a-z’'-]+)?)\b", post))
        surnames = Counter({k.split()[0]: v for k, v in found.items() if k.split()[0] not in {"I", "And", "The"}})
        names[short] = f"{short} {surnames.most_common(1)[0][0]}" if surnames else short
    return names


def _roles(post: str, full_names: dict[str, str]) -> dict[str, str]:
    """Role as the post introduces a speaker in apposition: "Tamar Bercovici, VP of Engineering at Box"."""
    roles = {}
    for short, full in full_names.items():
        names = "|".join(re.escape(n) for n in dict.fromkeys([full, short]))
        m = re.search(rf"\b(?:{names}),\s+(?:the\s+|a\s+)?([A-Z][^.,;:()\n]{{2,80}}?\bat\s+[A-Z][^.,;:()\n]{{1,40}}?)"
                      rf"(?=[.,;:()\n]|\s+(?:and|who|has|is|describes)\b)", post)
        if m:
            roles[short] = m.group(1)
    return roles
