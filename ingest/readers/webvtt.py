"""WebVTT transcripts (Whisper and diarized exports): cues merged into paragraphs, speakers from tags.

Speakers come from the standard voice tag `<v Name>text</v>`, from the diarizers' `[Name]: text` prefix, or from
consistent `Name: text` prefixes; plain Whisper output has none.
"""
from __future__ import annotations

import re
from pathlib import Path

from core.models import Document
from ingest.readers.base import Reader, ReaderError, register
from ingest.readers.cues import Cue, Line, blocks, clean_cue, cue_document, cue_times, trim

_TIMING = re.compile(r"^\s*(\S+)[ \t]+-->[ \t]+(\S+)(?:[ \t]+.*)?$")
# MM:SS.mmm below an hour (Whisper), H:MM:SS.mmm or HH:MM:SS.mmm above
_CLOCK = re.compile(r"^(?:(\d{1,3}):)?(\d{1,2}):(\d{2})\.(\d{3})$")
_BRACKET_SPEAKER = re.compile(r"\s*\[([^\]\n]{1,60})\]:[ \t]*")
_VOICE = re.compile(r"<v(?:\.[\w.-]+)*[ \t]+([^>\n]+)>")
_SKIP_BLOCKS = ("NOTE", "STYLE", "REGION")


def vtt_seconds(value: str) -> float | None:
    """Seconds of a WebVTT timestamp, or None when it is not one (minutes and seconds must be below 60)."""
    m = _CLOCK.match(value)
    if not m:
        return None
    hours, minutes, seconds, millis = m.groups()
    if int(seconds) >= 60 or (hours is not None and int(minutes) >= 60):
        return None
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(millis) / 1000


@register
class WebVTTReader(Reader):
    name = "webvtt"
    extensions = (".vtt",)
    priority = 30

    @classmethod
    def sniff(cls, path: Path, text: str) -> bool:
        """A `.vtt` file is ours even with a broken header (so the error says why); other names need `WEBVTT`."""
        if path.suffix.lower() in cls.extensions:
            return True
        return text.startswith("WEBVTT") and "-->" in text[:2000]

    def read(self, path: Path, text: str, source: str) -> list[Document]:
        if not re.match(r"WEBVTT(?:[ \t]|\r?$|\r?\n)", text):
            raise ReaderError(path, "not WebVTT: the first line must be `WEBVTT`", 1)
        cues: list[Cue] = []
        for i, block in enumerate(blocks(text)):
            if i == 0 or block[0].text.startswith(_SKIP_BLOCKS):
                continue  # the header block, comments, styles
            cues += _cues(path, text, block)
        if not cues:
            raise ReaderError(path, "no cues after the WEBVTT header", 1)
        return [cue_document(path, text, source, cues)]


def _cues(path: Path, text: str, block: list[Line]) -> list[Cue]:
    """One block: optional cue id, the timing line, text lines (possibly several speakers by voice tags)."""
    at = next((k for k, line in enumerate(block[:2]) if "-->" in line.text), None)
    if at is None:
        raise ReaderError(path, "expected a cue timing line `start --> end`", block[0].no)
    timing = block[at]
    start, end = cue_times(path, timing, _TIMING, vtt_seconds, "MM:SS.mmm or HH:MM:SS.mmm")
    body = block[at + 1:]
    if not body:
        return []
    a, b = body[0].start, body[-1].start + len(body[-1].text)
    voices = list(_VOICE.finditer(text, a, b))
    if voices:
        parts = [(v.end(), voices[k + 1].start() if k + 1 < len(voices) else b, v.group(1).strip())
                 for k, v in enumerate(voices)]
        if voices[0].start() > a:  # text before the first voice tag
            parts.insert(0, (a, voices[0].start(), None))
    else:
        bracket = _BRACKET_SPEAKER.match(text, a, b)
        parts = [(bracket.end(), b, bracket.group(1).strip())] if bracket else [(a, b, None)]
    parts = [(*trim(text, s, e), speaker) for s, e, speaker in parts]
    return [Cue(start=start, end=end, text=clean_cue(text[s:e]), text_start=s, text_end=e, line=timing.no,
                speaker=speaker) for s, e, speaker in parts]
