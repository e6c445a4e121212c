"""One writer at a time: an exclusive `flock` on `<data dir>/ingest.lock`, held for a whole ingest.

Two ingests into one store would interleave their embeddings and race on the FAISS file; the second one is
refused at once with a clear error instead of waiting. The kernel drops the lock when the holder dies (even by
SIGKILL), so a crashed ingest never leaves a stale lock behind.
"""
from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = "ingest.lock"


class IngestLocked(RuntimeError):
    """Another process (or thread) is ingesting into the same data directory."""

    def __init__(self, path: Path, holder: str):
        self.path, self.holder = path, holder
        who = f" (pid {holder})" if holder else ""
        super().__init__(f"another ingest is already running on {path.parent}{who}; try again when it has finished")


@contextmanager
def ingest_lock(data_dir: Path) -> Iterator[None]:
    """Hold the data directory's ingest lock for the block, or raise IngestLocked without waiting."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IngestLocked(path, os.pread(fd, 32, 0).decode(errors="replace").strip()) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)  # who holds it, for the error message only
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
