"""A tiny corpus the search, API and CLI tests build in a tmp folder (the reader tests define its texts)."""
from __future__ import annotations

from pathlib import Path

from tests.ingest.test_discussion import THREAD
from tests.ingest.test_notes import NOTES
from tests.ingest.test_podcast_blog import BLOG

TRANSCRIPT_ID = "leading-change-with-maria-bracho"


def write_corpus(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "blog.txt").write_text(BLOG, encoding="utf-8")
    (root / "team-notes.md").write_text(NOTES, encoding="utf-8")
    (root / "thread.txt").write_text(THREAD, encoding="utf-8")
    return root
