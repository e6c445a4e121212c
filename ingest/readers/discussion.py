"""Discussion threads (forum or Hacker News style): one comment per line, `>` quotes, `--` between threads."""
from __future__ import annotations

import re
from pathlib import Path

from ingest.readers.base import Reader, register
from ingest.readers.notes import title_from_path
from ingest.text import slugify
from core.models import Document, Kind, Segment

_LINE = re.compile(r"[^\n]+")


@register
class DiscussionReader(Reader):
    name = "discussion"
    extensions = (".txt", ".md")
    priority = 40

    @classmethod
    def sniff(cls, path: Path, text: str) -> bool:
        lines = text.splitlines()
        quotes = sum(1 for line in lines if line.startswith("> "))
        separators = sum(1 for line in lines if line.strip() == "--")
        return path.suffix.lower() in cls.extensions and quotes >= 3 and separators >= 1 and "\n#" not in text

    def read(self, path: Path, text: str, source: str) -> list[Document]:
        segments: list[Segment] = []
        thread, quote_start = 1, None
        for m in _LINE.finditer(text):
            line = m.group().strip()
            if not line:
                continue
            if line == "--":
                thread += 1
                quote_start = None
                continue
            if line.startswith(">"):  # a quote belongs with the reply under it
                quote_start = m.start() if quote_start is None else quote_start
                continue
            start = quote_start if quote_start is not None else m.start()
            quote_start = None
            segments.append(Segment(text=" ".join(text[start:m.end()].split()), char_start=start, char_end=m.end(),
                                    kind=Kind.discussion, section=f"Thread {thread}"))
        return [Document(id=slugify(path.name.split(".")[0]), title=title_from_path(path), source=source,
                         kind=Kind.discussion, segments=segments)]
