"""The FAISS index, derived from the vectors in SQLite: exact (flat) while that is fast enough, approximate
(HNSW) beyond; kept in step with the store per changed episode instead of being rebuilt for every batch."""
from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import faiss

    from search.store import Store

# From this many vectors `auto` picks HNSW. bench/ingest.py on 2 shared cores, 100 candidates per query: flat
# p50 1.2 ms at 9.7k vectors, 3.6 ms at 20k, 69 ms at 100k (loaded machine); HNSW 12 ms at 100k with
# recall@10 = 1.0 against flat. Flat passes ~20 ms between ~30k and ~100k vectors depending on load.
HNSW_FROM = 50_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128
REBUILD_FRACTION = 0.25  # patching more than this share of episodes (or HNSW tombstones) costs more than a rebuild


class _Faiss:
    """faiss, imported on first use: `kb stats` and `kb episodes` never touch the index (0.1-0.2 s of imports).
    The product searches one query at a time: OpenMP threads only add spin-up and contention there (measured on
    the default corpus, 2 busy cores: 31-38 ms a query with 2 threads, 4-5 ms with 1), so faiss gets one."""

    module = None

    def __getattr__(self, name: str):
        if _Faiss.module is None:
            import faiss as module

            module.omp_set_num_threads(1)
            _Faiss.module = module
        return getattr(_Faiss.module, name)


if not TYPE_CHECKING:
    faiss = _Faiss()


class VectorIndex(ABC):
    kind: str

    def __init__(self) -> None:
        # what the index holds, so the next store version can be applied as a patch
        self.version = -1
        self.model = ""
        self.episodes: dict[str, tuple[str, list[int]]] = {}  # episode id -> (content hash, chunk ids)

    @abstractmethod
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...

    @abstractmethod
    def remove(self, ids: np.ndarray) -> None:
        """Drop every vector of these chunk ids."""

    @abstractmethod
    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(chunk id, inner product) pairs, best first; `allowed` restricts to those chunk ids."""

    @property
    @abstractmethod
    def size(self) -> int: ...

    @property
    def live(self) -> int:
        """Vectors a search can return (HNSW keeps removed ones as tombstones)."""
        return self.size

    def save(self, path: Path) -> None:
        faiss.write_index(self.index, str(path))

    def copy(self) -> VectorIndex:
        """An independent copy to patch while searches keep using this one (FAISS is not safe to write
        while another thread reads)."""
        new = type(self)(0, faiss.clone_index(self.index))
        new.version, new.model, new.episodes = self.version, self.model, dict(self.episodes)
        return new

    def _pooled(self, scores: np.ndarray, ids: np.ndarray, k: int) -> list[tuple[int, float]]:
        """A chunk may own several vectors (its sentence windows); its score is the best of them."""
        best: dict[int, float] = {}
        for i, s in zip(ids[0], scores[0]):
            if i >= 0 and int(i) not in best:
                best[int(i)] = float(s)
        return list(best.items())[:k]


class FlatIndex(VectorIndex):
    """Exact inner-product search: on normalised vectors that is cosine similarity."""

    kind = "flat"

    def __init__(self, dim: int, index: faiss.Index | None = None):
        super().__init__()
        self.index = index or faiss.IndexIDMap(faiss.IndexFlatIP(dim))

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))

    def remove(self, ids: np.ndarray) -> None:
        if len(ids):
            self.index.remove_ids(faiss.IDSelectorBatch(np.asarray(ids, dtype=np.int64)))

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        if self.size == 0 or k <= 0:
            return []
        params = None
        if allowed is not None:
            if len(allowed) == 0:
                return []
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed.astype(np.int64)))
        want = min(self.size, k * 8)  # room for several vectors of one chunk
        scores, ids = self.index.search(query.reshape(1, -1).astype(np.float32), want, params=params)
        return self._pooled(scores, ids, k)

    @property
    def size(self) -> int:
        return int(self.index.ntotal)


class HNSWIndex(VectorIndex):
    """Approximate inner-product search over an HNSW graph, for collections where a flat scan is too slow.
    HNSW cannot delete, so removed chunk ids become tombstones that every search filters out; a patch that
    would re-add a tombstoned id, or leave too many tombstones, rebuilds instead (see `sync_index`)."""

    kind = "hnsw"

    def __init__(self, dim: int, index: faiss.Index | None = None, ef_search: int = HNSW_EF_SEARCH):
        super().__init__()
        if index is None:
            inner = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            index = faiss.IndexIDMap(inner)
        self.index = index
        self.ef_search = ef_search
        self.dead: set[int] = set()
        self.dead_vectors = 0

    def copy(self) -> VectorIndex:
        new = super().copy()
        new.dead, new.dead_vectors = set(self.dead), self.dead_vectors
        return new

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            if self.dead & set(ids.tolist()):
                raise ValueError("cannot re-add a removed id to an HNSW index; rebuild it")
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))

    def remove(self, ids: np.ndarray) -> None:
        self.set_dead(self.dead | {int(i) for i in ids})

    def set_dead(self, dead: set[int]) -> None:
        """Tombstone these chunk ids and count the vectors they own (a chunk has several)."""
        held = faiss.vector_to_array(self.index.id_map)
        self.dead = dead
        self.dead_vectors = int(np.isin(held, np.fromiter(dead, dtype=np.int64)).sum()) if dead else 0

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        if self.live == 0 or k <= 0:
            return []
        keep = []  # the selectors must outlive the search call
        if allowed is not None:
            if len(allowed) == 0:
                return []
            keep.append(faiss.IDSelectorBatch(allowed.astype(np.int64)))
        if self.dead:
            keep.append(faiss.IDSelectorBatch(np.fromiter(self.dead, dtype=np.int64)))
            keep.append(faiss.IDSelectorNot(keep[-1]))
            if allowed is not None:
                keep.append(faiss.IDSelectorAnd(keep[0], keep[-1]))
        want = min(self.size, k * 8)
        params = faiss.SearchParametersHNSW(efSearch=max(self.ef_search, want))
        if keep:
            params.sel = keep[-1]
        scores, ids = self.index.search(query.reshape(1, -1).astype(np.float32), want, params=params)
        return self._pooled(scores, ids, k)

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    @property
    def live(self) -> int:
        return self.size - self.dead_vectors


INDEX_KINDS: dict[str, type[VectorIndex]] = {"flat": FlatIndex, "hnsw": HNSWIndex}


def choose_kind(n: int, kind: str = "auto") -> str:
    """`flat` or `hnsw` for n vectors: `auto` stays exact until a flat scan gets too slow."""
    if kind == "auto":
        return "hnsw" if n >= HNSW_FROM else "flat"
    if kind not in INDEX_KINDS:
        raise ValueError(f"unknown index type {kind!r}: use auto, flat or hnsw")
    return kind


def make_index(dim: int, n: int, kind: str = "auto") -> VectorIndex:
    """Pick the index type for a collection of n vectors."""
    return INDEX_KINDS[choose_kind(n, kind)](dim)


def _stamp(index: VectorIndex) -> dict:
    out = {"version": index.version, "model": index.model, "count": index.live, "kind": index.kind,
           "episodes": index.episodes}
    if isinstance(index, HNSWIndex):
        out["dead"] = sorted(index.dead)
    return out


def write_index(path: Path, index: VectorIndex) -> None:
    """Write the FAISS file and its stamp, each atomically (a reader sees the old or the new file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".faiss.tmp")
    index.save(tmp)
    os.replace(tmp, path)
    stamp_tmp = path.with_suffix(".json.tmp")
    stamp_tmp.write_text(json.dumps(_stamp(index)))
    os.replace(stamp_tmp, path.with_suffix(".json"))


def read_index(path: Path) -> VectorIndex | None:
    """The saved index with what it holds, or None when missing, damaged or from before episode tracking."""
    stamp = path.with_suffix(".json")
    try:
        meta = json.loads(stamp.read_text())
        raw = faiss.read_index(str(path))
    except (OSError, ValueError, RuntimeError):
        return None
    kind = meta.get("kind", "flat")
    if kind not in INDEX_KINDS or not isinstance(meta.get("episodes"), dict):
        return None
    index = INDEX_KINDS[kind](0, raw)
    index.version, index.model = int(meta.get("version", -1)), str(meta.get("model", ""))
    index.episodes = {e: (h, list(ids)) for e, (h, ids) in meta["episodes"].items()}
    if isinstance(index, HNSWIndex):
        index.set_dead(set(meta.get("dead", [])))
    if index.live != meta.get("count"):
        return None
    return index


def load_or_build(path: Path, version: int, model: str, ids: np.ndarray, vectors: np.ndarray,
                  kind: str = "auto") -> VectorIndex:
    """Reuse the FAISS file when it matches the store version and model, else rebuild it from stored vectors
    (without episode tracking: `sync_index` then rebuilds once more to be able to patch)."""
    saved = read_index(path)
    if saved is not None and saved.version == version and saved.model == model and saved.live == len(ids):
        return saved
    dim = vectors.shape[1] if len(ids) else 384
    index = make_index(dim, len(ids), kind)
    index.add(ids, vectors)
    index.version, index.model = version, model
    write_index(path, index)
    return index


def build_index(store: Store, model: str, kind: str = "auto") -> VectorIndex:
    """Every stored vector into a fresh index of the chosen type."""
    version = store.version()
    ids, vectors = store.vectors(model)
    index = make_index(vectors.shape[1] if len(ids) else 384, len(ids), kind)
    index.add(ids, vectors)
    index.version, index.model = version, model
    index.episodes = store.episode_chunk_ids()
    return index


def sync_index(path: Path, store: Store, model: str, kind: str = "auto",
               current: VectorIndex | None = None) -> VectorIndex:
    """The index for the store's current version. Starts from `current` (the one in memory) or the file, and
    applies only the episodes whose content hash changed: their old chunk ids are removed and their new
    vectors added, so a batch of 10 new episodes costs 10 episodes of work, not a rebuild. Rebuilds when
    there is nothing to start from, the model or chosen index type changes, or most of it changed.
    `current` is never modified (searches may be using it); the result is saved to `path`."""
    for _ in range(3):  # a batch committed while we read: read again
        version = store.version()
        base = current if current is not None else read_index(path)
        if base is not None and base.version == version and base.model == model:
            return base
        hashes = {eid: h for eid, (h, _) in store.episode_state().items()}
        index = _patched(base, store, model, kind, hashes)
        if store.version() == version:
            index.version = version
            write_index(path, index)
            return index
    raise RuntimeError("the store kept changing while the index was being updated")


def _patched(base: VectorIndex | None, store: Store, model: str, kind: str,
             hashes: dict[str, str]) -> VectorIndex:
    if base is None or base.model != model or base.live == 0:
        return build_index(store, model, kind)
    changed = [e for e, h in hashes.items() if base.episodes.get(e, ("",))[0] != h]
    gone = [e for e in base.episodes if e not in hashes or e in changed]
    if not changed and not gone:
        return base.copy()
    old_ids = np.array([i for e in gone for i in base.episodes[e][1]], dtype=np.int64)
    new_ids, new_vecs = store.vectors(model, episodes=changed) if changed else (np.zeros(0, np.int64), None)
    n_after = base.live + len(new_ids) - _vector_count(base, old_ids)
    too_many = len(changed) + len(gone) > max(20, REBUILD_FRACTION * len(hashes))
    reused = isinstance(base, HNSWIndex) and (
        base.dead_vectors + len(old_ids) > REBUILD_FRACTION * max(base.size, 1)
        or bool((base.dead | set(old_ids.tolist())) & set(new_ids.tolist())))  # a reused rowid
    if too_many or reused or choose_kind(n_after, kind) != base.kind:
        return build_index(store, model, kind)
    index = base.copy()
    index.remove(old_ids)
    index.add(new_ids, new_vecs)
    chunk_ids = store.episode_chunk_ids(changed) if changed else {}
    for e in gone:
        index.episodes.pop(e, None)
    index.episodes.update(chunk_ids)
    return index


def _vector_count(index: VectorIndex, chunk_ids: np.ndarray) -> int:
    """Roughly how many vectors these chunks own (windows included), to choose the type after a patch."""
    if not len(chunk_ids) or not index.episodes:
        return 0
    chunks = sum(len(ids) for _, ids in index.episodes.values())
    return int(len(chunk_ids) * index.live / max(chunks, 1))
