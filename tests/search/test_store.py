"""The SQLite store: round trips, migrations, and a FAISS index that is only ever derived from stored vectors."""
from __future__ import annotations

import sqlite3

import numpy as np

from core.knowledge_base import KnowledgeBase
from core.models import Chunk, Document, Filters, Kind, Segment
from search.migrations import MIGRATIONS
from search.store import Store
from tests.helpers import write_corpus


def _doc() -> tuple[Document, list[Chunk]]:
    doc = Document(id="ep1", title="Episode One", source="ep1.txt", kind=Kind.transcript,
                   segments=[Segment(text="hello", char_start=0, char_end=5)], speakers={"Ana": "Ana Lima"},
                   meta={"year": 2024})
    chunks = [Chunk(episode_id="ep1", episode_title="Episode One", ordinal=i, text=f"passage {i} about trust",
                    speaker="Ana", speakers=["Ana"], start=10.0 * i, end=10.0 * i + 9.5, char_start=100 * i,
                    char_end=100 * i + 50, source="ep1.txt", kind=Kind.transcript, section=None) for i in range(3)]
    return doc, chunks


def test_round_trip_of_episodes_chunks_and_vectors(data_dir):
    store = Store(data_dir / "kb.sqlite")
    doc, chunks = _doc()
    hashes = [f"h{i}" for i in range(3)]
    vecs = np.eye(3, 4, dtype=np.float32)
    store.put_embeddings(hashes, vecs, "m")
    with store.transaction():
        store.replace_episode(doc, chunks, "content-hash", "/abs/ep1.txt", hashes, ["Episode One | Ana"] * 3)
        store.bump_version()
    [ep] = store.episodes()
    assert (ep.id, ep.title, ep.source, ep.kind, ep.speakers, ep.chunks, ep.meta) == (
        "ep1", "Episode One", "ep1.txt", Kind.transcript, ["Ana Lima"], 3, {"year": 2024})
    assert store.episode_state() == {"ep1": ("content-hash", "/abs/ep1.txt")}
    stored = store.episode_chunks("ep1")
    assert [c.model_dump(exclude={"id"}) for c in stored] == [c.model_dump(exclude={"id"}) for c in chunks]
    ids, mat = store.vectors("m")
    assert list(ids) == [c.id for c in stored] and np.array_equal(mat, vecs)
    assert store.vectors("other-model")[0].size == 0
    assert store.vector_count("m") == 3 and store.vector_count("other-model") == 0
    assert store.missing_embeddings(["h0", "h9", "h9"], "m") == ["h9"]
    assert [c.ordinal for c in store.neighbours(stored[1].id, 1)] == [0, 1, 2]
    assert store.neighbours(10**9, 1) == []
    assert store.keyword_search(["trust"], 10) and store.keyword_search(["absent"], 10) == []
    assert store.counts() == (1, 3, 3) and store.version() == 1
    store.close()

    # reopening reads the same data
    again = Store(data_dir / "kb.sqlite")
    assert [c.text for c in again.episode_chunks("ep1")] == [c.text for c in chunks]
    with again.transaction():
        again.delete_episode("ep1")
    assert again.counts() == (0, 0, 3) and again.keyword_search(["trust"], 10) == []
    assert again.prune_embeddings() == 3
    again.close()


def test_failed_transaction_leaves_the_previous_version(data_dir):
    store = Store(data_dir / "kb.sqlite")
    doc, chunks = _doc()
    try:
        with store.transaction():
            store.replace_episode(doc, chunks, "h", "/p", ["a", "b", "c"], ["x"] * 3)
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert store.counts() == (0, 0, 0) and store.version() == 0


def test_migrations_recorded_and_not_reapplied(data_dir):
    path = data_dir / "kb.sqlite"
    Store(path).close()
    db = sqlite3.connect(path)
    rows = db.execute("SELECT name, applied_at FROM _migrations ORDER BY name").fetchall()
    assert [r[0] for r in rows] == sorted(name for name, _ in MIGRATIONS)
    assert "m001_initial" in {r[0] for r in rows}
    db.close()
    Store(path).close()  # re-opening an existing store must not apply (and fail on) the migrations again
    db = sqlite3.connect(path)
    assert db.execute("SELECT name, applied_at FROM _migrations ORDER BY name").fetchall() == rows
    db.close()


def test_faiss_rebuilt_from_stored_vectors_gives_the_same_results(data_dir, tmp_path):
    corpus = write_corpus(tmp_path / "corpus")
    kb = KnowledgeBase()
    kb.ingest([corpus])
    faiss_file = kb.settings.faiss_path
    assert faiss_file.exists()
    queries = ["trust built slowly", "quoted reply thread", "focus notifications"]
    before = {q: [(h.chunk_id, h.score) for h in kb.search(q, 5, mode="dense")] for q in queries}
    assert all(before.values())
    kb.store.close()

    faiss_file.unlink()
    kb2 = KnowledgeBase()
    after = {q: [(h.chunk_id, h.score) for h in kb2.search(q, 5, mode="dense")] for q in queries}
    assert faiss_file.exists()  # rebuilt from SQLite, no re-embedding needed
    assert after.keys() == before.keys()
    for q in queries:
        assert [c for c, _ in after[q]] == [c for c, _ in before[q]]
        assert np.allclose([s for _, s in after[q]], [s for _, s in before[q]])
    assert kb2.index().size == len(kb2.store.vectors(kb2.embedder.name)[0]) >= kb2.store.counts()[1]
    assert kb2.store.vector_count(kb2.embedder.name) == kb2.index().size  # chunks and sentence windows


def test_no_pickle_files_in_the_data_dir(data_dir, tmp_path):
    kb = KnowledgeBase()
    kb.ingest([write_corpus(tmp_path / "corpus")])
    kb.search("trust", 3)
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert any(p.suffix == ".sqlite" for p in files)
    assert not [p for p in files if p.suffix in {".pkl", ".pickle", ".joblib", ".npy", ".npz"}]
    for p in files:  # nor pickled data under another name
        assert not p.read_bytes()[:2] in {b"\x80\x03", b"\x80\x04", b"\x80\x05"}, p


def test_keyword_search_on_a_large_store_keeps_bm25_of_rows_with_a_rare_word(data_dir, monkeypatch):
    """Past the split size, the most common query words only re-score rows holding a rarer word: those rows keep
    the plain OR's BM25 scores; rows with only common words drop out; filters still apply."""
    import search.store as store_module

    store = Store(data_dir / "kb.sqlite")
    doc, _ = _doc()
    texts = ([f"common filler words {i}" for i in range(30)] + ["rare gem with common filler", "rare gem alone",
                                                                "another rare thing"])
    chunks = [Chunk(episode_id="ep1", episode_title="Episode One", ordinal=i, text=t, speaker="Ana", speakers=["Ana"],
                    start=float(i), end=i + 0.5, char_start=0, char_end=len(t), source="ep1.txt",
                    kind=Kind.transcript, section=None) for i, t in enumerate(texts)]
    with store.transaction():
        store.replace_episode(doc, chunks, "h", "/abs/ep1.txt", [f"h{i}" for i in range(len(chunks))], [""] * len(chunks))
        store.bump_version()
    terms = ["common", "filler", "rare", "gem"]
    plain = dict(store.keyword_search(terms, 100))  # below the split size: the plain OR
    assert len(plain) == 33
    monkeypatch.setattr(store_module, "KEYWORD_SPLIT_FROM", 10)
    monkeypatch.setattr(store_module, "KEYWORD_ROWS", 5)
    split = store.keyword_search(terms, 100)
    by_text = {c.id: c.text for c in store.episode_chunks("ep1")}
    assert sorted(by_text[i] for i, _ in split) == sorted(t for t in texts if "rare" in t)
    assert all(abs(s - plain[i]) < 1e-9 for i, s in split)
    assert [i for i, _ in split] == sorted((i for i, _ in split), key=lambda i: -plain[i])
    assert store.keyword_search(terms, 100, Filters(kind="note")) == []
    assert len(store.keyword_search(terms, 100, Filters(kind="transcript"))) == 3
    store.close()


def test_positions_give_each_passage_its_episode_ordinal_and_last_ordinal_after_every_batch(data_dir):
    store = Store(data_dir / "kb.sqlite")
    doc, chunks = _doc()

    def write(n: int) -> list[int]:
        longer = [chunks[0].model_copy(update={"ordinal": i, "text": f"passage {i}"}) for i in range(n)]
        hashes = [f"h{i}" for i in range(n)]
        store.put_embeddings(hashes, np.eye(n, 4, dtype=np.float32), "m")
        with store.transaction():
            store.replace_episode(doc, longer, f"hash-{n}", "/abs/ep1.txt", hashes, ["Episode One | Ana"] * n)
            store.bump_version()
        return [c.id for c in store.episode_chunks("ep1")]

    ids = write(3)
    assert store.positions(ids) == {cid: ("ep1", i, 2) for i, cid in enumerate(ids)}
    ids = write(5)  # a new version: the episode's last ordinal is read again, not kept from the first query
    assert store.positions(ids + [10**9]) == {cid: ("ep1", i, 4) for i, cid in enumerate(ids)}
    store.close()


def test_chunk_ids_are_never_reused(data_dir):
    """SQLite hands a deleted last rowid out again; the FAISS index would then see a new chunk under a dead id
    and rebuild everything instead of patching. Ids come from a counter that only goes up."""
    from core.models import Chunk, Document, Kind

    store = Store(data_dir / "kb.sqlite")

    def put(eid: str, n: int) -> list[int]:
        doc = Document(id=eid, title=eid, source="s.txt", kind=Kind.note, segments=[])
        chunks = [Chunk(id=0, episode_id=eid, episode_title=eid, ordinal=i, text=f"text {eid} {i}", char_start=0,
                        char_end=1, source="s.txt", kind=Kind.note) for i in range(n)]
        with store.transaction():
            store.replace_episode(doc, chunks, "h" + eid, "/x/s.txt", [f"e{eid}{i}" for i in range(n)], [""] * n)
        return [c.id for c in store.episode_chunks(eid)]

    first = put("a", 2)
    last = put("b", 3)
    with store.transaction():
        store.delete_episode("b")  # the episode holding the highest ids goes
    again = put("c", 2)
    assert min(again) > max(last) > max(first)
    replaced = put("c", 2)  # replacing an episode gives its chunks new ids too
    assert min(replaced) > max(again)
    store.close()


def test_lookups_by_id_list_work_past_sqlite_variable_cap(data_dir):
    """Lists longer than SQLite's bound-variable cap (999 before 3.32) are read in batches, not in one statement."""
    from search.store import in_batches
    from search.theme_store import only_episodes

    assert [(list(p), m) for p, m in in_batches([1, 2, 3], size=2)] == [([1, 2], "?,?"), ([3], "?")]
    assert list(in_batches([])) == []
    store = Store(data_dir / "kb.sqlite")
    doc, chunks = _doc()
    hashes = [f"h{i}" for i in range(3)]
    store.put_embeddings(hashes, np.eye(3, 4, dtype=np.float32), "m")
    with store.transaction():
        store.replace_episode(doc, chunks, "content-hash", "/abs/ep1.txt", hashes, ["Episode One | Ana"] * 3)
        store.bump_version()
    store.db.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)  # the old cap, whatever this SQLite's default
    real = [c.id for c in store.episode_chunks("ep1")]
    many = list(range(10_000_000, 10_002_500)) + real  # 2,503 ids: only the real ones exist
    assert sorted(store.chunks(many)) == sorted(real)
    assert sorted(store.chunk_vectors(many, "m")) == sorted(real)
    assert sorted(store.positions(many)) == sorted(real)
    assert store.missing_embeddings([f"x{i}" for i in range(1500)] + hashes, "m") == [f"x{i}" for i in range(1500)]
    assert only_episodes(store, [f"other{i}" for i in range(1500)] + ["ep1"])
    assert not only_episodes(store, [f"other{i}" for i in range(1500)])
