"""`kb check`: is the store sound, and does the FAISS file agree with it? Repairs what is derived.

SQLite is the source of truth (episodes, chunks, vectors); it is only ever written in transactions, so a crash
leaves it at the previous or the next version, and the check proves it (integrity, foreign keys, FTS rows, every
chunk has its vectors). The FAISS file is derived: when it is missing, stale or disagrees with the stored vectors
it is rebuilt from them (nothing is re-embedded). Problems in SQLite itself are reported, never "repaired".
"""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import faiss
import numpy as np
from pydantic import BaseModel, Field

from search.lock import ingest_lock
from search.store import Store


class CheckReport(BaseModel):
    ok: bool = Field(description="the store is sound and the FAISS index agrees with it (after any repair)")
    store_problems: list[str] = Field(default_factory=list, description="SQLite problems (not repairable here)")
    index_problems: list[str] = Field(default_factory=list, description="FAISS disagreements found before repair")
    repaired: bool = Field(default=False, description="the FAISS index was rebuilt from the stored vectors")
    index_version: int | None = None
    episodes: int = 0
    chunks: int = 0
    vectors: int = Field(default=0, description="vectors the index should hold (chunks' own and sentence windows')")
    index_vectors: int | None = Field(default=None, description="vectors in the FAISS file (after any repair)")


def check_store(db: sqlite3.Connection, model: str) -> list[str]:
    """Integrity of the SQLite file and of the relations ingest relies on; [] when sound."""
    problems = [f"integrity: {r[0]}" for r in db.execute("PRAGMA integrity_check") if r[0] != "ok"]
    if problems:
        return problems  # the other queries cannot be trusted on a damaged file
    for table, rowid, parent, _ in db.execute("PRAGMA foreign_key_check"):
        problems.append(f"foreign key: {table} row {rowid} points to a missing {parent} row")
    try:
        db.execute("INSERT INTO chunks_fts(chunks_fts) VALUES('integrity-check')")
    except sqlite3.DatabaseError as exc:
        problems.append(f"full-text index: {exc}")
    orphans = db.execute("SELECT COUNT(*) FROM chunks_fts WHERE rowid NOT IN (SELECT id FROM chunks)").fetchone()[0]
    unindexed = db.execute("SELECT COUNT(*) FROM chunks WHERE id NOT IN (SELECT rowid FROM chunks_fts)").fetchone()[0]
    if orphans or unindexed:
        problems.append(f"full-text index: {orphans} rows without a chunk, {unindexed} chunks without a row")
    row = db.execute("SELECT value FROM state WHERE key='index_version'").fetchone()
    if row is None or not str(row[0]).isdigit():
        problems.append(f"index_version is {row[0] if row else 'missing'!r}, not a number")
    for table in ("chunks", "windows"):
        n = db.execute(f"SELECT COUNT(*) FROM {table} t WHERE NOT EXISTS (SELECT 1 FROM embeddings e"
                       f" WHERE e.hash = t.embed_hash AND e.model = ?)", (model,)).fetchone()[0]
        if n:
            problems.append(f"{n} {table} have no stored vector for model {model!r} (re-run `kb ingest`)")
    return problems


def check_index(path: Path, store: Store, model: str, ids: np.ndarray) -> tuple[list[str], int | None]:
    """Disagreements between the FAISS file (and its stamp) and the store's vectors, and how many live vectors
    the file holds. Removed ids an approximate index keeps as tombstones (stamp `dead`) do not count."""
    stamp = path.with_suffix(".json")
    if not path.exists():
        return ["FAISS file missing"], None
    problems = []
    try:
        meta = json.loads(stamp.read_text())
        if not isinstance(meta, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        problems.append(f"stamp {stamp.name} unreadable: {exc}")
        meta = {}
    for key, value in {"version": store.version(), "model": model, "count": int(len(ids))}.items():
        if meta and meta.get(key) != value:
            problems.append(f"stamp says {key}={meta.get(key)!r}, the store has {value!r}")
    if isinstance(meta.get("episodes"), dict):  # what an incrementally patched index believes it holds
        state = {eid: h for eid, (h, _) in store.episode_state().items()}
        held = {eid: v[0] for eid, v in meta["episodes"].items()}
        if held != state:
            problems.append(f"stamp lists {len(set(held.items()) ^ set(state.items()))} episode versions the store "
                            f"does not have")
    try:
        index = faiss.read_index(str(path))
    except RuntimeError as exc:
        return [*problems, f"FAISS file unreadable: {str(exc).splitlines()[0]}"], None
    id_map = getattr(index, "id_map", None)
    if id_map is None:
        return [*problems, f"FAISS file has no chunk ids ({type(index).__name__})"], int(index.ntotal)
    held_ids = faiss.vector_to_array(id_map).astype(np.int64)
    dead = np.asarray(meta.get("dead", []), dtype=np.int64)
    live = np.sort(held_ids[~np.isin(held_ids, dead)] if len(dead) else held_ids)
    if len(live) != len(ids):
        problems.append(f"FAISS holds {len(live)} vectors, the store {len(ids)}")
    elif not np.array_equal(live, np.sort(ids)):
        problems.append("FAISS chunk ids differ from the store's")
    return problems, int(len(live))


def check(store: Store, faiss_path: Path, model: str, rebuild: Callable[[], object] | None = None) -> CheckReport:
    """Check the store, then the FAISS index against it. With `rebuild` (the knowledge base's own index loader,
    so the repaired index is whatever kind and format it uses), a disagreeing index is deleted and rebuilt from
    the stored vectors, then checked again. Holds the ingest lock meanwhile (IngestLocked while an ingest runs)."""
    with ingest_lock(faiss_path.parent):
        problems = check_store(store.db, model)
        report = CheckReport(ok=False, store_problems=problems)
        if problems:
            return report
        report.episodes, report.chunks, _ = store.counts()
        ids, _ = store.vectors(model)
        report.index_version, report.vectors = store.version(), int(len(ids))
        report.index_problems, report.index_vectors = check_index(faiss_path, store, model, ids)
        if report.index_problems and rebuild is not None:
            for stale in (faiss_path, faiss_path.with_suffix(".json")):
                stale.unlink(missing_ok=True)  # nothing of the stale index may be reused
            rebuild()
            after, report.index_vectors = check_index(faiss_path, store, model, ids)
            report.repaired = not after
        report.ok = not report.index_problems or report.repaired
        return report
