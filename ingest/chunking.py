"""Speaker-true chunking: long turns split at sentence ends, short turns merged, each chunk timed and located.

Times come from anchors (inline markers, cue or turn start/end) interpolated by word position, so a chunk that
starts between two minute markers gets the minute it really starts at.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from text.sentences import sentence_spans
from core.models import Chunk, Document, Kind, Sentence

_WORD = re.compile(r"\S+")
SECONDS_PER_WORD = 0.4  # ~150 words a minute, used only past the last anchor when no rate can be measured


@dataclass
class _Words:
    """The words of one segment: offsets in the cleaned text and in the source file."""

    spans: list[tuple[int, int]]  # in segment text
    source: list[tuple[int, int]]  # in the source file


@dataclass
class _Piece:
    seg: int
    lo: int  # word range within the segment
    hi: int

    @property
    def words(self) -> int:
        return self.hi - self.lo


def _align(doc_text: str, seg_text: str, a: int, b: int) -> _Words:
    """Find each word of the cleaned text in order in the source slice, so offsets point at the real text."""
    spans = [(m.start(), m.end()) for m in _WORD.finditer(seg_text)]
    source, pos = [], a
    for s, e in spans:
        word = seg_text[s:e]
        found = doc_text.find(word, pos, b)
        if found < 0:
            found = min(pos, b)
            source.append((found, found))
        else:
            source.append((found, found + len(word)))
            pos = found + len(word)
    return _Words(spans, source)


def _timeline(doc: Document, words: list[_Words]) -> list[np.ndarray | None]:
    """Seconds at each word boundary of each segment (len = words + 1), or None for untimed segments."""
    timed = [i for i, s in enumerate(doc.segments) if s.kind == Kind.transcript and words[i].spans]
    base, offsets = 0, {}
    for i in timed:
        offsets[i] = base
        base += len(words[i].spans)
    anchors: dict[int, float] = {}
    for i in timed:
        seg, w = doc.segments[i], words[i]
        if seg.start is not None:
            anchors[offsets[i]] = seg.start
        if seg.end is not None:
            anchors[offsets[i] + len(w.spans)] = seg.end
        for char, seconds in seg.markers:
            k = next((j for j, (s, _) in enumerate(w.source) if s >= char), len(w.source))
            anchors[offsets[i] + k] = seconds
    if not anchors:
        return [None] * len(doc.segments)
    xs = sorted(anchors)
    ys = np.maximum.accumulate([anchors[x] for x in xs])  # times never run backwards
    if xs[0] > 0:
        xs, ys = [0, *xs], np.concatenate([[0.0], ys])
    rate = (ys[-1] - ys[0]) / (xs[-1] - xs[0]) if xs[-1] > xs[0] and ys[-1] > ys[0] else SECONDS_PER_WORD
    grid = np.arange(base + 1, dtype=float)
    times = np.interp(grid, xs, ys)
    tail = grid > xs[-1]
    times[tail] = ys[-1] + (grid[tail] - xs[-1]) * rate
    out: list[np.ndarray | None] = [None] * len(doc.segments)
    for i in timed:
        out[i] = times[offsets[i]: offsets[i] + len(words[i].spans) + 1]
    return out


def _pieces(seg_text: str, w: _Words, max_words: int, seg: int) -> list[_Piece]:
    """Split a segment into near-equal pieces of whole sentences, none longer than max_words."""
    n = len(w.spans)
    if n <= max_words:
        return [_Piece(seg, 0, n)] if n else []
    starts = [s for s, _ in w.spans]
    bounds = sorted({sum(1 for x in starts if x < a) for a, _ in sentence_spans(seg_text)} | {n})
    target = n / math.ceil(n / max_words)
    pieces, lo, prev = [], 0, 0
    for cut in bounds:
        if cut <= lo:
            continue
        if cut - lo > max_words and prev > lo:  # close the piece at the last sentence end that fits
            pieces.append(_Piece(seg, lo, prev))
            lo = prev
        while cut - lo > max_words:  # a sentence longer than a chunk: cut it by words
            pieces.append(_Piece(seg, lo, lo + max_words))
            lo += max_words
        if cut - lo >= target or cut == n:
            pieces.append(_Piece(seg, lo, cut))
            lo = cut
        prev = cut
    return pieces


def chunk_document(doc: Document, source_text: str, max_words: int = 200, min_words: int = 60) -> list[Chunk]:
    words = [_align(source_text, s.text, s.char_start, s.char_end) for s in doc.segments]
    times = _timeline(doc, words)
    groups: list[list[_Piece]] = []
    for i, seg in enumerate(doc.segments):
        for piece in _pieces(seg.text, words[i], max_words, i):
            cur = groups[-1] if groups else None
            if cur and _mergeable(doc, cur, piece, max_words, min_words):
                cur.append(piece)
            else:
                groups.append([piece])
    return [_chunk(doc, g, n, words, times) for n, g in enumerate(groups)]


def _mergeable(doc: Document, group: list[_Piece], piece: _Piece, max_words: int, min_words: int) -> bool:
    first, new = doc.segments[group[0].seg], doc.segments[piece.seg]
    if (first.kind, first.section) != (new.kind, new.section):
        return False
    size = sum(p.words for p in group)
    if size + piece.words > max_words:
        return False
    if group[-1].seg == piece.seg:  # pieces of one turn were already balanced
        return False
    return size < min_words or piece.words < min_words // 2


def _chunk(doc: Document, group: list[_Piece], ordinal: int, words: list[_Words],
           times: list[np.ndarray | None]) -> Chunk:
    per_speaker: dict[str, int] = {}
    for p in group:
        sp = doc.segments[p.seg].speaker
        if sp:
            per_speaker[sp] = per_speaker.get(sp, 0) + p.words
    multi = len(per_speaker) > 1
    parts: list[str] = []
    sentences: list[Sentence] = []
    offset = 0  # where the part starts in the chunk text
    for p in group:
        seg, w = doc.segments[p.seg], words[p.seg]
        body = seg.text[w.spans[p.lo][0]: w.spans[p.hi - 1][1]]
        prefix = f"{seg.speaker}: " if multi and seg.speaker else ""
        sentences += _sentences(body, offset + len(prefix), seg.speaker, p, w, times[p.seg])
        parts.append(prefix + body)
        offset += len(parts[-1]) + 1  # the parts are joined by newlines
    first, last = group[0], group[-1]
    t0, t1 = times[first.seg], times[last.seg]
    seg0, seg1 = doc.segments[first.seg], doc.segments[last.seg]
    start = float(t0[first.lo]) if t0 is not None else None
    end = float(t1[last.hi]) if t1 is not None else None
    if first.lo == 0 and seg0.start is not None:  # a turn's own times beat interpolation
        start = seg0.start
    if last.hi == len(words[last.seg].spans) and seg1.end is not None:  # so a pause after it isn't counted
        end = seg1.end
    return Chunk(
        episode_id=doc.id,
        episode_title=doc.title,
        ordinal=ordinal,
        text="\n".join(parts),
        speaker=max(per_speaker, key=per_speaker.get) if per_speaker else None,
        speakers=list(per_speaker),
        start=round(start, 1) if start is not None else None,
        end=round(end, 1) if end is not None else None,
        char_start=words[first.seg].source[first.lo][0],
        char_end=words[last.seg].source[last.hi - 1][1],
        source=doc.source,
        kind=seg0.kind,
        section=seg0.section,
        sentences=sentences,
    )


def _sentences(body: str, offset: int, speaker: str | None, piece: _Piece, w: _Words,
               times: np.ndarray | None) -> list[Sentence]:
    """The sentences of one part of a chunk: offsets in the chunk text and in the source file (through the word
    alignment), and the time of their first word, so an answer can quote one sentence and cite its minute."""
    base = w.spans[piece.lo][0]
    starts = [s - base for s, _ in w.spans[piece.lo:piece.hi]]
    out = []
    for a, b in sentence_spans(body):
        inside = [j for j, s in enumerate(starts) if a <= s < b]
        if not inside:
            continue
        first, last = piece.lo + inside[0], piece.lo + inside[-1]
        out.append(Sentence(start=offset + a, end=offset + b, char_start=w.source[first][0],
                            char_end=w.source[last][1], speaker=speaker,
                            seconds=round(float(times[first]), 1) if times is not None else None))
    return out
