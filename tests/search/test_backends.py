"""Ingest, answers and `kb check` on both storage backends, and what only the Milvus one has: BM25 terms as FTS5
makes them, filter expressions, and atomic publishing (a publish that dies leaves the previous version whole, and
a reader never sees a half-published version)."""
from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from core.knowledge_base import KnowledgeBase
from core.models import Filters, Kind
from core.settings import Settings
from tests.helpers import TRANSCRIPT_ID, write_corpus
from tests.reliability.conftest import episode_vtt

pytestmark = pytest.mark.usefixtures("backend")


def make_kb(data_dir, **kw) -> KnowledgeBase:
    return KnowledgeBase(Settings(data_dir=data_dir, model="fake", min_chunk_words=0, max_chunk_words=40, **kw))


def texts(kb: KnowledgeBase, query: str, k: int = 10, **filters) -> list[tuple[str, str]]:
    return [(h.episode.id, h.text) for h in kb.search(query, k, Filters(**filters) if filters else None)]


def test_ingest_replace_and_prune_reach_queries(tmp_path, data_dir, backend):
    corpus = tmp_path / "corpus"
    for n in range(3):
        (corpus / f"episode-{n:03d}.vtt").parent.mkdir(parents=True, exist_ok=True)
        (corpus / f"episode-{n:03d}.vtt").write_text(episode_vtt(n, 6))
    kb = make_kb(data_dir)
    assert kb.backend.name == backend
    report = kb.ingest([corpus])
    assert sorted(report.added) == ["episode-000", "episode-001", "episode-002"]
    assert {e for e, _ in texts(kb, "topic1 point2", 3)} == {"episode-001"}

    (corpus / "episode-001.vtt").write_text(episode_vtt(1, 6).replace("topic1", "renamed1"))
    report = kb.ingest([corpus])
    assert report.updated == ["episode-001"]
    assert all("topic1" not in t for _, t in texts(kb, "topic1 point2"))
    assert {e for e, _ in texts(kb, "renamed1 point2", 3)} == {"episode-001"}

    again = kb.ingest([corpus])  # idempotent: nothing re-written, nothing re-published
    assert again.added == again.updated == again.removed == [] and again.index_version == report.index_version
    if backend == "milvus":  # a publish replayed on the same store writes nothing, and no row is doubled
        b = kb.backend
        assert b.publish(kb.embedder.name) == 0
        P = b.published()[0]
        assert b._count(b.chunks_c, f"v_from <= {P} and v_to > {P}") == kb.store.counts()[1]

    (corpus / "episode-002.vtt").unlink()
    assert kb.ingest([corpus], prune=True).removed == ["episode-002"]
    assert "episode-002" not in {e for e, _ in texts(kb, "topic2 point1 word0", 10)}
    code, check = run_check()
    assert code == 0 and check["ok"], check


def test_answers_and_chunk_context_read_from_the_backend(tmp_path, data_dir):
    kb = make_kb(data_dir)
    kb.ingest([write_corpus(tmp_path / "corpus")])
    answer = kb.ask("How did Maria build trust during the change?")
    cited = [*answer.citations, *answer.closest]
    assert cited and any(c.episode.id == TRANSCRIPT_ID and c.speaker == "Maria" for c in cited)
    stored = kb.store.chunks([c.chunk_id for c in cited])
    assert all(stored[c.chunk_id].episode_id == c.episode.id and stored[c.chunk_id].text == c.text for c in cited)
    hit = kb.search("momentum small wins", 1, Filters(kind=Kind.transcript))[0]
    around = kb.chunk(hit.chunk_id, 1)
    assert hit.chunk_id in [c.id for c in around] and len(around) >= 2
    assert [c.id for c in around] == [c.id for c in kb.store.neighbours(hit.chunk_id, 1)]
    assert all(c.sentences for c in around)  # answers quote whole sentences from these


def test_theme_filter_and_retag_reach_queries(tmp_path, data_dir):
    kb = make_kb(data_dir)
    kb.ingest([write_corpus(tmp_path / "corpus")])
    counts = {t.name: t.passages for t in kb.themes()}
    theme = max(counts, key=counts.get)
    hits = kb.search("trust change focus team", 10, Filters(themes=[theme]))
    assert hits and all(theme in h.themes for h in hits)
    tagged = {cid for (cid,) in kb.store.db.execute("SELECT chunk_id FROM chunk_themes WHERE theme = ?", (theme,))}
    assert {h.chunk_id for h in hits} <= tagged
    with kb.store.transaction():  # as a re-tag after editing the taxonomy: the tags change, the chunks do not
        kb.store.db.execute("DELETE FROM chunk_themes WHERE theme = ?", (theme,))
        kb.store.bump_version()
    kb.index()
    assert kb.search("trust change focus team", 10, Filters(themes=[theme])) == []


def run_check(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(app, ["check", "--json", *args])
    return result.exit_code, json.loads(result.stdout)


# --- Milvus only ------------------------------------------------------------------------------------------
@pytest.fixture
def milvus_kb(tmp_path, data_dir, backend):
    if backend != "milvus":
        pytest.skip("Milvus only")
    kb = make_kb(data_dir)
    kb.ingest([write_corpus(tmp_path / "corpus")])
    return kb


def test_bm25_terms_are_the_fts5_terms():
    pytest.importorskip("Stemmer")
    from search.milvus import bm25_tokens

    text = ("Leading CHANGES at scale: we’re adopting practices, naïve café owners' 3.5% growth_rate and "
            "running 1:1s, relational connections — generalization")
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize = 'porter unicode61')")
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, instance)")
    db.execute("INSERT INTO t VALUES (?)", (text,))
    fts5 = [r[0] for r in db.execute("SELECT term FROM v ORDER BY offset")]
    assert bm25_tokens(text) == fts5


def test_filter_expressions_escape_and_match_like_the_store():
    pytest.importorskip("pymilvus")
    from search.milvus import filter_expr

    expr = filter_expr(Filters(speaker='Ma"ria', episode="Book Notes", kind=Kind.note, themes=["trust", "risk"]), 7)
    assert expr.startswith("(v_from <= 7 and v_to > 7)")
    assert 'who like "%ma\\"ria%"' in expr
    assert 'title_lc like "%book notes%"' in expr and 'episode_id == "Book Notes"' in expr
    assert 'kind == "note"' in expr and '(themes like "%|trust|%" or themes like "%|risk|%")' in expr
    assert "chunk_id < 0" in filter_expr(Filters(speaker="a|b"), 1)  # no name holds the separator


def snapshot(kb: KnowledgeBase) -> dict[str, list[str]]:
    """What a query can see in Milvus: episode -> its chunk texts in order."""
    view = kb.backend.view()
    rows = kb.backend._all(kb.backend.chunks_c, "v_from <= %d and v_to > %d" % (view.version, view.version),
                           ["episode_id", "ordinal", "text"])
    out: dict[str, list] = {}
    for r in sorted(rows, key=lambda r: (r["episode_id"], r["ordinal"])):
        out.setdefault(r["episode_id"], []).append(r["text"])
    return out


def store_snapshot(kb: KnowledgeBase) -> dict[str, list[str]]:
    return {e.id: [c.text for c in kb.store.episode_chunks(e.id)] for e in kb.episodes()}


@pytest.mark.parametrize("dies_at", ["insert", "retire", "flip"])
def test_a_publish_that_dies_leaves_the_previous_version_whole(milvus_kb, tmp_path, monkeypatch, dies_at):
    kb = milvus_kb
    before = snapshot(kb)
    assert before == store_snapshot(kb)
    extra = tmp_path / "extra"
    extra.mkdir()
    for n in range(4):
        (extra / f"episode-{n:03d}.vtt").write_text(episode_vtt(n, 6))
    (tmp_path / "corpus" / "team-notes.md").write_text("## Changed\n\nA whole new note about delegation.\n")
    (tmp_path / "corpus" / "thread.txt").write_text("## Also changed\n\nAnother note, about hiring.\n")
    backend = type(kb.backend)
    original = {"insert": backend._insert_episodes, "retire": backend._retire}
    calls = {"n": 0}

    def dying(name):
        def run(self, *args, **kw):
            calls["n"] += 1
            if calls["n"] > 1:  # part of the work is done, then the process dies
                raise KeyboardInterrupt("killed")
            return original[name](self, *args, **kw)
        return run

    with pytest.MonkeyPatch.context() as mp:
        if dies_at == "flip":  # the new version is published, the clean-up after it never runs
            mp.setattr(backend, "gc", lambda self, P: (_ for _ in ()).throw(KeyboardInterrupt("killed")))
        else:
            mp.setattr("search.milvus.EPISODES_PER_PUBLISH_STEP", 1)
            mp.setattr(backend, {"insert": "_insert_episodes", "retire": "_retire"}[dies_at], dying(dies_at))
        with pytest.raises(KeyboardInterrupt):
            kb.ingest([tmp_path / "corpus", extra])
    reader = make_kb(kb.settings.data_dir)  # a fresh process's view
    seen = snapshot(reader)
    assert seen == (store_snapshot(kb) if dies_at == "flip" else before)  # whole, never mixed
    reader.index()  # the next publish recovers and completes
    assert snapshot(reader) == store_snapshot(kb)
    code, check = run_check()
    assert code == 0 and check["ok"] and not check["repaired"], check


def test_readers_never_see_a_half_published_version(milvus_kb, tmp_path, monkeypatch):
    """A reader polling while a publish of many episodes runs sees the old set or the new set, nothing between."""
    kb = milvus_kb
    monkeypatch.setattr("search.milvus.EPISODES_PER_PUBLISH_STEP", 2)  # many small steps to land between
    old = snapshot(kb)
    extra = tmp_path / "extra"
    extra.mkdir()
    for n in range(12):
        (extra / f"episode-{n:03d}.vtt").write_text(episode_vtt(n, 6))
    reader = make_kb(kb.settings.data_dir)
    seen: list[dict] = []
    done = threading.Event()

    def poll():
        while not done.is_set():
            seen.append(snapshot(reader))

    thread = threading.Thread(target=poll)
    thread.start()
    try:
        kb.ingest([tmp_path / "corpus", extra])
    finally:
        done.set()
        thread.join()
    new = snapshot(kb)
    assert new != old and len(seen) >= 2
    assert all(s in (old, new) for s in seen), [sorted(s) for s in seen if s not in (old, new)][:1]


def test_check_finds_and_repairs_missing_rows(milvus_kb):
    kb = milvus_kb
    b = kb.backend
    victim = b.client.query(b.chunks_c, filter="ordinal == 0", output_fields=["pk"], limit=1)[0]["pk"]
    b.client.delete(b.chunks_c, filter=f"pk == {victim}")
    code, report = run_check("--no-repair")
    assert code == 1 and report["index_problems"], report
    code, report = run_check()
    assert code == 0 and report["repaired"], report
    assert snapshot(kb) == store_snapshot(kb)


def test_switching_an_existing_store_to_milvus_publishes_it_without_re_embedding(tmp_path, data_dir, backend,
                                                                               monkeypatch):
    if backend != "milvus":
        pytest.skip("Milvus only")
    sqlite_kb = make_kb(data_dir, backend="sqlite")
    sqlite_kb.ingest([write_corpus(tmp_path / "corpus")])
    before = [h.chunk_id for h in sqlite_kb.search("trust change momentum", 10)]
    kb = make_kb(data_dir)
    encoded: list[int] = []
    real = kb.embedder.encode
    monkeypatch.setattr(kb.embedder, "encode", lambda texts, *a, **k: encoded.append(len(texts)) or real(texts, *a, **k))
    assert [h.chunk_id for h in kb.search("trust change momentum", 10)] == before
    assert max(encoded, default=1) == 1  # the query only: the stored vectors were published


@pytest.mark.parametrize("version, ok", [("v2.5.4", True), ("v2.6.0", True), ("3.0.0", True),
                                         ("milvus_lite-3.2.2", True), ("v2.3.5-lite", False), ("v2.4.17", False),
                                         ("something else", True)])
def test_server_versions_without_bm25_are_refused(version, ok):
    pytest.importorskip("pymilvus")
    from search.milvus import server_supported

    assert server_supported(version) is ok


def test_an_old_milvus_server_is_refused_with_a_clear_error(tmp_path, data_dir, backend, monkeypatch):
    """The PyPI `milvus` 2.3.5 server answered kb's first collection call with "create index on 104 field is not
    supported"; now kb says which server it found and what it needs, before touching anything."""
    if backend != "milvus":
        pytest.skip("Milvus only")
    from pymilvus import MilvusClient

    monkeypatch.setattr(MilvusClient, "get_server_version", lambda self, **kw: "v2.3.5-lite")
    result = CliRunner().invoke(app, ["stats"])
    from search.backend import BackendError

    assert isinstance(result.exception, BackendError)
    assert "Milvus v2.3.5-lite" in str(result.exception) and "2.5 or later" in str(result.exception)


def test_a_milvus_lite_copy_that_no_longer_loads_is_published_again(milvus_kb, data_dir):
    """A SIGKILL during milvus-lite's own write once left a 0-byte index file that its manifest names: no
    collection loaded ("File is too small: 0"). The copy is derived from the store, so kb drops it and publishes
    the store again, instead of failing every query."""
    from milvus_lite.server_manager import server_manager_instance

    before = snapshot(milvus_kb)
    uri = milvus_kb.backend.uri
    milvus_kb.store.close()
    server_manager_instance.release_server(uri)
    indexes = sorted((Path(uri) / "collections").glob("*_chunks/partitions/*/indexes/*"))
    assert indexes, "milvus-lite's layout changed: find where it keeps index files"
    indexes[0].write_bytes(b"")  # what the kill left

    kb = make_kb(data_dir)
    assert [h.episode.id for h in kb.search("trust change momentum", 3)]
    assert kb.backend.rebuilt and "too small" in kb.backend.rebuilt
    assert snapshot(kb) == before


def _fts5_totals(kb: KnowledgeBase) -> tuple[int, int]:
    from search.milvus import bm25_tokens

    rows = kb.store.db.execute("SELECT text, context FROM chunks_fts").fetchall()
    return len(rows), sum(len(bm25_tokens(t)) + len(bm25_tokens(c or "")) for t, c in rows)


def test_keyword_rankings_are_the_default_stores(milvus_kb, tmp_path):
    """Milvus finds the BM25 candidates; they are scored again as FTS5 scores them, so the keyword side ranks as
    on SQLite (Milvus's own BM25 kept the same top 10 in the same order for 1 of 25 dev questions)."""
    kb = milvus_kb
    queries = [["trust"], ["trust", "change"], ["momentum", "small", "wins"], ["hiring", "manager", "team"],
               ["maria", "trust"], ["weekend", "culture", "topic"], ["quoted", "line", "thread"]]

    def same(filters=None):
        view = kb.backend.view()
        assert view.totals == _fts5_totals(kb)  # N and the token count FTS5 keeps, as Milvus has them
        for terms in queries:
            want = kb.store.keyword_search(terms, 20, filters)
            got = view.keyword_search(terms, 20, filters)
            assert (want or filters) and [c for c, _ in got] == [c for c, _ in want], terms
            assert [s for _, s in got] == pytest.approx([s for _, s in want], rel=1e-6)

    same()
    same(Filters(kind=Kind.transcript))
    # the totals follow an episode replaced and one removed (kept per episode version, not recounted)
    corpus = tmp_path / "corpus"
    changed = next(p for p in sorted(corpus.rglob("*")) if p.is_file() and "trust" in p.read_text())
    changed.write_text(changed.read_text().replace("trust", "trust trust momentum"))
    kb.ingest([corpus])
    same()
    gone = next(p for p in sorted(corpus.rglob("*")) if p.is_file() and p != changed)
    gone.unlink()
    kb.ingest([corpus], prune=True)
    same()


def test_collections_from_an_older_kb_are_published_again(milvus_kb, data_dir):
    """An index written before the BM25 totals existed (no `head_at`, no `tokens`) is dropped and the store
    published again, as for another model: the store is the source of truth."""
    from search.milvus import HNSW, BM25_INDEX, _index_params, chunk_schema

    b = milvus_kb.backend
    before = snapshot(milvus_kb)
    b.client.drop_collection(b.chunks_c)
    old = chunk_schema(384)
    old._fields = [f for f in old.fields if f.name != "head_at"]
    b.client.create_collection(b.chunks_c, schema=old, consistency_level="Strong")
    b.client.create_index(b.chunks_c, _index_params(b.client, {"vector": HNSW, "sparse": BM25_INDEX}, []))
    assert not b._current_schema()
    milvus_kb.store.close()

    kb = make_kb(data_dir)
    assert kb.search("trust change momentum", 3)
    assert kb.backend._current_schema() and snapshot(kb) == before
    assert kb.backend.view().totals == _fts5_totals(kb)
