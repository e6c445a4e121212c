"""Chapters from the sidecar or a `<name>_titles.json` file become segment sections."""
from __future__ import annotations

import json

import pytest

from core.models import Document, Kind, Segment
from ingest.chapters import apply_chapters, load_chapters, parse_chapters
from ingest.chunking import chunk_document
from ingest.pipeline import read_file
from ingest.readers import ReaderError

VTT = """WEBVTT

00:00.000 --> 00:04.000
[Host]: Welcome to the show about farming.

00:04.000 --> 00:08.000
[Host]: First the history of the land laws.

01:00.000 --> 01:05.000
[Guest]: Now the markets, which changed a lot.

1:00:00.000 --> 1:00:04.000
[Host]: Thanks for listening.
"""


def test_parse_chapters_accepts_seconds_and_clocks_and_sorts():
    raw = [{"title": "Markets", "start": "0:01:00"}, {"title": "Intro", "start": 0},
           {"chapter_title": "Outro", "start_time": "1:00:00"}, {"title": "Laws", "time": "00:00:04.000"}]
    assert parse_chapters(raw, "x.meta.json") == [(0.0, "Intro"), (4.0, "Laws"), (60.0, "Markets"), (3600.0, "Outro")]


@pytest.mark.parametrize("raw, why", [
    ({"title": "x"}, "must be a list"),
    ([{"title": "Intro"}], "chapter 1 needs a title and a start"),
    ([{"title": "Intro", "start": 0}, {"title": "Later", "start": "soon"}], "chapter 2: bad start 'soon'"),
])
def test_bad_chapters_are_reader_errors(raw, why):
    with pytest.raises(ReaderError, match=why):
        parse_chapters(raw, "ep.meta.json")


def test_sidecar_chapters_set_sections_and_chunks_follow_them(tmp_path):
    (tmp_path / "ep.vtt").write_text(VTT, encoding="utf-8")
    chapters = [{"title": "Intro", "start": 0}, {"title": "Land laws", "start": "0:00:04"},
                {"title": "Markets", "start": 60}, {"title": "Goodbye", "start": "1:00:00"}]
    (tmp_path / "ep.meta.json").write_text(json.dumps({"title": "Farming", "chapters": chapters}), encoding="utf-8")
    [doc], text = read_file(tmp_path / "ep.vtt")
    assert doc.title == "Farming"
    # the two Host cues are one turn, so the turn takes the chapter it starts in
    assert [(s.speaker, s.section) for s in doc.segments] == [
        ("Host", "Intro"), ("Guest", "Markets"), ("Host", "Goodbye")]
    out = chunk_document(doc, text)  # short turns would merge, but never across a chapter
    assert [(c.section, c.start) for c in out] == [("Intro", 0.0), ("Markets", 60.0), ("Goodbye", 3600.0)]


def test_titles_file_beside_the_transcript_is_picked_up(tmp_path):
    (tmp_path / "E01.mp3.vtt").write_text(VTT, encoding="utf-8")
    titles = [{"title": "Agriculture", "time": "00:00:00.000", "title_prob": -0.8},
              {"title": "Markets in India", "time": "00:00:59.000", "title_prob": -0.7}]
    (tmp_path / "E01_titles.json").write_text(json.dumps(titles), encoding="utf-8")
    assert load_chapters(tmp_path / "E01.mp3.vtt", {}) == [(0.0, "Agriculture"), (59.0, "Markets in India")]
    [doc], _ = read_file(tmp_path / "E01.mp3.vtt")
    assert [s.section for s in doc.segments] == ["Agriculture", "Markets in India", "Markets in India"]


def test_untimed_segments_take_the_last_time_seen():
    segs = [Segment(text="a", char_start=0, char_end=1, kind=Kind.transcript, markers=[(0, 100.0)]),
            Segment(text="b", char_start=2, char_end=3, kind=Kind.transcript),
            Segment(text="c", char_start=4, char_end=9, kind=Kind.transcript, markers=[(6, 400.0)]),  # mid-turn
            Segment(text="d", char_start=10, char_end=11, kind=Kind.transcript)]
    doc = Document(id="d", title="d", source="d.md", kind=Kind.transcript, segments=segs)
    apply_chapters(doc, [(0.0, "One"), (300.0, "Two")])
    assert [s.section for s in doc.segments] == ["One", "One", "One", "Two"]
