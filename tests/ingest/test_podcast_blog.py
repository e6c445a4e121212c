"""The blog-export reader: `•` post titles, write-ups with headings, and `Name: [HH:MM:SS]` transcripts."""
from __future__ import annotations

from pathlib import Path

import pytest

from core.models import Kind
from ingest.readers import reader_for
from ingest.readers.podcast_blog import MARKER, PodcastBlogReader, post_titles

BLOG = """Author: Alexis

  • Leading Change with Maria Bracho

    Leading Change with Maria Bracho

    Change is hard. Leading it at scale is harder.

    Three things she does

    • share the foundations so everyone can build
      • compete on what makes you unique
   • collaborate on the hard common problems

    Trust comes first

    Maria Bracho explains that trust is built slowly. Maria Bracho also says influence beats authority.

    Here is the transcript of the episode

    Alexis: [00:00:00] Welcome to the show. Today I talk with Maria about change.

    Maria: Thank you Alexis. Change starts with trust. [00:01:00] Then you build momentum with small wins every week.

    And when people see the wins, they join the movement on their own.

    Alexis: How do you measure it?

    Maria: We count the teams that adopt the practice.

 • Book Notes on Focus

    Book Notes on Focus

    Focus is a practice, not a trait.

    Example: turn off notifications for two hours every morning.

    A closing paragraph about attention and deep work.

\t• Leading Change with Maria Bracho

    Leading Change with Maria Bracho

    A repost of the first post, with the same title.
"""


@pytest.fixture
def docs():
    path = Path("blog.txt")
    reader = reader_for(path, BLOG)
    assert isinstance(reader, PodcastBlogReader)
    return reader.read(path, BLOG, "blog.txt")


def test_only_repeated_bullets_are_post_titles():
    titles = [m.group(1) for m in post_titles(BLOG)]
    assert titles == ["Leading Change with Maria Bracho", "Book Notes on Focus", "Leading Change with Maria Bracho"]


def test_posts_become_documents_with_titles_kinds_and_unique_ids(docs):
    assert [d.title for d in docs] == ["Leading Change with Maria Bracho", "Book Notes on Focus",
                                       "Leading Change with Maria Bracho"]
    assert [d.id for d in docs] == ["leading-change-with-maria-bracho", "book-notes-on-focus",
                                    "leading-change-with-maria-bracho-2"]
    assert [d.kind for d in docs] == [Kind.transcript, Kind.note, Kind.note]
    assert all(d.source == "blog.txt" for d in docs)


def test_writeup_sections_from_headings_and_bullets_stay_in_the_post(docs):
    post = docs[0]
    prose = [s for s in post.segments if s.kind == Kind.summary]
    assert [s.section for s in prose] == ["Leading Change with Maria Bracho", "Three things she does",
                                          "Trust comes first"]
    bullets = prose[1].text
    # nested bullets with varying indentation are kept, indentation dropped, and are not post titles
    assert bullets.splitlines() == ["• share the foundations so everyone can build",
                                    "• compete on what makes you unique",
                                    "• collaborate on the hard common problems"]
    # the "Here is the transcript" line is neither a segment nor a heading
    assert not any("Here is the transcript" in s.text for s in post.segments)


def test_transcript_turns_speakers_and_markers(docs):
    post = docs[0]
    turns = [s for s in post.segments if s.kind == Kind.transcript]
    assert [t.speaker for t in turns] == ["Alexis", "Maria", "Alexis", "Maria"]
    # markers are removed from the text and recorded with their char offset and seconds
    assert turns[0].text == "Welcome to the show. Today I talk with Maria about change."
    assert "[00:" not in turns[1].text
    assert [sec for _, sec in turns[0].markers] == [0.0]
    assert [sec for _, sec in turns[1].markers] == [60.0]
    char, _ = turns[1].markers[0]
    assert BLOG[char:char + 10] == "[00:01:00]"
    # a paragraph without a name continues the current turn
    assert turns[1].text.endswith("they join the movement on their own.")
    assert "Then you build momentum" in turns[1].text
    # segment offsets point at the real text in the source
    for t in turns:
        assert MARKER.sub(" ", BLOG[t.char_start:t.char_end]).split() == t.text.split()


def test_full_names_resolved_from_the_post_text(docs):
    assert docs[0].speakers == {"Alexis": "Alexis", "Maria": "Maria Bracho"}


def test_example_and_transcript_lines_are_not_speakers(docs):
    notes = docs[1]
    assert notes.speakers == {}
    assert all(s.speaker is None and s.kind == Kind.note for s in notes.segments)
    texts = [s.text for s in notes.segments]
    assert "Example: turn off notifications for two hours every morning." in texts


def test_example_and_transcript_lines_inside_a_transcript_continue_the_turn():
    text = BLOG.replace("    Alexis: How do you measure it?\n",
                        "    Alexis: How do you measure it?\n\n    Example: a team that ships weekly.\n\n"
                        "    Transcript: edited for clarity.\n")
    doc = PodcastBlogReader().read(Path("blog.txt"), text, "blog.txt")[0]
    assert set(doc.speakers) == {"Alexis", "Maria"}
    assert [s.speaker for s in doc.segments if s.kind == Kind.transcript] == ["Alexis", "Maria", "Alexis", "Maria"]
    turn = [s for s in doc.segments if s.text.startswith("How do you measure it?")][0]
    assert turn.speaker == "Alexis"
    assert turn.text.splitlines() == ["How do you measure it?", "Example: a team that ships weekly.",
                                      "Transcript: edited for clarity."]


def test_plain_text_without_titles_is_not_a_blog_export():
    assert not PodcastBlogReader.sniff(Path("notes.txt"), "Just a paragraph.\n\n• a bullet\n\nmore text")
