"""`kb check`: a sound store passes; a stale, damaged or wrong FAISS file is rebuilt from the stored vectors;
damage to SQLite itself is reported (exit 1), never papered over. Concurrent ingests are refused, not mixed."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import faiss
import pytest
from typer.testing import CliRunner

from api.cli import app
from core.knowledge_base import KnowledgeBase
from search.lock import IngestLocked, ingest_lock
from search.check import check
from tests.conftest import REPO
from tests.helpers import write_corpus

runner = CliRunner()


@pytest.fixture
def kb(tmp_path) -> KnowledgeBase:
    kb = KnowledgeBase()
    kb.ingest([write_corpus(tmp_path / "corpus")])
    return kb


def run_check(*args: str) -> tuple[int, dict]:
    result = runner.invoke(app, ["check", "--json", *args])
    return result.exit_code, json.loads(result.stdout)


def test_sound_store_passes(kb):
    code, report = run_check()
    assert code == 0 and report["ok"] and not report["repaired"]
    assert report["store_problems"] == report["index_problems"] == []
    assert report["episodes"] == 5 and report["vectors"] == report["index_vectors"] > report["chunks"] > 0


@pytest.mark.parametrize("damage", ["missing", "garbage", "stamp", "stale-version", "wrong-ids"])
def test_bad_faiss_file_is_rebuilt_from_stored_vectors(kb, damage):
    path = kb.settings.faiss_path
    stamp = path.with_suffix(".json")
    if damage == "missing":
        path.unlink()
    elif damage == "garbage":
        path.write_bytes(b"not a faiss file" * 10)
    elif damage == "stamp":
        stamp.write_text('{"version": 1, "mod')  # cut mid-write
    elif damage == "stale-version":
        meta = json.loads(stamp.read_text())
        stamp.write_text(json.dumps({**meta, "version": meta["version"] - 1}))
    else:  # right count, wrong chunk ids
        ids, vecs = kb.store.vectors(kb.embedder.name)
        index = faiss.IndexIDMap(faiss.IndexFlatIP(vecs.shape[1]))
        index.add_with_ids(vecs, ids + 1000)
        faiss.write_index(index, str(path))
    code, report = run_check("--no-repair")
    assert code == 1 and not report["ok"] and report["index_problems"] and report["store_problems"] == []
    code, report = run_check()
    assert code == 0 and report["ok"] and report["repaired"] and report["index_vectors"] == report["vectors"]
    code, report = run_check("--no-repair")
    assert code == 0 and report["index_problems"] == []
    fresh = KnowledgeBase()
    assert fresh.search("trust change", 3, mode="dense")  # the rebuilt index answers


def test_sqlite_damage_is_reported_not_repaired(kb):
    db = kb.store.db
    db.execute("PRAGMA foreign_keys=OFF")
    db.execute("INSERT INTO windows (chunk_id, ordinal, embed_hash) VALUES (999999, 0, 'x')")  # orphan row
    db.execute("INSERT INTO chunks_fts (rowid, text, context) VALUES (888888, 'ghost', '')")
    db.execute("PRAGMA foreign_keys=ON")
    code, report = run_check()
    assert code == 1 and not report["ok"] and not report["repaired"]
    text = " ".join(report["store_problems"])
    assert "foreign key: windows" in text and "1 rows without a chunk" in text and "windows have no stored vector" in text


def test_corrupt_sqlite_file_fails_the_check(tmp_path):
    from search.store import Store

    path = tmp_path / "kb.sqlite"
    store = Store(path)
    store.db.executemany("INSERT INTO state VALUES (?, ?)", [(f"k{i}", "v" * 500) for i in range(2000)])
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    data = bytearray(path.read_bytes())
    data[8192:12288] = os.urandom(4096)  # a page in the middle of the table
    path.write_bytes(bytes(data))
    try:
        store = Store(path)
        report = check(store, tmp_path / "index.faiss", "fake")
        assert not report.ok and report.store_problems
    except Exception as exc:  # sqlite may refuse to open it at all: also a clear failure, not a silent pass
        assert "malformed" in str(exc) or "not a database" in str(exc)


def test_check_waits_for_no_ingest(kb):
    with ingest_lock(kb.settings.data_dir):
        with pytest.raises(IngestLocked):
            check(kb.store, kb.settings.faiss_path, kb.embedder.name)


def test_second_ingest_is_refused_while_one_runs(tmp_path):
    """The lock is an flock on the data dir, so a second process (here: the CLI in a subprocess) is refused with
    a clear message and exit code 3 while this process holds it, and the store is left untouched."""
    corpus = write_corpus(tmp_path / "corpus")
    kb = KnowledgeBase()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with ingest_lock(kb.settings.data_dir):
        with pytest.raises(IngestLocked, match="another ingest is already running"):
            kb.ingest([corpus])
        done = subprocess.run([sys.executable, "-c", "from api.cli import main; main()", "ingest", str(corpus)],
                              env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
        assert done.returncode == 3
        assert "another ingest is already running" in done.stderr and f"pid {os.getpid()}" in done.stderr
        assert kb.store.counts()[0] == 0
    assert not kb.ingest([corpus]).failed and kb.store.counts()[0] == 5  # released: the next ingest runs


def test_lock_is_released_when_the_holder_is_killed(tmp_path):
    data = tmp_path / "data"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from pathlib import Path;"
                               "from search.lock import ingest_lock\n"
                               "with ingest_lock(Path(sys.argv[1])):\n print('held', flush=True); time.sleep(600)",
                               str(data)], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(IngestLocked):
            with ingest_lock(data):
                pass
    finally:
        holder.kill()
        holder.wait()
    with ingest_lock(data):  # the kernel dropped the dead holder's lock
        pass


def test_lock_file_names_no_holder_after_release(tmp_path):
    with ingest_lock(tmp_path):
        assert (tmp_path / "ingest.lock").read_text() == str(os.getpid())
    assert (tmp_path / "ingest.lock").read_text() == ""
