"""Transcript and notes readers; importing this package registers them all."""
from ingest.readers import discussion, json_turns, markdown_turns, notes, podcast_blog, srt, webvtt  # noqa: F401
from ingest.readers.base import Reader, ReaderError, reader_for, readers

__all__ = ["Reader", "ReaderError", "reader_for", "readers"]
