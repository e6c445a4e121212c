"""SubRip (.srt) subtitles: numbered cues merged into paragraphs; consistent `Name: ` prefixes become speakers."""
from __future__ import annotations

import re
from pathlib import Path

from core.models import Document
from ingest.readers.base import Reader, ReaderError, register
from ingest.readers.cues import Cue, Line, blocks, clean_cue, cue_document, cue_times, trim

_TIMING = re.compile(r"^\s*(\S+)[ \t]+-->[ \t]+(\S+)(?:[ \t]+.*)?$")
_CLOCK = re.compile(r"^(\d{1,3}):(\d{2}):(\d{2})[,.](\d{1,3})$")  # HH:MM:SS,mmm ('.' is a common variant)
_HEAD = re.compile(r"\A\s*\d+[ \t]*\r?\n[ \t]*\d{1,3}:\d{2}:\d{2}[,.]\d{1,3}[ \t]+-->")


def srt_seconds(value: str) -> float | None:
    """Seconds of an SRT timestamp, or None when it is not one."""
    m = _CLOCK.match(value)
    if not m or int(m.group(2)) >= 60 or int(m.group(3)) >= 60:
        return None
    hours, minutes, seconds, millis = m.groups()
    return int(hours) * 3600 + int(minutes) * 60 + int(seconds) + int(millis.ljust(3, "0")) / 1000


@register
class SRTReader(Reader):
    name = "srt"
    extensions = (".srt",)
    priority = 30

    @classmethod
    def sniff(cls, path: Path, text: str) -> bool:
        """`.srt` files are ours (broken ones get a precise error); other names must open with `1` and a timing."""
        return path.suffix.lower() in cls.extensions or bool(_HEAD.match(text))

    def read(self, path: Path, text: str, source: str) -> list[Document]:
        cues = [cue for block in blocks(text) for cue in _cue(path, text, block)]
        if not cues:
            raise ReaderError(path, "no subtitle cues found", 1)
        return [cue_document(path, text, source, cues)]


def _cue(path: Path, text: str, block: list[Line]) -> list[Cue]:
    """Index line (optional in the wild), `HH:MM:SS,mmm --> HH:MM:SS,mmm`, then text lines."""
    at = 1 if block[0].text.strip().isdigit() else 0
    if at >= len(block) or "-->" not in block[at].text:
        where = block[at] if at < len(block) else block[0]
        reason = "cue has an index but no timing line" if at else "expected a cue index or timing line"
        raise ReaderError(path, reason, where.no)
    timing = block[at]
    start, end = cue_times(path, timing, _TIMING, srt_seconds, "HH:MM:SS,mmm")
    body = block[at + 1:]
    if not body:
        return []
    a, b = trim(text, body[0].start, body[-1].start + len(body[-1].text))
    return [Cue(start=start, end=end, text=clean_cue(text[a:b]), text_start=a, text_end=b, line=timing.no)]
