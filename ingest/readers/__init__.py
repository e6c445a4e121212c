"""Transcript and notes readers; importing this package registers them all."""
from ingest.readers import discussion, notes, podcast_blog  # noqa: F401  (registration)
from ingest.readers.base import Reader, ReaderError, reader_for, readers

__all__ = ["Reader", "ReaderError", "reader_for", "readers"]
