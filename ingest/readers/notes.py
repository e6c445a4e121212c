"""Notes, essays and Markdown documents without speakers: one document, split into sections by its headings."""
from __future__ import annotations

import re
from pathlib import Path

from ingest.readers.base import Reader, register
from ingest.text import clean, is_heading, paragraphs, slugify, trim
from core.models import Document, Kind, Segment

_MD_HEADING = re.compile(r"^[ \t]*#{1,6}[ \t]+(.+?)[ \t#]*$", re.M)
_CLOSING_HASHES = re.compile(r"[ \t]+#+$")


def title_from_path(path: Path) -> str:
    stem = path.name.split(".")[0]
    words = re.sub(r"[_\-]+", " ", stem).strip()
    return words[:1].upper() + words[1:] if words else path.name


@register
class NotesReader(Reader):
    name = "notes"
    extensions = (".md", ".markdown", ".txt", ".text")
    priority = 90  # the fallback for any plain text

    @classmethod
    def sniff(cls, path: Path, text: str) -> bool:
        return path.suffix.lower() in cls.extensions

    def read(self, path: Path, text: str, source: str) -> list[Document]:
        title = title_from_path(path)
        segments: list[Segment] = []
        section: str | None = None
        for a, b in paragraphs(text):
            for a, b in _split_markdown_headings(text, a, b):
                block = text[a:b]
                if is_heading(block):
                    section = _CLOSING_HASHES.sub("", clean(block).lstrip("#").strip())  # `## Title ##`
                    continue
                segments.append(Segment(text=clean(block), char_start=a, char_end=b, kind=Kind.note, section=section))
        return [Document(id=slugify(path.name.split(".")[0]), title=title, source=source, kind=Kind.note,
                         segments=segments)]


def _split_markdown_headings(text: str, a: int, b: int) -> list[tuple[int, int]]:
    """A `## heading` line glued to the paragraph below it is its own block."""
    spans, pos = [], a
    for m in _MD_HEADING.finditer(text, a, b):
        if m.start() > pos:
            spans.append((pos, m.start()))
        spans.append((m.start(), m.end()))
        pos = m.end()
    if pos < b:
        spans.append((pos, b))
    return [(x, y) for x, y in (trim(text, s, e) for s, e in spans) if y > x]
