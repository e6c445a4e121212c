"""FAISS index types (exact flat, approximate HNSW) and keeping the index in step with the store by patches."""
from __future__ import annotations

import numpy as np
import pytest

from ingest.pipeline import ingest
from search import vector_index as vi
from search.embedding import FakeEmbedder
from search.store import Store
from search.vector_index import FlatIndex, HNSWIndex, choose_kind, make_index, read_index, sync_index
from tests.helpers import write_corpus
from tests.ingest.test_notes import NOTES


def _unit(rng: np.random.Generator, n: int, dim: int = 32) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture
def data():
    rng = np.random.default_rng(7)
    vecs = _unit(rng, 600)
    ids = np.repeat(np.arange(200, dtype=np.int64), 3)  # three vectors per chunk, like sentence windows
    return ids, vecs, _unit(rng, 10)


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_index_types_agree_with_brute_force(kind, data):
    ids, vecs, queries = data
    index = make_index(32, len(ids), kind)
    assert index.kind == kind
    index.add(ids, vecs)
    for q in queries:
        scores = vecs @ q
        best = {}
        for i, s in sorted(zip(ids.tolist(), scores.tolist()), key=lambda p: -p[1]):
            best.setdefault(i, s)  # max-pooled per chunk
        want = list(best)[:10]
        got = index.search(q, 10)
        assert [i for i, _ in got] == want
        assert [s for _, s in got] == pytest.approx([best[i] for i in want], abs=1e-5)


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_allowed_ids_restrict_both_types(kind, data):
    ids, vecs, queries = data
    index = make_index(32, len(ids), kind)
    index.add(ids, vecs)
    allowed = np.array([3, 50, 77, 199], dtype=np.int64)
    got = index.search(queries[0], 10, allowed)
    assert {i for i, _ in got} == set(allowed.tolist())
    assert index.search(queries[0], 10, np.zeros(0, dtype=np.int64)) == []


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_removed_ids_are_never_returned(kind, data):
    ids, vecs, queries = data
    index = make_index(32, len(ids), kind)
    index.add(ids, vecs)
    top = [i for i, _ in index.search(queries[0], 5)]
    index.remove(np.array(top[:2], dtype=np.int64))
    assert index.live == 600 - 6
    got = [i for i, _ in index.search(queries[0], 5)]
    assert not set(top[:2]) & set(got) and got[:3] == top[2:]
    got = [i for i, _ in index.search(queries[0], 5, np.array(top[:3], dtype=np.int64))]
    assert got == [top[2]]  # allowed and not removed


def test_hnsw_refuses_to_re_add_a_removed_id(data):
    ids, vecs, _ = data
    index = HNSWIndex(32)
    index.add(ids, vecs)
    index.remove(np.array([5]))
    with pytest.raises(ValueError, match="rebuild"):
        index.add(np.array([5, 5]), vecs[:2])


def test_auto_picks_flat_until_the_threshold():
    assert choose_kind(10) == "flat" and choose_kind(vi.HNSW_FROM) == "hnsw"
    assert choose_kind(vi.HNSW_FROM * 2, "flat") == "flat" and choose_kind(5, "hnsw") == "hnsw"
    with pytest.raises(ValueError):
        choose_kind(5, "ivf")


@pytest.fixture
def store(data_dir):
    s = Store(data_dir / "kb.sqlite")
    yield s
    s.close()


def _results(index, queries: np.ndarray) -> list[list[int]]:
    return [[i for i, _ in index.search(q, 10)] for q in queries]


def _same_results(a, b, queries: np.ndarray) -> bool:
    """Same scores in the same order, and the same ids above the 10th score: the fake embedder's vectors are
    often orthogonal, so many hits tie at 0.0 and which of them fill the last places is arbitrary."""
    for q in queries:
        ha, hb = a.search(q, 10), b.search(q, 10)
        if [round(s, 5) for _, s in ha] != [round(s, 5) for _, s in hb]:
            return False
        cut = ha[-1][1] + 1e-6
        if [i for i, s in ha if s > cut] != [i for i, s in hb if s > cut]:
            return False
    return True


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_sync_patches_changed_episodes_instead_of_rebuilding(kind, store, data_dir, tmp_path, monkeypatch):
    emb = FakeEmbedder()
    corpus = write_corpus(tmp_path / "corpus")
    ingest(store, emb, [corpus])
    path = data_dir / "index.faiss"
    first = sync_index(path, store, emb.name, kind)
    assert first.kind == kind and first.version == store.version() and first.live == len(store.vectors(emb.name)[0])
    queries = emb.encode(["trust and change", "focus notes", "brand new closing paragraph"])
    before = _results(first, queries)

    (corpus / "extra.md").write_text(NOTES.replace("Last paragraph.", "A brand new closing paragraph."), "utf-8")
    (corpus / "thread.txt").unlink()
    ingest(store, emb, [corpus], prune=True)

    def no_rebuild(*_a, **_k):
        raise AssertionError("rebuilt from every vector")

    real_build = vi.build_index
    monkeypatch.setattr(vi, "build_index", no_rebuild)
    patched = sync_index(path, store, emb.name, kind, current=first)
    monkeypatch.setattr(vi, "build_index", real_build)
    assert _results(first, queries) == before  # the index in use was not touched
    fresh = real_build(store, emb.name, kind)
    assert patched.live == fresh.live and patched.episodes == fresh.episodes
    assert _same_results(patched, fresh, queries)
    assert "thread" not in patched.episodes and "extra" in patched.episodes
    loaded = read_index(path)  # the patched index was saved with what it holds
    assert loaded is not None and loaded.version == store.version() and loaded.episodes == fresh.episodes
    assert _results(loaded, queries) == _results(patched, queries) and _same_results(loaded, fresh, queries)
    assert sync_index(path, store, emb.name, kind) .version == store.version()


def test_sync_rebuilds_a_damaged_file(store, data_dir, tmp_path):
    emb = FakeEmbedder()
    ingest(store, emb, [write_corpus(tmp_path / "corpus")])
    path = data_dir / "index.faiss"
    sync_index(path, store, emb.name)
    path.write_bytes(b"not faiss")
    assert read_index(path) is None
    index = sync_index(path, store, emb.name)
    assert index.live == len(store.vectors(emb.name)[0]) and read_index(path) is not None


def test_flat_is_exact_copy_and_keeps_the_original(data):
    ids, vecs, queries = data
    index = FlatIndex(32)
    index.add(ids, vecs)
    twin = index.copy()
    twin.remove(np.arange(100, dtype=np.int64))
    assert index.live == 600 and twin.live == 300
