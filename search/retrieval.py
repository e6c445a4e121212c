"""Hybrid retrieval: FAISS dense + FTS5 BM25, fused, filtered, with near-duplicates collapsed.

Modes, so a benchmark can show what each step buys: `keyword` (BM25), `dense` (max over a chunk's vectors),
`rrf` (reciprocal rank fusion of the two) and `hybrid` (the default: z-score fusion weighted towards dense,
plus a boost for the words of the speakers the question names).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from enum import Enum

import numpy as np

from text.clock import format_clock
from core.models import Chunk, EpisodeRef, Filters, Hit, Kind
from search.query import linked_speakers, query_terms
from search.store import Store
from search.vector_index import VectorIndex

_TERM = re.compile(r"[\w’']+")
RRF_K = 60
DENSE_WEIGHT = 0.7  # tuned on dev.jsonl and the SciFact train split
OWN_WEIGHT = 0.5  # share of a chunk's own vector in its dense score (the rest: its best vector)
SPEAKER_BOOST = 2.0  # in standard deviations of the fused score
EVIDENCE_MIN = 0.6  # window cosine above which a write-up sentence is taken to summarise a transcript passage
EVIDENCE_LINKS = 2  # transcript passages one write-up paragraph may bring in
EVIDENCE_FOCUS = 0.1  # a write-up window links only if this close to its best window's fit to the question
CONTEXT_WEIGHT = 0.3  # share of the better-fitting neighbour's score a passage adds to its own (dev.jsonl)
# The keyword side (SQLite FTS5) runs on this pool while the calling thread encodes the query and searches FAISS:
# both release the GIL, so with a free core a hybrid query costs about the slower side instead of the sum.
_KEYWORD_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="kb-keyword")


class Mode(str, Enum):
    keyword = "keyword"
    dense = "dense"
    rrf = "rrf"
    hybrid = "hybrid"


def rrf(*ranked: list[tuple[int, float]], k: int = RRF_K) -> list[tuple[int, float]]:
    scores: dict[int, float] = {}
    for lst in ranked:
        for rank, (cid, _) in enumerate(lst):
            scores[cid] = scores.get(cid, 0.0) + 1.0 / (k + rank + 1)
    return sorted(scores.items(), key=lambda x: -x[1])


def zfuse(dense: list[tuple[int, float]], keyword: list[tuple[int, float]],
          weight: float = DENSE_WEIGHT) -> dict[int, float]:
    """Weighted sum of z-scored scores: unlike RRF it keeps how far ahead a hit is, and BM25's long flat tail
    cannot outvote a clear dense match. A chunk missing from one list gets that list's lowest score."""
    def z(lst: list[tuple[int, float]]) -> dict[int, float]:
        if not lst:
            return {}
        s = np.array([x for _, x in lst])
        return dict(zip((c for c, _ in lst), (s - s.mean()) / (s.std() + 1e-9)))

    zd, zk = z(dense), z(keyword)
    floor_d, floor_k = min(zd.values(), default=0.0), min(zk.values(), default=0.0)
    return {c: weight * zd.get(c, floor_d) + (1 - weight) * zk.get(c, floor_k) for c in zd.keys() | zk.keys()}


def in_context(scores: dict[int, float], positions: dict[int, tuple[str, int, int]],
               weight: float = CONTEXT_WEIGHT) -> dict[int, float]:
    """Add a share of the better neighbour's score (same episode, next or previous passage): a conversation
    stays on a topic for several turns, so a paraphrased question that matches the topic around a passage but
    few of its own words still finds it (dev.jsonl: recall@10 0.826 -> 0.913 at 0.3). A neighbour outside the
    candidates counts as the lowest candidate score; a passage with no neighbour at all (a one-passage note or
    abstract) counts its own, so short documents are not ranked below long ones for their length."""
    if not weight or not scores:
        return scores
    floor = min(scores.values())
    at = {positions[c][:2]: s for c, s in scores.items() if c in positions}
    out = {}
    for cid, s in scores.items():
        ep, n, last = positions.get(cid, ("", 0, 0))
        sides = [at.get((ep, m), floor) for m in (n - 1, n + 1) if 0 <= m <= last]
        out[cid] = s + weight * (max(sides) if sides else s)
    return out


def primary_first(ranked: list[tuple[int, float]], chunks: dict[int, Chunk]) -> list[tuple[int, float]]:
    """A write-up passage directly followed by a transcript passage of the same episode swaps with it: the two
    are about as relevant, and the guest's own words with their minute are the better first citation."""
    out = list(ranked)
    for i in range(len(out) - 1):
        a, b = chunks[out[i][0]], chunks[out[i + 1][0]]
        if a.kind == Kind.summary and b.kind == Kind.transcript and a.episode_id == b.episode_id:
            out[i], out[i + 1] = (out[i + 1][0], out[i][1]), (out[i][0], out[i + 1][1])
    return out


def _words(text: str) -> set[str]:
    return set(map(str.lower, _TERM.findall(text)))


def collapse(ranked: list[tuple[int, float]], chunks: dict[int, Chunk], threshold: float = 0.8,
             limit: int | None = None) -> list[tuple[int, float]]:
    """Drop hits that overlap a better hit's characters or repeat its words (quoted replies, reposts); stop once
    `limit` hits are kept (what lies below them is never shown, and the pairwise check grows with the square)."""
    kept: list[tuple[int, float]] = []
    kept_words: list[set[str]] = []
    for cid, score in ranked:
        if limit is not None and len(kept) >= limit:
            break
        c = chunks.get(cid)
        if c is None:
            continue
        w = _words(c.text)
        dup = False
        for (kid, _), kw in zip(kept, kept_words):
            k = chunks[kid]
            if k.source == c.source and k.char_start < c.char_end and c.char_start < k.char_end and k.episode_id == c.episode_id:
                dup = True
            elif w and kw and len(w & kw) / min(len(w), len(kw)) >= threshold:
                dup = True
            if dup:
                break
        if not dup:
            kept.append((cid, score))
            kept_words.append(w)
    return kept


def to_hit(c: Chunk, score: float) -> Hit:
    return Hit(chunk_id=c.id, text=c.text, score=round(float(score), 6), speaker=c.speaker, speakers=c.speakers,
               start=format_clock(c.start), end=format_clock(c.end), start_seconds=c.start,
               episode=EpisodeRef(id=c.episode_id, title=c.episode_title), source=c.source, kind=c.kind,
               section=c.section, char_start=c.char_start, char_end=c.char_end, themes=list(c.themes))


class Retriever:
    """Ranks chunks for a query; the store and index are passed in so the library controls reloading."""

    def __init__(self, store: Store, index: VectorIndex, encode_query: Callable[[str], np.ndarray],
                 candidates: int = 100, model: str = "", dense_weight: float = DENSE_WEIGHT,
                 context_weight: float = CONTEXT_WEIGHT):
        self.store, self.index, self.encode_query, self.candidates = store, index, encode_query, candidates
        self.model, self.dense_weight, self.context_weight = model, dense_weight, context_weight

    def dense(self, query: str, n: int, allowed: np.ndarray | None) -> list[tuple[int, float]]:
        """A chunk's score is the mean of its best vector (often one sentence window) and its own whole-chunk
        vector: the window finds the remark, the chunk vector keeps a passage that only mentions it in passing
        from outranking one that is about it (dev set: MRR@10 0.587 -> 0.629 over the best vector alone)."""
        q = self.encode_query(query)
        best = self.index.search(q, n, allowed)
        if not self.model or not best:
            return best
        own = self.store.chunk_vectors([cid for cid, _ in best], self.model)
        mixed = [(cid, (1 - OWN_WEIGHT) * s + OWN_WEIGHT * float(own[cid] @ q) if cid in own else s) for cid, s in best]
        return sorted(mixed, key=lambda x: -x[1])

    def keyword(self, query: str, n: int, filters: Filters | None) -> list[tuple[int, float]]:
        return self.store.keyword_search(query_terms(query), n, filters)

    def ranked(self, query: str, filters: Filters | None = None, mode: Mode = Mode.hybrid,
               allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Candidates best first; `allowed` is `filters` as chunk ids, when the caller has it already."""
        n = self.candidates
        if mode == Mode.keyword:
            return self.keyword(query, n, filters)
        if allowed is None:
            allowed = self.store.filter_ids(filters)
        if mode == Mode.dense:
            return self.dense(query, n, allowed)
        keyword_side = _KEYWORD_POOL.submit(self.keyword, query, n, filters)
        dense = self.dense(query, n, allowed)
        keyword = keyword_side.result()
        if mode == Mode.rrf:
            return rrf(dense, keyword)
        return self.settle(query, zfuse(dense, keyword, self.dense_weight))

    def settle(self, query: str, fused: dict[int, float], boost: float = SPEAKER_BOOST) -> list[tuple[int, float]]:
        """The fused scores, best first, after what every fusion gets: `boost` for the words of someone the
        question names (a question naming someone wants their own words before passages about them), then the
        neighbouring passages' context."""
        linked = linked_speakers(query, self.store.speaker_profiles())
        if linked:
            for cid, c in self.store.chunks(list(fused)).items():
                if any((c.episode_id, sp) in linked for sp in c.speakers):
                    fused[cid] += boost
        if self.context_weight:
            fused = in_context(fused, self.store.positions(list(fused)), self.context_weight)
        return sorted(fused.items(), key=lambda x: -x[1])

    def evidence(self, query: str, ranked: list[tuple[int, float]], chunks: dict[int, Chunk], k: int,
                 allowed: np.ndarray | None) -> list[tuple[int, float]]:
        """Put the transcript passage a write-up summarises just before the write-up: the guest's own words,
        with speaker and minute, are what a citation should point to. A write-up paragraph spans several
        topics, so the link goes from its sentence window closest to the question to the closest transcript
        window of the episode (windows, not chunk vectors: those share the episode header and all look alike)."""
        out: list[tuple[int, float]] = []
        placed: set[int] = set()
        for cid, score in ranked:
            if len(out) >= k:
                break
            if cid in placed:
                continue
            c = chunks[cid]
            if c.kind == Kind.summary and self.model:
                for link in self._transcript_links(query, c, allowed):
                    if link not in placed:
                        out.append((link, score))
                        placed.add(link)
            out.append((cid, score))
            placed.add(cid)
        chunks.update(self.store.chunks([c for c, _ in out if c not in chunks]))  # the linked passages
        return primary_first(out[:k], chunks)

    def _transcript_links(self, query: str, summary: Chunk, allowed: np.ndarray | None) -> list[int]:
        """Transcript chunks behind the write-up's windows that answer the question (at most EVIDENCE_LINKS)."""
        _, own = self.store.window_vectors(self.model, chunk_id=summary.id)
        ids, vecs = self._transcript_windows(summary, allowed)
        if not len(own) or not len(ids):
            return []
        fit = own @ self.encode_query(query)
        links: list[int] = []
        for w in np.argsort(-fit)[:EVIDENCE_LINKS]:
            if fit[w] < fit.max() - EVIDENCE_FOCUS:
                break
            sims = vecs @ own[w]
            best = int(np.argmax(sims))
            if sims[best] >= EVIDENCE_MIN and int(ids[best]) not in links:
                links.append(int(ids[best]))
        return links

    def _transcript_windows(self, summary: Chunk, allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """The window vectors (chunk ids, matrix) of the write-up's episode's transcript chunks the filter allows.
        The one part a backend answers its own way (Milvus applies the filter as an expression)."""
        ids, vecs = self.store.window_vectors(self.model, episode_id=summary.episode_id, kind=Kind.transcript.value)
        if allowed is None:
            return ids, vecs
        keep = np.isin(ids, allowed)
        return ids[keep], vecs[keep]

    def search(self, query: str, k: int = 10, filters: Filters | None = None, mode: Mode = Mode.hybrid) -> list[Hit]:
        allowed = self.store.filter_ids(filters)
        ranked = self.ranked(query, filters, mode, allowed)[: max(k * 3, 30)]
        chunks = self.store.chunks([cid for cid, _ in ranked])
        ranked = collapse(ranked, chunks, limit=k)
        if mode == Mode.hybrid:
            ranked = self.evidence(query, ranked, chunks, k, allowed)
        return [to_hit(chunks[cid], s) for cid, s in ranked[:k]]
