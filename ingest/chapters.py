"""Episode chapters: each timed segment gets the title of the chapter it starts in as its `section`.

Chapters come from the sidecar `chapters: [{"title", "start"}]` (start in seconds or a clock string), or from a
chapter file next to the transcript: `<name>.chapters.json` or `<name>_titles.json` (machine-made chapter titles,
`[{"title", "time"}]`). Sections matter because chunks never straddle two of them and search shows them.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from core.models import Document
from ingest.readers.base import ReaderError
from text.clock import parse_clock

Chapter = tuple[float, str]  # (start seconds, title)
TITLE_KEYS = ("title", "chapter_title", "name")
START_KEYS = ("start", "start_time", "time")
_CLOCK = re.compile(r"^\d{1,3}(?::\d{1,2}){1,2}(?:[.,]\d+)?$")


def parse_chapters(raw: Any, origin: str | Path) -> list[Chapter]:
    """Validate a chapter list and sort it by start; `origin` names the file in errors."""
    if not isinstance(raw, list):
        raise ReaderError(origin, "chapters must be a list of {title, start}")
    chapters: list[Chapter] = []
    for n, item in enumerate(raw, 1):
        title = next((item[k] for k in TITLE_KEYS if isinstance(item, dict) and isinstance(item.get(k), str)), None)
        start = next((item[k] for k in START_KEYS if isinstance(item, dict) and k in item), None)
        if title is None or start is None:
            raise ReaderError(origin, f"chapter {n} needs a title and a start")
        chapters.append((_seconds(start, origin, n), title.strip()))
    return sorted(chapters)


def _seconds(value: Any, origin: str | Path, n: int) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    if isinstance(value, str) and _CLOCK.match(value.strip()):
        return parse_clock(value)
    raise ReaderError(origin, f"chapter {n}: bad start {value!r} (seconds or H:MM:SS)")


def chapter_file(path: Path) -> Path | None:
    """A chapter list beside the transcript, named after it (`E01.mp3.vtt` -> `E01_titles.json`)."""
    stem = path.name.split(".")[0]
    for name in (f"{stem}.chapters.json", f"{stem}_titles.json"):
        candidate = path.with_name(name)
        if candidate.exists() and candidate != path:
            return candidate
    return None


def load_chapters(path: Path, meta: dict) -> list[Chapter]:
    """Chapters for the transcript at `path`: the sidecar's `chapters`, else a chapter file, else none."""
    if "chapters" in meta:
        return parse_chapters(meta["chapters"], path.with_name(path.name.split(".")[0] + ".meta.json"))
    found = chapter_file(path)
    if found is None:
        return []
    try:
        raw = json.loads(found.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ReaderError(found, f"invalid JSON: {exc}") from exc
    return parse_chapters(raw, found)


def apply_chapters(doc: Document, chapters: list[Chapter]) -> None:
    """Set each segment's section to the chapter it starts in. A segment starts at its own start time, else at a
    marker right at its beginning, else no earlier than the last time seen before it (sparse Markdown clocks);
    segments before the first chapter or with no time at all keep their section."""
    if not chapters:
        return
    starts = [c[0] for c in chapters]
    last: float | None = None
    for seg in doc.segments:
        t = seg.start
        if t is None and seg.markers and seg.markers[0][0] <= seg.char_start + 1:
            t = seg.markers[0][1]
        t = last if t is None else t
        if t is not None:
            k = sum(1 for s in starts if s <= t + 0.5) - 1  # half a second of slack for rounded chapter clocks
            if k >= 0:
                seg.section = chapters[k][1]
        times = [x for x in (seg.start, seg.end, *(s for _, s in seg.markers)) if x is not None]
        last = max([*times, last]) if times and last is not None else (max(times) if times else last)
