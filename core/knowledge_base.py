"""The library API every interface calls: one KnowledgeBase over the store, the index and the encoder."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from search.lock import ingest_lock
from core.models import Answer, Chunk, Episode, Filters, Hit, IngestReport, Stats, Kind
from core.settings import Settings, get_settings
from search.answer import Speakers, build_answer, with_generation
from search.answer.roles import who_they_are
from search.embedding import Embedder, get_embedder, resolve_precision
from search.backend import Backend, make_backend
from search.retrieval import Mode, Retriever
from search.store import Store
from search.vector_index import VectorIndex
from core.models import RetagReport, ThemeDetail, ThemedHit, ThemeSummary
from search import theme_store
from search.retrieval import to_hit
from search.taxonomy import Taxonomy, load_taxonomy
from search.themes import ThemeTagger

if TYPE_CHECKING:  # pragma: no cover
    from ingest import pipeline


# what `KnowledgeBase.ask_stream` yields: ("extractive" | "answer", Answer) or ("sentence", a verified sentence)
AnswerEvent = tuple[str, object]
SENTENCE_CACHE = 20_000  # answer sentences whose vectors are kept (~30 MB)


class KnowledgeBase:
    def __init__(self, settings: Settings | None = None, embedder: Embedder | None = None):
        self.settings = settings or get_settings()
        self._embedder = embedder
        self.store = Store(self.settings.db_path)
        self.backend: Backend = make_backend(self.settings, self.store)  # sqlite (FAISS) or milvus
        self._encode_query = lru_cache(maxsize=1024)(self._encode_one)
        self._sentence_vectors: dict[str, np.ndarray] = {}  # oldest first (see encode_texts)
        self._cache_lock = threading.Lock()
        self._speakers: tuple[int, Speakers] = (-1, Speakers({}))  # (index version, its speakers)

    # --- parts, loaded when first needed -----------------------------------------------------------
    def _precision(self) -> str:
        """KB_PRECISION resolved against what the store already holds (search.embedding.resolve_precision)."""
        return resolve_precision(self.settings.precision, self.settings.model, self.store.embedded_models)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            s = self.settings
            self._embedder = get_embedder(s.model, self._precision(), s.data_dir, s.onnx)
        return self._embedder

    def _ingest_embedder(self) -> Embedder:
        """What `kb ingest` embeds with: the in-process encoder, or with KB_RAY_ADDRESS a Ray Data job that files
        its vectors under the same name (search.ray_embed; queries always encode in-process)."""
        s = self.settings
        if not s.ray_address:
            return self.embedder
        from search.ray_embed import RayEmbedder

        return RayEmbedder(self.embedder, s.model, self._precision(), s.ray_address, s.ray_actors, s.ray_gpus)

    def _encode_one(self, text: str) -> np.ndarray:
        """A query's vector, remembered: the answer to the same question scores its sentences against it."""
        vector = self.embedder.encode_query(text)
        self._remember({text: vector})
        return vector

    def _remember(self, vectors: dict[str, np.ndarray]) -> None:
        with self._cache_lock:
            self._sentence_vectors.update(vectors)
            while len(self._sentence_vectors) > SENTENCE_CACHE:
                self._sentence_vectors.pop(next(iter(self._sentence_vectors)))

    def index(self) -> VectorIndex:
        """The FAISS index for the store's current version (with KB_BACKEND=milvus: the version published to
        Milvus); a new committed batch is picked up here (see search.backend)."""
        return self.backend.sync(self.embedder.name)

    def warm_up(self) -> None:
        """Load the encoder and the FAISS index and run one query through every stage, so a server's first
        request does not pay for loading, and whatever loading sets process-wide (the encoder sets PyTorch's
        thread count) happens before the server chooses its own."""
        self.search("warm up", 1)

    def retriever(self) -> Retriever:
        return self.backend.retriever(self._encode_query, self.embedder.name)

    # --- writing ----------------------------------------------------------------------------------------
    def ingest(self, paths: list[Path] | None = None, prune: bool = False, progress: bool = False,
               on_progress: pipeline.Progress | None = None) -> IngestReport:
        """One batch: new and changed files in, removed ones out (`prune`), then the FAISS index patched.
        `on_progress(stage, done, total)` follows reading, chunking, embedding, writing and indexing."""
        from ingest import pipeline  # readers, chunking and spaCy: not needed by the commands that only read

        s = self.settings
        with ingest_lock(s.data_dir):  # one writer per store: a second ingest is refused (IngestLocked), not interleaved
            report = pipeline.ingest(self.store, self._ingest_embedder(), paths or list(s.corpus_dirs), prune=prune,
                                     max_words=s.max_chunk_words, min_words=s.min_chunk_words,
                                     sentence_vectors=s.sentence_vectors,
                                     batch_size=s.batch_size, progress=progress, tagger=self._tag_episodes,
                                     on_progress=on_progress)
            if theme_store.fingerprint(self.store) != self.taxonomy.fingerprint():
                self.retag_themes()  # first run, or the taxonomy changed since the last tagging
            indexing = pipeline.Stage("indexing", 1, "index", progress, on_progress)
            self.index()
            indexing.update()
            indexing.close()
        return report

    def ensure_ingested(self, progress: bool = False) -> IngestReport | None:
        """Build the index from the default corpus on first use; afterwards do nothing."""
        if self.store.counts()[0] == 0:
            return self.ingest(progress=progress)
        return None

    # --- reading ----------------------------------------------------------------------------------------
    def search(self, query: str, k: int = 10, filters: Filters | None = None, mode: Mode | str | None = None):
        return self.retriever().search(query, k, self.resolve_filters(filters), Mode(mode or self.settings.search_mode))

    def ask(self, question: str, k: int = 5, filters: Filters | None = None) -> Answer:
        """The extractive answer; with a language model configured (KB_LLM_URL), its verified sentences instead,
        or the extractive answer with the reason there are none."""
        answer, hits = self._extractive(question, k, filters)
        if not self.settings.llm_url or answer.abstained:
            return answer
        from search.answer.generate import generate_answer

        return with_generation(answer, generate_answer(question, answer.points, self.settings), hits)

    def ask_stream(self, question: str, k: int = 5, filters: Filters | None = None) -> Iterator[AnswerEvent]:
        """The answer as it forms: ("extractive", Answer) at once, then ("sentence", Verdict) for each generated
        sentence once it passed verification (when a model is configured), then ("answer", Answer), the same
        answer `ask` returns."""
        answer, hits = self._extractive(question, k, filters)
        yield "extractive", answer
        if not self.settings.llm_url or answer.abstained:
            yield "answer", answer
            return
        from search.answer.generate import Generation, stream_answer

        for item in stream_answer(question, answer.points, self.settings):
            if isinstance(item, Generation):
                yield "answer", with_generation(answer, item, hits)
            else:
                yield "sentence", item

    def answer_passages(self, question: str, k: int = 5, filters: Filters | None = None
                        ) -> tuple[list[Hit], dict[int, Chunk]]:
        """What an answer draws on: the top passages and the top spoken ones (a quote with a speaker and a minute
        is what a citation in a podcast knowledge base is for, so the guests' own words are candidates even when
        write-ups about them rank higher), with their sentences."""
        hits = self.search(question, max(k, 8), filters)
        if not (filters and filters.kind):
            seen = {h.chunk_id for h in hits}
            spoken = self.search(question, 3, (filters or Filters()).model_copy(update={"kind": Kind.transcript}))
            # the spoken search's scores are on its own scale; a passage it adds ranked below the last of `hits`
            floor = hits[-1].score if hits else 0.0
            hits += [h.model_copy(update={"score": min(h.score, floor)}) for h in spoken if h.chunk_id not in seen]
        hits += self._introductions(question, hits)
        return hits, self.backend.reader.chunks([h.chunk_id for h in hits], sentences=True)

    def _introductions(self, question: str, hits: list[Hit]) -> list[Hit]:
        """For "Who is Bella?": where Bella introduces herself, if search did not find it (every passage of hers
        says her name as its speaker, so her own introduction need not rank first)."""
        name = who_they_are(question)
        if not name:
            return []
        seen, floor = {h.chunk_id for h in hits}, min((h.score for h in hits), default=0.0)
        ids = list(dict.fromkeys(cid for p in self.speakers().called(name)
                                 for cid in self.store.introductions(p.episode_id, p.short, p.full)[:1]
                                 if cid not in seen))
        chunks = self.backend.reader.chunks(ids)
        return [to_hit(chunks[cid], floor) for cid in ids if cid in chunks]

    def speakers(self) -> Speakers:
        """Who is who, once per index version: every answer reads it (twice for "who is X?")."""
        version = self.store.version()
        if self._speakers[0] != version:
            self._speakers = (version, Speakers.of(self.store.speaker_profiles()))
        return self._speakers[1]

    def _extractive(self, question: str, k: int, filters: Filters | None) -> tuple[Answer, list[Hit]]:
        hits, chunks = self.answer_passages(question, k, filters)
        answer = build_answer(question, hits, chunks, self.encode_texts, self.speakers(),
                              in_corpus=self.store.has_term, idf=self.store.idf)
        return answer, hits

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        """Vectors for answer sentences: those embedded at ingest (every quotable sentence) are read from the
        store; the rest (the question, a store from before) are encoded and remembered, since the same passages
        come back for related questions."""
        unique = list(dict.fromkeys(texts))
        with self._cache_lock:
            found = {t: self._sentence_vectors[t] for t in unique if t in self._sentence_vectors}
        new = self.store.text_vectors([t for t in unique if t not in found], self.embedder.name)
        missing = [t for t in unique if t not in found and t not in new]
        new.update(zip(missing, self.embedder.encode(missing)) if missing else ())
        found.update(new)
        self._remember(new)
        return np.array([found[t] for t in texts])

    def episodes(self) -> list[Episode]:
        return self.store.episodes()

    def chunk(self, chunk_id: int, context: int = 0) -> list[Chunk]:
        return self.backend.reader.neighbours(chunk_id, context)

    def stats(self) -> Stats:
        e, c, v = self.store.counts()
        return Stats(episodes=e, chunks=c, vectors=v, index_version=self.store.version(), model=self.embedder.name,
                     data_dir=str(self.settings.data_dir), sources=sorted({ep.source for ep in self.episodes()}))

    # --- themes ------------------------------------------------------------------------------------------
    @property
    def taxonomy(self) -> Taxonomy:
        """The theme taxonomy (KB_THEMES_FILE or the shipped one), read once per KnowledgeBase."""
        if getattr(self, "_taxonomy", None) is None:
            self._taxonomy = load_taxonomy(self.settings.themes_file)
        return self._taxonomy

    def tagger(self) -> ThemeTagger:
        if getattr(self, "_tagger", None) is None:
            self._tagger = ThemeTagger(self.taxonomy, self.embedder)
        return self._tagger

    def _tag_episodes(self, store: Store, episode_ids: list[str]) -> None:
        theme_store.tag_episodes(store, self.tagger(), episode_ids)
        if theme_store.fingerprint(store) is None and theme_store.only_episodes(store, episode_ids):
            theme_store.set_fingerprint(store, self.taxonomy.fingerprint())  # a fresh store is now fully tagged

    def resolve_filters(self, filters: Filters | None) -> Filters | None:
        """Theme filters by slug, label or loose spelling ("Letting go"); an unknown name raises UnknownTheme."""
        if not filters or not filters.themes:
            return filters
        names = list(dict.fromkeys(self.taxonomy.get(t).name for t in filters.themes))
        return filters.model_copy(update={"themes": names})

    def retag_themes(self) -> RetagReport:
        """Re-score every passage against the current taxonomy from the stored vectors (nothing is re-embedded)."""
        chunks, tags = theme_store.retag_all(self.store, self.tagger())
        return RetagReport(chunks=chunks, tags=tags, taxonomy=self.taxonomy.path or "",
                           fingerprint=self.taxonomy.fingerprint())

    def themes_stale(self) -> bool:
        return theme_store.fingerprint(self.store) != self.taxonomy.fingerprint()

    def _summary(self, name: str, counts: dict[str, int]) -> ThemeSummary:
        t = self.taxonomy.get(name)
        return ThemeSummary(name=t.name, label=t.label, description=t.description, seeds=[*t.key_phrases, *t.seeds],
                            threshold=self.taxonomy.threshold(t), passages=counts.get(t.name, 0),
                            episodes=theme_store.top_episodes(self.store, t.name),
                            speakers=theme_store.top_speakers(self.store, t.name))

    def themes(self) -> list[ThemeSummary]:
        """Every theme with how many passages carry it and its top episodes and speakers."""
        counts = theme_store.counts(self.store)
        return [self._summary(t.name, counts) for t in self.taxonomy.theme]

    def theme(self, name: str, k: int = 10) -> ThemeDetail:
        """One theme and its strongest passages, each with the seed phrases that matched."""
        summary = self._summary(name, theme_store.counts(self.store))
        best = theme_store.strongest(self.store, summary.name, k)
        chunks = self.backend.reader.chunks([cid for cid, *_ in best])
        top = [ThemedHit(**to_hit(chunks[cid], score).model_dump(), similarity=round(sim, 6), matched=matched)
               for cid, score, sim, matched in best if cid in chunks]
        return ThemeDetail(**summary.model_dump(), top=top)
