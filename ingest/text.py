"""Small text helpers for the readers: paragraphs with offsets, headings, slugs."""
from __future__ import annotations

import re
from collections.abc import Iterator

_BLANK_SPLIT = re.compile(r"\n[ \t]*\n")
_SLUG = re.compile(r"[^a-z0-9]+")
_END_PUNCT = tuple(".?!,;:…\"”)")


def paragraphs(text: str, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int]]:
    """Spans of blank-line separated blocks, trimmed of surrounding whitespace."""
    end = len(text) if end is None else end
    pos = start
    for m in _BLANK_SPLIT.finditer(text, start, end):
        yield from _trimmed(text, pos, m.start())
        pos = m.end()
    yield from _trimmed(text, pos, end)


def trim(text: str, a: int, b: int) -> tuple[int, int]:
    """The span without surrounding whitespace, so offsets and citations start at the first word."""
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


def _trimmed(text: str, a: int, b: int) -> Iterator[tuple[int, int]]:
    a, b = trim(text, a, b)
    if b > a:
        yield a, b


def clean(text: str) -> str:
    """Collapse runs of whitespace inside lines and drop indentation, keeping line breaks."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def is_heading(block: str) -> bool:
    """A one-line block that reads like a title: short, capitalised, no sentence punctuation at the end."""
    if "\n" in block.strip():
        return False
    line = block.strip().lstrip("#").strip()
    if not line or len(line.split()) > 12 or len(line) > 90:
        return False
    if block.strip().startswith("#"):
        return True
    if line.startswith(("•", "*", "-", ">", "[")):
        return False
    return line[0].isupper() and not line.endswith(_END_PUNCT)


def slugify(value: str, limit: int = 60) -> str:
    slug = _SLUG.sub("-", value.lower().replace("’", "").replace("'", "")).strip("-")
    return slug[:limit].rstrip("-") or "untitled"
