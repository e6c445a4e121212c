"""JSON speaker turns from diarized ASR and chat exports; consecutive turns by one speaker form one segment.

Shapes: `[{"text", "start_time", "end_time", "speaker"}]`, `[{"speaker", "time", "message"}]`, also
`{"segments": [...]}` / `{"turns": [...]}` and `start`/`end` keys. Times are seconds or clock strings. The file is
scanned (not only parsed) so each turn's text keeps its character span in the source for citations.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.models import Document, Kind, Segment
from ingest.readers.base import Reader, ReaderError, register
from ingest.readers.notes import title_from_path
from ingest.text import slugify
from text.clock import parse_clock

TEXT_KEYS = ("text", "message")
START_KEYS = ("start_time", "time", "start")
END_KEYS = ("end_time", "end")
WRAPPERS = ("segments", "turns")
_WS = re.compile(r"\s*")
_CLOCK = re.compile(r"^\d{1,3}(?::\d{1,2}){1,2}(?:[.,]\d+)?$")
_DECODER = json.JSONDecoder()


@dataclass
class _Turn:
    speaker: str | None
    text: str
    start: float | None
    end: float | None
    text_start: int  # span of the text string's contents in the source
    text_end: int


@register
class JSONTurnsReader(Reader):
    name = "json-turns"
    extensions = (".json",)
    priority = 30

    @classmethod
    def sniff(cls, path: Path, text: str) -> bool:
        """Every `.json` document is ours, so JSON of the wrong shape gets an error saying what was expected."""
        return path.suffix.lower() in cls.extensions

    def read(self, path: Path, text: str, source: str) -> list[Document]:
        try:
            json.loads(text)
        except ValueError as exc:
            raise ReaderError(path, f"invalid JSON: {getattr(exc, 'msg', exc)}", getattr(exc, "lineno", None)) from exc
        items = _turn_items(path, text)
        if not items:
            raise ReaderError(path, "the list of speaker turns is empty", 1)
        turns = [_turn(path, text, a, value) for a, value in items]
        return [Document(id=slugify(path.name.split(".")[0]), title=title_from_path(path), source=source,
                         kind=Kind.transcript, segments=_merge(turns))]


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _skip(text: str, pos: int) -> int:
    return _WS.match(text, pos).end()


def _turn_items(path: Path, text: str) -> list[tuple[int, Any]]:
    """(offset, value) of each element of the turns array: the top-level list or a `segments`/`turns` member."""
    pos = _skip(text, 0)
    if text.startswith("[", pos):
        return _array(text, pos)
    if text.startswith("{", pos):
        pos = _skip(text, pos + 1)
        while not text.startswith("}", pos):
            key, pos = _DECODER.raw_decode(text, pos)
            pos = _skip(text, _skip(text, pos) + 1)  # past ':'
            if key in WRAPPERS and text.startswith("[", pos):
                return _array(text, pos)
            _, pos = _DECODER.raw_decode(text, pos)
            pos = _skip(text, pos)
            pos = _skip(text, pos + 1) if text.startswith(",", pos) else pos
        raise ReaderError(path, f"expected a list of speaker turns or an object with {' or '.join(WRAPPERS)!s}", 1)
    raise ReaderError(path, "expected a list of speaker turns", _line(text, pos))


def _array(text: str, pos: int) -> list[tuple[int, Any]]:
    items, pos = [], _skip(text, pos + 1)
    while not text.startswith("]", pos):
        value, end = _DECODER.raw_decode(text, pos)
        items.append((pos, value))
        pos = _skip(text, end)
        pos = _skip(text, pos + 1) if text.startswith(",", pos) else pos
    return items


def _turn(path: Path, text: str, at: int, item: Any) -> _Turn:
    line = _line(text, at)
    if not isinstance(item, dict):
        raise ReaderError(path, f"a turn must be an object, got {type(item).__name__}", line)
    key = next((k for k in TEXT_KEYS if isinstance(item.get(k), str)), None)
    if key is None:
        keys = ", ".join(sorted(item)) or "none"
        raise ReaderError(path, f"turn has no text (expected one of {'/'.join(TEXT_KEYS)}; keys: {keys})", line)
    speaker = item.get("speaker")
    if speaker is not None and not isinstance(speaker, str | int):
        raise ReaderError(path, "speaker must be a string", line)
    s, e = _string_span(text, at, key)
    name = (str(speaker).strip() or None) if speaker is not None else None
    return _Turn(speaker=name, text=" ".join(item[key].split()), start=_time(path, item, START_KEYS, line),
                 end=_time(path, item, END_KEYS, line), text_start=s, text_end=e)


def _string_span(text: str, at: int, key: str) -> tuple[int, int]:
    """Where the value of `key` in the object at `at` sits in the source (contents, without the quotes)."""
    pos = _skip(text, at + 1)
    while not text.startswith("}", pos):
        name, pos = _DECODER.raw_decode(text, pos)
        pos = _skip(text, _skip(text, pos) + 1)
        _, end = _DECODER.raw_decode(text, pos)
        if name == key:
            return pos + 1, end - 1
        pos = _skip(text, end)
        pos = _skip(text, pos + 1) if text.startswith(",", pos) else pos
    return at, at  # unreachable for a validated object


def _time(path: Path, item: dict, keys: tuple[str, ...], line: int) -> float | None:
    key = next((k for k in keys if k in item and item[k] is not None), None)
    if key is None:
        return None
    value = item[key]
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ReaderError(path, f"bad time in {key!r}: {value!r}", line)
    if isinstance(value, str):
        if not _CLOCK.match(value.strip()):
            raise ReaderError(path, f"bad time in {key!r}: {value!r} (expected seconds or H:MM:SS)", line)
        value = parse_clock(value)
    if value < 0:
        raise ReaderError(path, f"negative time in {key!r}: {value!r}", line)
    return float(value)


def _merge(turns: list[_Turn]) -> list[Segment]:
    """Consecutive turns by the same speaker become one segment, with one time marker per turn."""
    segments: list[Segment] = []
    for t in turns:
        if not t.text:
            continue
        last = segments[-1] if segments else None
        if last is not None and last.speaker == t.speaker:
            last.text += " " + t.text
            last.char_end = t.text_end
            last.end = t.end  # an end the last turn does not give is unknown, not the previous turn's
        else:
            last = Segment(text=t.text, char_start=t.text_start, char_end=t.text_end, speaker=t.speaker,
                           kind=Kind.transcript, start=t.start, end=t.end)
            segments.append(last)
        if t.start is not None:
            last.markers.append((t.text_start, t.start))
    return segments
