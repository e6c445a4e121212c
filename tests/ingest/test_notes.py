"""The notes reader: one document per file, sections from Markdown headings and short title lines."""
from __future__ import annotations

from pathlib import Path

from core.models import Kind
from ingest.readers import reader_for
from ingest.readers.notes import NotesReader, title_from_path

NOTES = """Intro paragraph before any heading, it ends with a period.

## First Topic
Text glued right under the first heading.

More text in the first topic.

Short Title Line

A paragraph under the short title.
It has a second line.

### Third Topic ###

Last paragraph.
"""


def read(text: str = NOTES, name: str = "my_team-notes.md"):
    path = Path(name)
    reader = reader_for(path, text)
    assert isinstance(reader, NotesReader)
    docs = reader.read(path, text, name)
    assert len(docs) == 1
    return docs[0]


def test_one_note_document_titled_from_the_file_name():
    doc = read()
    assert (doc.id, doc.title, doc.kind, doc.source) == ("my-team-notes", "My team notes", Kind.note, "my_team-notes.md")
    assert doc.speakers == {}
    assert title_from_path(Path("leadership-principles.md")) == "Leadership principles"


def test_sections_from_markdown_headings_glued_headings_and_short_title_lines():
    doc = read()
    assert [(s.section, s.text) for s in doc.segments] == [
        (None, "Intro paragraph before any heading, it ends with a period."),
        ("First Topic", "Text glued right under the first heading."),
        ("First Topic", "More text in the first topic."),
        ("Short Title Line", "A paragraph under the short title.\nIt has a second line."),
        ("Third Topic", "Last paragraph."),
    ]
    assert all(s.kind == Kind.note and s.speaker is None and s.start is None for s in doc.segments)


def test_segment_offsets_point_at_the_source():
    doc = read()
    for s in doc.segments:
        assert " ".join(NOTES[s.char_start:s.char_end].split()) == " ".join(s.text.split())


def test_sentences_with_end_punctuation_are_not_headings():
    doc = read("Opening words.\n\nA sentence that ends with a full stop.\n\nBody text here.\n", "plain.txt")
    assert [s.section for s in doc.segments] == [None, None, None]
    assert len(doc.segments) == 3


def test_hash_inside_a_heading_is_kept():
    doc = read("## Learning C#\n\nWe picked a language.\n", "lang.md")
    assert doc.segments[0].section == "Learning C#"
