"""The reader interface and the factory that picks a reader by file extension and content."""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

from core.models import Document


class ReaderError(ValueError):
    """A file that cannot be read; names the file, the line and why."""

    def __init__(self, path: str | Path, reason: str, line: int | None = None):
        self.path, self.reason, self.line = str(path), reason, line
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {reason}")


class Reader(ABC):
    """Turns one source file into documents (episodes, posts, notes) made of segments."""

    name: ClassVar[str]
    extensions: ClassVar[tuple[str, ...]] = ()
    priority: ClassVar[int] = 50  # lower is tried first

    @classmethod
    @abstractmethod
    def sniff(cls, path: Path, text: str) -> bool:
        """True when this reader recognises the file (extension and/or content)."""

    @abstractmethod
    def read(self, path: Path, text: str, source: str) -> list[Document]:
        """Parse `text` (the decoded file); `source` is the name citations show."""


_REGISTRY: list[type[Reader]] = []


def register(cls: type[Reader]) -> type[Reader]:
    _REGISTRY.append(cls)
    _REGISTRY.sort(key=lambda c: c.priority)
    return cls


def readers() -> list[type[Reader]]:
    return list(_REGISTRY)


def reader_for(path: Path, text: str) -> Reader:
    for cls in _REGISTRY:
        if cls.sniff(path, text):
            return cls()
    raise ReaderError(path, "unrecognised format (no reader accepts this file)")
