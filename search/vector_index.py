"""The FAISS index, derived from the vectors in SQLite; swappable by size (exact now, approximate at scale)."""
from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from pathlib import Path

import faiss
import numpy as np


class VectorIndex(ABC):
    kind: str

    @abstractmethod
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...

    @abstractmethod
    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(chunk id, inner product) pairs, best first; `allowed` restricts to those chunk ids."""

    @property
    @abstractmethod
    def size(self) -> int: ...

    @abstractmethod
    def save(self, path: Path) -> None: ...


class FlatIndex(VectorIndex):
    """Exact inner-product search: on normalised vectors that is cosine similarity. A chunk may own several
    vectors (its sentence windows); its score is the best of them."""

    kind = "flat"

    def __init__(self, dim: int, index: faiss.Index | None = None):
        self.index = index or faiss.IndexIDMap(faiss.IndexFlatIP(dim))

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))

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
        best: dict[int, float] = {}
        for i, s in zip(ids[0], scores[0]):
            if i >= 0 and int(i) not in best:
                best[int(i)] = float(s)
        return list(best.items())[:k]

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    def save(self, path: Path) -> None:
        faiss.write_index(self.index, str(path))


def make_index(dim: int, n: int) -> VectorIndex:
    """Pick the index type for a collection of n vectors."""
    return FlatIndex(dim)


def load_or_build(path: Path, version: int, model: str, ids: np.ndarray, vectors: np.ndarray) -> VectorIndex:
    """Reuse the FAISS file when it matches the store version and model, else rebuild it from stored vectors."""
    stamp = path.with_suffix(".json")
    want = {"version": version, "model": model, "count": int(len(ids))}
    if path.exists() and stamp.exists():
        try:
            if json.loads(stamp.read_text()) == want:
                return FlatIndex(0, faiss.read_index(str(path)))
        except (ValueError, RuntimeError):
            pass  # a damaged file is rebuilt below
    dim = vectors.shape[1] if len(ids) else 384
    index = make_index(dim, len(ids))
    index.add(ids, vectors)
    tmp = path.with_suffix(".faiss.tmp")
    index.save(tmp)
    os.replace(tmp, path)
    stamp.write_text(json.dumps(want))
    return index
