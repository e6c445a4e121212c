"""Shared checks for the transcript-reader tests: chunks must trace back to the exact source characters."""
from __future__ import annotations

import re
from pathlib import Path

from core.models import Chunk, Document
from ingest.chunking import chunk_document
from ingest.readers import reader_for


def read(tmp_path: Path, name: str, text: str) -> tuple[str, Document, str]:
    """Write a fixture, let the factory pick its reader, and return (reader name, the one document, text)."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    reader = reader_for(path, text)
    [doc] = reader.read(path, text, name)
    return reader.name, doc, text


def chunks(doc: Document, text: str, **kw) -> list[Chunk]:
    """Chunk and check that every chunk's words occur, in order, inside its cited source span."""
    out = chunk_document(doc, text, **kw)
    for c in out:
        span = text[c.char_start:c.char_end]
        pos = 0
        for line in c.text.split("\n"):
            body = re.sub(r"^[^:\n]{1,40}: ", "", line) if len(c.speakers) > 1 else line
            for word in body.split():
                found = span.find(word, pos)
                assert found >= 0, f"{word!r} of chunk {c.ordinal} not in its source span {span[:80]!r}"
                pos = found + len(word)
    return out
