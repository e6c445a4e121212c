"""WebVTT: Whisper cues merged into paragraphs, clocks below and above an hour, speakers from tags, errors."""
from __future__ import annotations


import pytest

from core.models import Kind
from ingest.readers import ReaderError, reader_for
from ingest.readers.webvtt import WebVTTReader, vtt_seconds
from tests.ingest.transcript_checks import chunks, read


def clock(seconds: float, hours: bool = False) -> str:
    """Whisper style: MM:SS.mmm below an hour, H:MM:SS.mmm from the hour on (or always with `hours`)."""
    h, rest = divmod(round(seconds * 1000), 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h}:{m:02d}:{s:02d}.{ms:03d}" if h or hours else f"{m:02d}:{s:02d}.{ms:03d}"


def whisper(cue_texts: list[str], start: float = 0.0, step: float = 3.0) -> str:
    out = ["WEBVTT", ""]
    for i, t in enumerate(cue_texts):
        out += [f"{clock(start + i * step)} --> {clock(start + (i + 1) * step)}", f" {t}", ""]
    return "\n".join(out)


def sentence_cues(n_sentences: int, words_per_half: int = 8) -> list[str]:
    """Each sentence runs across two cues, as Whisper writes them: `Sk wk1 ... wk7` / `wk8 ... wk15.`"""
    cues = []
    for k in range(n_sentences):
        words = [f"S{k}"] + [f"w{k}x{i}" for i in range(1, 2 * words_per_half)]
        cues += [" ".join(words[:words_per_half]), " ".join(words[words_per_half:]) + "."]
    return cues


@pytest.mark.parametrize("value, seconds", [
    ("00:00.000", 0.0), ("05:30.250", 330.25), ("59:59.999", 3599.999),
    ("1:02:03.500", 3723.5), ("01:02:03.500", 3723.5), ("12:00:00.000", 43200.0),
])
def test_clock_below_and_above_an_hour(value, seconds):
    assert vtt_seconds(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["5:3.000", "00:61.000", "1:60:00.000", "00:10,000", "00:10", "abc"])
def test_bad_clocks_are_not_timestamps(value):
    assert vtt_seconds(value) is None


def test_whisper_cues_merge_into_paragraphs_at_sentence_ends(tmp_path):
    # 10 sentences x 16 words = 160 words; a paragraph may close at a sentence end once it has 120 words
    name, doc, text = read(tmp_path, "ep.vtt", whisper(sentence_cues(10)))
    assert name == "webvtt" and doc.kind == Kind.transcript
    assert [len(s.text.split()) for s in doc.segments] == [128, 32]
    first, second = doc.segments
    assert first.text.endswith("w7x15.") and second.text.startswith("S8 ")
    assert (first.start, first.end) == (0.0, 48.0)  # 16 cues of 3 s: start of the first, end of the last
    assert (second.start, second.end) == (48.0, 60.0)
    assert first.speaker is None
    assert len(first.markers) == 16 and first.markers[1] == (text.index("w0x8"), 3.0)
    assert text[first.char_start:first.char_end].startswith("S0 w0x1")
    assert text[first.char_start:first.char_end].endswith("w7x15.")


def test_chunk_times_come_from_the_cues(tmp_path):
    _, doc, text = read(tmp_path, "ep.vtt", whisper(sentence_cues(10)))
    out = chunks(doc, text, max_words=200, min_words=1)
    assert [(c.start, c.end) for c in out] == [(0.0, 48.0), (48.0, 60.0)]
    short = chunks(doc, text, max_words=40, min_words=1)  # 128 words split into sentence pieces of 32
    assert short[1].start == 12.0 and short[1].text.startswith("S2 ")  # sentence 2 starts at cue 4 = 12 s
    assert all(c.speaker is None for c in short)


def test_hour_crossing_cues_and_cue_ids(tmp_path):
    vtt = ("WEBVTT\n\n"
           "1\n59:57.000 --> 59:59.500\n Before the hour we talk.\n\n"
           "intro-2\n59:59.500 --> 1:00:02.000\n Right at the hour we go on.\n\n"
           "3\n1:00:02.000 --> 01:00:04.250\n And after it we stop.\n")
    _, doc, text = read(tmp_path, "hour.vtt", vtt)
    [seg] = doc.segments
    assert (seg.start, seg.end) == (3597.0, 3604.25)
    assert [t for _, t in seg.markers] == [3597.0, 3599.5, 3602.0]
    assert "intro" not in seg.text and seg.text.startswith("Before the hour")
    [chunk] = chunks(doc, text)
    assert (chunk.start, chunk.end) == (3597.0, 3604.2)  # chunks round to a tenth


def test_long_pause_ends_a_paragraph(tmp_path):
    vtt = ("WEBVTT\n\n00:01.000 --> 00:03.000\nfirst words without end\n\n"
           "00:09.000 --> 00:11.000\nafter a silence\n")
    _, doc, _ = read(tmp_path, "p.vtt", vtt)
    assert [(s.text, s.start, s.end) for s in doc.segments] == [
        ("first words without end", 1.0, 3.0), ("after a silence", 9.0, 11.0)]


DIARIZED = """WEBVTT

00:00:00.000 --> 00:00:04.000
[Amit Varma]: Welcome to the show. Amit here.

00:00:04.000 --> 00:00:07.500
[Amit Varma]: Today we talk about farming

00:00:07.500 --> 00:00:09.000
[Guest 1]: Amit thank you for having me.

00:00:09.000 --> 00:00:12.000
[Amit Varma]: Let us begin.
"""


def test_diarized_bracket_speakers_start_new_segments(tmp_path):
    _, doc, text = read(tmp_path, "E01.mp3.vtt", DIARIZED)
    assert doc.id == "e01"
    assert [(s.speaker, s.text) for s in doc.segments] == [
        ("Amit Varma", "Welcome to the show. Amit here. Today we talk about farming"),
        ("Guest 1", "Amit thank you for having me."),
        ("Amit Varma", "Let us begin."),
    ]
    guest = doc.segments[1]
    assert text[guest.char_start:guest.char_end] == "Amit thank you for having me."  # label not cited
    out = chunks(doc, text, min_words=1)
    assert [(c.speaker, c.start, c.end) for c in out] == [
        ("Amit Varma", 0.0, 7.5), ("Guest 1", 7.5, 9.0), ("Amit Varma", 9.0, 12.0)]


def test_voice_tags_even_two_in_one_cue(tmp_path):
    vtt = ("WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n<v Alice>Hello and welcome.</v>\n\n"
           "00:00:04.000 --> 00:00:06.000\n<v.loud Bob>Thanks Alice.</v> <v Alice>So, <i>tell</i> us more.</v>\n")
    _, doc, text = read(tmp_path, "v.vtt", vtt)
    assert [(s.speaker, s.text) for s in doc.segments] == [
        ("Alice", "Hello and welcome."), ("Bob", "Thanks Alice."), ("Alice", "So, tell us more.")]
    assert [c.speaker for c in chunks(doc, text, min_words=1)] == ["Alice", "Bob", "Alice"]


def test_detected_by_header_not_only_by_extension(tmp_path):
    text = whisper(["Hello there."])
    assert reader_for(tmp_path / "x.txt", text).name == "webvtt"
    assert reader_for(tmp_path / "x.vtt", text).name == "webvtt"
    assert reader_for(tmp_path / "x.txt", "Just notes.\n").name != "webvtt"


@pytest.mark.parametrize("body, line, why", [
    ("00:01.000 --> 00:02.000\nHello\n", 1, "first line must be `WEBVTT`"),
    ("WEBVTT\n\n00:01.000 --> 00:02.000\nHello\n\n00:02.000 -->\n", 6, "truncated cue timing"),
    ("WEBVTT\n\n00:01.000 --> 00:02.000\nHello\n\n00:02.000 --> 00:61.000\nthere\n", 6, "bad timestamp '00:61.000'"),
    ("WEBVTT\n\n00:01.000 --> 00:02.000\nHello\n\nthis line has\nno timing above it\n", 6, "expected a cue timing"),
    ("WEBVTT\n\n00:05.000 --> 00:02.000\nHello\n", 3, "ends before it starts"),
    ("WEBVTT\n\nNOTE only a comment\n", 1, "no cues"),
])
def test_malformed_files_name_file_line_and_reason(tmp_path, body, line, why):
    path = tmp_path / "bad.vtt"
    with pytest.raises(ReaderError) as err:
        WebVTTReader().read(path, body, "bad.vtt")
    assert err.value.line == line and why in err.value.reason
    assert str(err.value).startswith(f"{path}:{line}: ")
