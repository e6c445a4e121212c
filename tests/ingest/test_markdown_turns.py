"""Markdown `**Name:**` transcripts: turns, continuation paragraphs, escaped clocks vs non-speech marks, priority."""
from __future__ import annotations

from pathlib import Path

import pytest

from core.models import Kind
from ingest.pipeline import decode, discover
from ingest.readers import reader_for
from ingest.readers.markdown_turns import TIMESTAMP, MarkdownTurnsReader
from text.clock import parse_clock
from tests.conftest import REPO
from tests.ingest.transcript_checks import chunks, read

EPISODE = r"""**Carmen Andoh:** Welcome, everybody, to Go Time! \[laughs\] Today is the 100th episode.

**Jon Calhoun:** Hi, everybody!

**Rob Pike:** \[04:22\] Forty five minutes.

\[08:23\] So we had worked together a lot, and I recruited him very hard to come to Google.

And that was it, really.

**Carmen Andoh:** The budget was \[unintelligible 00:05:45.20\] pretty minimal. We asked \[the Go team\] anyway.

**Break**: \[01:02:09.27\]

**Robert Griesemer:** Back from the break we talk about generics.
"""


@pytest.mark.parametrize("mark, seconds", [
    (r"\[04:22\]", 262.0), (r"\[01:02:09.27\]", 3729.27), (r"\[1:02:09\]", 3729.0), (r"\[102:09\]", 6129.0),
    (r"\[\\00:10:00.00\]", 600.0), (r"\[00:10:00.00\\\]", 600.0), ("[00:00:30]", 30.0),
])
def test_timestamps_with_and_without_hours(mark, seconds):
    m = TIMESTAMP.search(f"text {mark} more")
    assert m and m.group(0) == mark
    assert parse_clock(m.group(1)) == pytest.approx(seconds)


@pytest.mark.parametrize("mark", [r"\[laughs\]", r"\[unintelligible 00:05:45.20\]", r"\[jingle 00:01:02.03\]",
                                  "[12:30](https://example.com/clip)", "[1.10]"])
def test_non_speech_marks_and_links_are_not_timestamps(mark):
    assert TIMESTAMP.search(f"text {mark} more") is None


def test_turns_continuations_and_markers(tmp_path):
    name, doc, text = read(tmp_path, "go-time-100.md", EPISODE)
    assert name == "markdown-turns" and doc.kind == Kind.transcript and doc.id == "go-time-100"
    assert [s.speaker for s in doc.segments] == [
        "Carmen Andoh", "Jon Calhoun", "Rob Pike", "Carmen Andoh", "Robert Griesemer"]
    carmen, _, rob, carmen2, robert = doc.segments
    assert carmen.text == "Welcome, everybody, to Go Time! Today is the 100th episode."  # [laughs] dropped
    assert carmen.markers == []
    assert rob.text.split("\n") == ["Forty five minutes.",
                                    "So we had worked together a lot, and I recruited him very hard to come to Google.",
                                    "And that was it, really."]
    assert rob.markers == [(text.index(r"\[04:22\]"), 262.0), (text.index(r"\[08:23\]"), 503.0)]
    assert text[rob.char_start:rob.char_end].endswith("And that was it, really.")
    # the unintelligible mark's clock is not a time anchor; escaped non-speech marks leave the text
    assert carmen2.markers == [] and carmen2.text == "The budget was pretty minimal. We asked anyway."
    # the wordless `**Break**:` turn hands its clock to the next turn
    assert robert.markers == [(text.index(r"\[01:02:09.27\]"), 3729.27)]


def test_chunks_take_times_from_the_inline_clocks(tmp_path):
    _, doc, text = read(tmp_path, "go-time-100.md", EPISODE)
    out = chunks(doc, text, min_words=1)
    by_speaker = {(c.speaker, c.text.split()[0]): c for c in out}
    rob = by_speaker[("Rob Pike", "Forty")]
    assert rob.start == 262.0 and rob.end is not None and rob.end > 503.0
    assert by_speaker[("Robert Griesemer", "Back")].start == 3729.3
    assert by_speaker[("Carmen Andoh", "Welcome,")].start == 0.0


def test_label_on_its_own_line_and_solo_episodes(tmp_path):
    news = "**Jerod Santo:**\n\nWhat up, nerds? This is the news.\n\nSecond story of the week.\n"
    name, doc, text = read(tmp_path, "changelog-news-100.md", news)
    assert name == "markdown-turns"
    [seg] = doc.segments
    assert seg.speaker == "Jerod Santo" and seg.text == "What up, nerds? This is the news.\nSecond story of the week."
    chunks(doc, text)


def test_bold_name_outside_colon_and_headings_as_sections(tmp_path):
    md = ("# Episode 7\n\nA short intro before anyone speaks.\n\n## Opening\n\n**Ana**: Hello.\n\n"
          "**Ben:** Hi Ana.\n\n## Deep dive\n\n**Ana:** So, compilers.\n")
    _, doc, text = read(tmp_path, "ep7.md", md)
    assert [(s.speaker, s.kind, s.section, s.text) for s in doc.segments] == [
        (None, Kind.note, "Episode 7", "A short intro before anyone speaks."),
        ("Ana", Kind.transcript, "Opening", "Hello."),
        ("Ben", Kind.transcript, "Opening", "Hi Ana."),
        ("Ana", Kind.transcript, "Deep dive", "So, compilers."),
    ]


def test_takes_priority_over_notes_but_not_over_plain_markdown(tmp_path):
    assert reader_for(tmp_path / "t.md", EPISODE).name == "markdown-turns"
    assert reader_for(tmp_path / "t.txt", EPISODE).name == "markdown-turns"
    essay = "# Essay\n\nSome **bold:** words in a paragraph.\n\nMore prose.\n"
    assert reader_for(tmp_path / "essay.md", essay).name == "notes"
    assert not MarkdownTurnsReader.sniff(tmp_path / "t.json", EPISODE)


def test_default_corpus_keeps_its_readers():
    expected = {
        "cto-coding-discussion.txt": "discussion",
        "engineering-manager-readme.md": "notes",
        "le-podcast-on-emerging-leadership.txt": "podcast-blog",
        "leadership-principles.md": "notes",
        "trust-and-durable-communication.txt": "notes",
    }
    files = {p.name: p for p in discover([REPO / "corpus"])}
    for name, reader in expected.items():
        if name in files:
            path: Path = files[name]
            assert reader_for(path, decode(path, path.read_bytes())).name == reader, name
