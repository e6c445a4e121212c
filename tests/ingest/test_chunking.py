"""Speaker-true chunking: sentence splits, merges, interpolated times and offsets that trace back to the source."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.models import Document, Kind, Segment
from ingest.chunking import chunk_document
from ingest.readers.notes import NotesReader
from ingest.readers.podcast_blog import MARKER, PodcastBlogReader
from tests.ingest.test_podcast_blog import BLOG


def sentence(tag: str, n: int = 10) -> str:
    """A sentence of exactly n distinct words: `Tag tag1 ... tag{n-1}.`"""
    return " ".join([tag.capitalize()] + [f"{tag}{i}" for i in range(1, n)]) + "."


def blog_post(body: str, title: str = "Timing Test") -> tuple[Document, str]:
    text = f"  • {title}\n\n    {title}\n\n    Here is the transcript\n\n{body}"
    [doc] = PodcastBlogReader().read(Path("t.txt"), text, "t.txt")
    return doc, text


def words_in_order(needle: list[str], haystack: list[str]) -> bool:
    it = iter(haystack)
    return all(any(w == h for h in it) for w in needle)


def test_long_turn_split_at_sentence_ends_within_max_words():
    lengths = [7, 12, 5, 9, 11, 6, 8, 13, 4, 10]
    turn = " ".join(sentence(f"s{i}x", n) for i, n in enumerate(lengths))
    doc, text = blog_post(f"    Alexis: {turn}\n")
    chunks = chunk_document(doc, text, max_words=25, min_words=0)
    assert len(chunks) > 3
    assert all(len(c.text.split()) <= 25 for c in chunks)
    assert all(c.text.endswith(".") for c in chunks)  # whole sentences only
    assert " ".join(c.text for c in chunks) == turn  # nothing lost, nothing repeated
    assert all(c.speaker == "Alexis" and c.speakers == ["Alexis"] for c in chunks)
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))


def test_sentence_longer_than_a_chunk_is_cut_by_words():
    turn = sentence("long", 50)
    doc, text = blog_post(f"    Alexis: {turn}\n")
    chunks = chunk_document(doc, text, max_words=20, min_words=0)
    assert [len(c.text.split()) for c in chunks] == [20, 20, 10]
    assert " ".join(c.text for c in chunks) == turn


def test_short_turns_merged_with_dominant_speaker_and_all_speakers():
    body = ("    Alexis: Yes, indeed.\n\n"
            f"    Maria: {sentence('maria', 12)}\n\n"
            "    Alexis: Right.\n")
    doc, text = blog_post(body)
    [chunk] = chunk_document(doc, text, max_words=200, min_words=60)
    assert chunk.speaker == "Maria"
    assert chunk.speakers == ["Alexis", "Maria"]
    assert chunk.text.splitlines() == ["Alexis: Yes, indeed.", f"Maria: {sentence('maria', 12)}", "Alexis: Right."]


def test_single_speaker_chunk_has_no_name_prefix():
    doc, text = blog_post(f"    Alexis: {sentence('one', 8)}\n\n    Alexis: {sentence('two', 8)}\n")
    [chunk] = chunk_document(doc, text, max_words=200, min_words=60)
    assert chunk.text == f"{sentence('one', 8)}\n{sentence('two', 8)}"
    assert chunk.speakers == ["Alexis"]


def test_never_merged_across_sections_or_kinds():
    [doc] = PodcastBlogReader().read(Path("blog.txt"), BLOG, "blog.txt")[:1]
    chunks = chunk_document(doc, BLOG, max_words=400, min_words=400)  # merge whatever may be merged
    assert [(c.kind, c.section) for c in chunks] == [
        (Kind.summary, "Leading Change with Maria Bracho"),
        (Kind.summary, "Three things she does"),
        (Kind.summary, "Trust comes first"),
        (Kind.transcript, None),
    ]
    assert chunks[-1].speakers == ["Alexis", "Maria"]
    assert all(c.start is None and c.end is None for c in chunks[:3])  # write-ups are not timed


def test_times_interpolated_between_markers_by_word_position():
    # 40 words: marker 0s before word 0, 60s before word 10, 90s after word 40; then 3 more words ending at 120s.
    a, b, c, d = (sentence(t) for t in ("alpha", "bravo", "charlie", "delta"))
    body = (f"    Alexis: [00:00:00] {a} [00:01:00] {b} {c} {d} [00:01:30]\n\n"
            "    Maria: Short answer here. [00:02:00]\n")
    doc, text = blog_post(body)
    chunks = chunk_document(doc, text, max_words=10, min_words=0)
    # words 10..40 span 60s..90s, so each 10-word sentence takes 10 s; Maria's 3 words span 90..120
    assert [(ch.speaker, ch.start, ch.end) for ch in chunks] == [
        ("Alexis", 0.0, 60.0), ("Alexis", 60.0, 70.0), ("Alexis", 70.0, 80.0), ("Alexis", 80.0, 90.0),
        ("Maria", 90.0, 120.0),
    ]


def test_time_between_uneven_markers():
    # marker 100 s at word 0 and 116 s at word 16: a chunk starting at word 4 starts at 100 + 4 * (16 / 16) = 104
    body = f"    Alexis: [00:01:40] {sentence('aa', 4)} {sentence('bb', 12)} [00:01:56] {sentence('cc', 6)}\n"
    doc, text = blog_post(body)
    chunks = chunk_document(doc, text, max_words=12, min_words=0)
    assert [len(ch.text.split()) for ch in chunks] == [4, 12, 6]
    assert [(ch.start, ch.end) for ch in chunks[:2]] == [(100.0, 104.0), (104.0, 116.0)]
    # past the last marker the measured rate (1 s a word) carries on
    assert (chunks[2].start, chunks[2].end) == (116.0, 122.0)


def _normalised(source_slice: str) -> list[str]:
    return MARKER.sub(" ", source_slice).split()


@pytest.mark.parametrize("max_words,min_words", [(200, 60), (20, 0), (12, 10)])
def test_offsets_trace_back_to_the_source(max_words, min_words):
    docs = PodcastBlogReader().read(Path("blog.txt"), BLOG, "blog.txt")
    seen = 0
    for doc in docs:
        for ch in chunk_document(doc, BLOG, max_words=max_words, min_words=min_words):
            src = _normalised(BLOG[ch.char_start:ch.char_end])
            lines = ch.text.splitlines()
            if len(ch.speakers) > 1:  # `Name: ` prefixes are added for merged turns
                lines = [re.sub(r"^[A-Z]\w*: ", "", line) for line in lines]
            words = " ".join(lines).split()
            assert src[0] == words[0] and src[-1] == words[-1]
            assert words_in_order(words, src)
            if len(ch.speakers) <= 1:
                assert src == words
            seen += 1
    assert seen >= 5


def test_offsets_for_notes():
    text = "## Topic\nFirst   paragraph\n   with odd spacing.\n\nSecond paragraph.\n"
    [doc] = NotesReader().read(Path("n.md"), text, "n.md")
    [ch] = chunk_document(doc, text, max_words=200, min_words=60)
    assert ch.text == "First paragraph\nwith odd spacing.\nSecond paragraph."
    assert text[ch.char_start:ch.char_end].split() == ch.text.split()
    assert (ch.section, ch.kind, ch.speaker, ch.start) == ("Topic", Kind.note, None, None)


def test_segment_times_used_as_anchors():
    text = "one two three four five six seven eight nine ten"
    doc = Document(id="d", title="D", source="d", kind=Kind.transcript, segments=[
        Segment(text=text, char_start=0, char_end=len(text), speaker="A", kind=Kind.transcript, start=10.0, end=20.0)])
    [a, b] = chunk_document(doc, text, max_words=5, min_words=0)
    assert (a.start, a.end, b.start, b.end) == (10.0, 15.0, 15.0, 20.0)
