"""Where queries are answered: a small base class and a factory, as for the vector index.

`sqlite` (the default): the SQLite store answers (FTS5 BM25, chunks, sentences) with the FAISS index derived from
its vectors. `milvus` (KB_BACKEND=milvus, search.milvus): ingest still commits to the local SQLite store, which
stays the source of truth and the episode/file catalog, and each committed version is published to Milvus
collections that hold everything a query reads (text, BM25, vectors, speakers, times, offsets, themes).
Either way the library calls the same three things: `sync` after a batch commits (and before a query when the
store moved on), `retriever` per query, and `reader` for the chunks a hit, an answer or `/chunks/{id}` shows.
"""
from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from search.retrieval import Retriever
from search.store import Store
from search.vector_index import VectorIndex, sync_index

if TYPE_CHECKING:
    from core.settings import Settings
    from search.check import CheckReport

BACKENDS = ("sqlite", "milvus")


class BackendError(RuntimeError):
    """The configured backend cannot serve kb (e.g. a server too old for its collections): a setting to change."""


class Backend(ABC):
    name: str

    def __init__(self, settings: Settings, store: Store):
        self.settings, self.store = settings, store

    @abstractmethod
    def sync(self, model: str) -> object:
        """Make the store's committed version the one queries see; returns what searches use."""

    @abstractmethod
    def retriever(self, encode_query: Callable[[str], np.ndarray], model: str) -> Retriever:
        """A retriever over the version queries see now."""

    @property
    def reader(self) -> Store:
        """Where hits, answers and `/chunks/{id}` read chunks (with themes, sentences, neighbours)."""
        return self.store

    @abstractmethod
    def check(self, model: str, repair: bool) -> CheckReport:
        """`kb check`: the store is sound and what serves queries agrees with it (rebuilt when `repair`)."""

    def close(self) -> None:
        """Release connections (the SQLite store is the caller's)."""


class SQLiteBackend(Backend):
    """The default: FAISS over the vectors stored in SQLite, patched per changed episode."""

    name = "sqlite"

    def __init__(self, settings: Settings, store: Store):
        super().__init__(settings, store)
        self._index: VectorIndex | None = None
        self._index_version = -1
        self._lock = threading.Lock()

    def sync(self, model: str) -> VectorIndex:
        """The FAISS index for the store's current version; a new committed batch is picked up here."""
        version = self.store.version()
        if self._index is None or version != self._index_version:
            with self._lock:
                if self._index is None or version != self._index_version:
                    # patched per changed episode from the index in memory (or the file): no full rebuild
                    self._index = sync_index(self.settings.faiss_path, self.store, model, self.settings.index,
                                             self._index)
                    self._index_version = self._index.version
        return self._index

    def retriever(self, encode_query: Callable[[str], np.ndarray], model: str) -> Retriever:
        s = self.settings
        return Retriever(self.store, self.sync(model), encode_query, s.candidates, model, s.dense_weight,
                         s.context_weight)

    def check(self, model: str, repair: bool) -> CheckReport:
        from search.check import check

        return check(self.store, self.settings.faiss_path, model, rebuild=(lambda: self.sync(model)) if repair else None)


def make_backend(settings: Settings, store: Store) -> Backend:
    """The backend KB_BACKEND names; Milvus is imported only when chosen (pip install 'kb[milvus]')."""
    if settings.backend == "sqlite":
        return SQLiteBackend(settings, store)
    if settings.backend == "milvus":
        try:
            from search.milvus import MilvusBackend
        except ImportError as exc:  # pragma: no cover - install problem
            raise BackendError("KB_BACKEND=milvus needs pymilvus: pip install 'kb[milvus]'") from exc
        return MilvusBackend(settings, store)
    raise ValueError(f"unknown backend {settings.backend!r}: use one of {', '.join(BACKENDS)}")


def default_milvus_uri(data_dir: Path) -> str:
    """milvus-lite in the data folder when KB_MILVUS_URI is unset (pymilvus runs it in-process for a .db path)."""
    return str(data_dir / "milvus.db")
