"""The discussion reader: a comment per line, `>` quotes kept with the reply under them, `--` between threads."""
from __future__ import annotations

from pathlib import Path

from core.models import Kind
from ingest.readers import reader_for
from ingest.readers.discussion import DiscussionReader

THREAD = """First comment about weekend work and culture.
Second comment that stands alone.
> a quoted line from the post
> another quoted line
A reply to the quote above.
--
Thread two opens with a comment.
> quoting someone else
The reply in thread two.
--
Third thread comment.
"""


def read(text: str = THREAD):
    path = Path("hn-thread.txt")
    reader = reader_for(path, text)
    assert isinstance(reader, DiscussionReader)
    return reader.read(path, text, "hn-thread.txt")


def test_one_discussion_document():
    [doc] = read()
    assert (doc.id, doc.title, doc.kind) == ("hn-thread", "Hn thread", Kind.discussion)
    assert all(s.kind == Kind.discussion and s.speaker is None for s in doc.segments)


def test_comments_threads_and_quotes():
    [doc] = read()
    assert [(s.section, s.text) for s in doc.segments] == [
        ("Thread 1", "First comment about weekend work and culture."),
        ("Thread 1", "Second comment that stands alone."),
        ("Thread 1", "> a quoted line from the post > another quoted line A reply to the quote above."),
        ("Thread 2", "Thread two opens with a comment."),
        ("Thread 2", "> quoting someone else The reply in thread two."),
        ("Thread 3", "Third thread comment."),
    ]


def test_quote_segment_spans_from_the_quote_to_the_end_of_the_reply():
    [doc] = read()
    seg = doc.segments[2]
    assert THREAD[seg.char_start:seg.char_end] == ("> a quoted line from the post\n> another quoted line\n"
                                                  "A reply to the quote above.")


def test_needs_quotes_and_separators_to_be_recognised():
    assert not DiscussionReader.sniff(Path("a.txt"), "one\n> q\n> q\n> q\nreply\n")  # no separator
    assert not DiscussionReader.sniff(Path("a.txt"), "one\n> q\n--\nreply\n")  # too few quotes
    assert not DiscussionReader.sniff(Path("a.md"), THREAD + "\n# A heading\n")  # markdown
    assert DiscussionReader.sniff(Path("a.txt"), THREAD + "> q\n")
