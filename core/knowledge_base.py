"""The library API every interface calls: one KnowledgeBase over the store, the index and the encoder."""
from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from ingest import pipeline
from core.models import Answer, Chunk, Episode, Filters, IngestReport, Stats
from core.settings import Settings, get_settings
from search.answer import AnswerPolicy, build_answer
from search.embedding import Embedder, get_embedder
from search.retrieval import Mode, Retriever
from search.store import Store
from search.vector_index import VectorIndex, load_or_build


class KnowledgeBase:
    def __init__(self, settings: Settings | None = None, embedder: Embedder | None = None):
        self.settings = settings or get_settings()
        self._embedder = embedder
        self.store = Store(self.settings.db_path)
        self._index: VectorIndex | None = None
        self._index_version = -1
        self._lock = threading.Lock()
        self._encode_query = lru_cache(maxsize=1024)(self._encode_one)

    # --- parts, loaded when first needed -----------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = get_embedder(self.settings.model, self.settings.precision)
        return self._embedder

    def _encode_one(self, text: str) -> np.ndarray:
        return self.embedder.encode([text])[0]

    def index(self) -> VectorIndex:
        """The FAISS index for the store's current version; a new committed batch is picked up here."""
        version = self.store.version()
        if self._index is None or version != self._index_version:
            with self._lock:
                if self._index is None or version != self._index_version:
                    ids, vecs = self.store.vectors(self.embedder.name)
                    self._index = load_or_build(self.settings.faiss_path, version, self.embedder.name, ids, vecs)
                    self._index_version = version
        return self._index

    def retriever(self) -> Retriever:
        return Retriever(self.store, self.index(), self._encode_query, self.settings.candidates)

    # --- writing ----------------------------------------------------------------------------------------
    def ingest(self, paths: list[Path] | None = None, prune: bool = False, progress: bool = False) -> IngestReport:
        s = self.settings
        report = pipeline.ingest(self.store, self.embedder, paths or list(s.corpus_dirs), prune=prune,
                                 max_words=s.max_chunk_words, min_words=s.min_chunk_words,
                                 batch_size=s.batch_size, progress=progress)
        self.index()
        return report

    def ensure_ingested(self, progress: bool = False) -> IngestReport | None:
        """Build the index from the default corpus on first use; afterwards do nothing."""
        if self.store.counts()[0] == 0:
            return self.ingest(progress=progress)
        return None

    # --- reading ----------------------------------------------------------------------------------------
    def search(self, query: str, k: int = 10, filters: Filters | None = None, mode: Mode | str | None = None):
        return self.retriever().search(query, k, filters, Mode(mode or self.settings.search_mode))

    def ask(self, question: str, k: int = 5, filters: Filters | None = None) -> Answer:
        hits = self.search(question, max(k, 5), filters)
        return build_answer(question, hits, lambda texts: self.embedder.encode(texts), AnswerPolicy(passages=k))

    def episodes(self) -> list[Episode]:
        return self.store.episodes()

    def chunk(self, chunk_id: int, context: int = 0) -> list[Chunk]:
        return self.store.neighbours(chunk_id, context)

    def stats(self) -> Stats:
        e, c, v = self.store.counts()
        return Stats(episodes=e, chunks=c, vectors=v, index_version=self.store.version(), model=self.embedder.name,
                     data_dir=str(self.settings.data_dir), sources=sorted({ep.source for ep in self.episodes()}))
