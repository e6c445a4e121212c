"""SQLite store: the source of truth for episodes, chunks, vectors (keyed by content hash) and the FTS5 index."""
from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeVar

import numpy as np

from core.models import QUOTABLE, Chunk, Document, Episode, Filters, Kind, Sentence, SentenceRole
from search.bm25 import COLUMN_WEIGHTS
from search.migrations import migrate
from search.query import SpeakerProfile

_TERM = re.compile(r"\w+", re.UNICODE)
# Past KEYWORD_SPLIT_FROM chunks, a query's most common words stop bringing rows in once its words match more than
# KEYWORD_ROWS rows (see keyword_search): FTS5 BM25 costs several microseconds per matching row on these CPUs.
# Smaller stores (the default corpus, SciFact's 8k chunks) always run the plain OR.
KEYWORD_SPLIT_FROM = 20_000
KEYWORD_ROWS = 8_000
_T = TypeVar("_T")


def text_key(text: str) -> str:
    """The key a text's vector is stored under: its content hash, so a text is embedded once, whoever asks."""
    return hashlib.sha256(text.encode()).hexdigest()


def in_batches(ids: Sequence[_T], size: int = 500) -> Iterator[tuple[Sequence[_T], str]]:
    """(slice, its "?,?,..." marks) per `size` ids: SQLite caps a statement's bound variables (999 before 3.32)."""
    for i in range(0, len(ids), size):
        part = ids[i:i + size]
        yield part, ",".join("?" * len(part))


def _phrase(term: str) -> str:
    """One word as an FTS5 string literal: whatever it holds, MATCH reads it as a term, not as query syntax."""
    return '"' + term.replace('"', '""') + '"'


def _episode_meta(doc: Document) -> dict:
    """The sidecar metadata plus what the readers and ingest learnt about the speakers (titles, parts)."""
    meta = dict(doc.meta)
    if doc.roles:
        meta["roles"] = doc.roles
    if doc.speaker_roles:
        meta["speaker_roles"] = {k: v.value for k, v in doc.speaker_roles.items()}
    return meta


class Store:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self._memo: tuple[int, dict] = (-1, {})  # read-path figures of one index version (see `_cached`)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.execute("PRAGMA synchronous=NORMAL")
        migrate(self.db)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic batch: readers keep seeing the previous version until COMMIT."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # --- versions ---------------------------------------------------------------------------------------
    def version(self) -> int:
        return int(self.db.execute("SELECT value FROM state WHERE key='index_version'").fetchone()[0])

    def _cached(self, key: object, compute):
        """`compute()` once per index version: what every query reads (speaker profiles, chunk count, word
        frequencies) only changes when a batch commits, and a commit bumps the version."""
        version = self.version()
        if self._memo[0] != version:
            self._memo = (version, {})
        memo = self._memo[1]
        if key not in memo:
            memo[key] = compute()
        return memo[key]

    def bump_version(self) -> int:
        self.db.execute("UPDATE state SET value = CAST(value AS INTEGER) + 1 WHERE key='index_version'")
        return self.version()

    # --- episodes ---------------------------------------------------------------------------------------
    def episode_state(self) -> dict[str, tuple[str, str]]:
        """id -> (content hash, file path), what incremental ingest compares against."""
        return {r["id"]: (r["content_hash"], r["path"]) for r in self.db.execute("SELECT id, content_hash, path FROM episodes")}

    def file_keys(self) -> dict[str, str]:
        """Source path -> the key of the file content its stored episodes came from (paths with episodes only)."""
        return dict(self.db.execute(
            "SELECT f.path, f.key FROM files f WHERE EXISTS (SELECT 1 FROM episodes e WHERE e.path = f.path)"))

    def set_file_keys(self, keys: dict[str, str]) -> None:
        self.db.executemany("INSERT OR REPLACE INTO files (path, key) VALUES (?, ?)", list(keys.items()))

    def replace_episode(self, doc: Document, chunks: list[Chunk], content_hash: str, path: str,
                        embed_hashes: list[str], contexts: list[str], window_hashes: list[list[str]] | None = None) -> None:
        """Write one episode and its chunks, replacing any previous version (call inside a transaction)."""
        next_id = self._next_chunk_id()  # read before the old chunks go, so their ids are not handed out again
        self.delete_episode(doc.id)
        self.db.execute(
            "INSERT INTO episodes (id, title, source, path, kind, content_hash, speakers, meta, ingested_at)"
            " VALUES (?,?,?,?,?,?,?,?,?)",
            (doc.id, doc.title, doc.source, path, doc.kind.value, content_hash, json.dumps(doc.speakers),
             json.dumps(_episode_meta(doc)), datetime.now(timezone.utc).isoformat()),
        )
        windows = window_hashes or [[] for _ in chunks]
        for cid, chunk, h, ctx, wins in zip(range(next_id, next_id + len(chunks)), chunks, embed_hashes, contexts,
                                            windows, strict=True):
            self.db.execute(
                "INSERT INTO chunks (id, episode_id, ordinal, text, speaker, speakers, start_s, end_s, char_start,"
                " char_end, kind, section, embed_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (cid, doc.id, chunk.ordinal, chunk.text, chunk.speaker, json.dumps(chunk.speakers),
                 chunk.start, chunk.end, chunk.char_start, chunk.char_end, chunk.kind.value, chunk.section, h),
            )
            self.db.execute("INSERT INTO chunks_fts (rowid, text, context) VALUES (?,?,?)", (cid, chunk.text, ctx))
            self.db.executemany("INSERT INTO windows (chunk_id, ordinal, embed_hash) VALUES (?,?,?)",
                                [(cid, i, wh) for i, wh in enumerate(wins)])
            self.db.executemany(
                "INSERT INTO sentences (chunk_id, ordinal, start, end, char_start, char_end, speaker, seconds, role,"
                " embed_hash) VALUES (?,?,?,?,?,?,?,?,?,?)",
                [(cid, i, x.start, x.end, x.char_start, x.char_end, x.speaker, x.seconds, x.role.value,
                  text_key(chunk.sentence_text(x)) if x.role in QUOTABLE else None)
                 for i, x in enumerate(chunk.sentences)])
        self.db.execute("INSERT OR REPLACE INTO state (key, value) VALUES ('next_chunk_id', ?)",
                        (str(next_id + len(chunks)),))

    def _next_chunk_id(self) -> int:
        """Chunk ids are never reused (SQLite would hand out a deleted last id again): the FAISS index treats a
        removed id as a tombstone, and a new chunk under a dead id forces a full rebuild instead of a patch."""
        row = self.db.execute("SELECT value FROM state WHERE key = 'next_chunk_id'").fetchone()  # set by m005
        return int(row[0])

    def delete_episode(self, episode_id: str) -> None:
        self.db.execute("DELETE FROM chunks_fts WHERE rowid IN (SELECT id FROM chunks WHERE episode_id=?)", (episode_id,))
        self.db.execute("DELETE FROM windows WHERE chunk_id IN (SELECT id FROM chunks WHERE episode_id=?)", (episode_id,))
        self.db.execute("DELETE FROM sentences WHERE chunk_id IN (SELECT id FROM chunks WHERE episode_id=?)", (episode_id,))
        self.db.execute("DELETE FROM chunks WHERE episode_id=?", (episode_id,))
        self.db.execute("DELETE FROM episodes WHERE id=?", (episode_id,))

    def episodes(self) -> list[Episode]:
        rows = self.db.execute(
            "SELECT e.*, (SELECT COUNT(*) FROM chunks c WHERE c.episode_id=e.id) AS n FROM episodes e ORDER BY e.source, e.rowid"
        )
        return [Episode(id=r["id"], title=r["title"], source=r["source"], kind=Kind(r["kind"]),
                        speakers=list(json.loads(r["speakers"]).values()), chunks=r["n"], meta=json.loads(r["meta"]))
                for r in rows]

    def episode(self, episode_id: str) -> Episode | None:
        return next((e for e in self.episodes() if e.id == episode_id), None)

    def speaker_profiles(self) -> list[SpeakerProfile]:
        """Who speaks in each episode, with the full name and role the episode introduced them by. Read on every
        hybrid query, so kept until the next committed batch changes the version."""
        def read() -> list[SpeakerProfile]:
            out = []
            for r in self.db.execute("SELECT id, speakers, meta FROM episodes"):
                meta = json.loads(r["meta"])
                roles, parts = meta.get("roles", {}), meta.get("speaker_roles", {})
                names = json.loads(r["speakers"])  # short -> full, where a reader learnt full names
                names.update({name: name for name in parts if name not in names})  # else the name as labelled
                out += [SpeakerProfile(episode_id=r["id"], short=short, full=full, role=roles.get(short),
                                       part=parts.get(short))
                        for short, full in names.items()]
            return out

        return self._cached("profiles", read)

    def introductions(self, episode_id: str, speaker: str, name: str) -> list[int]:
        """The chunks of this episode that say who a speaker is: where they introduce themselves (or say their own
        name: "Hey, I'm Bruce Wang"), then where someone introduces them by name, the first name being enough ("…we
        welcome Maria Bracho, CTO for LATAM", "Pia, you're now the CEO of Open Collective"), then where the
        write-up names them."""
        sentence = "substr(c.text, s.start + 1, s.end - s.start)"
        said = f"instr({sentence}, :name) > 0"  # the sentence says the name
        called = f"instr({sentence}, :first) > 0"  # or what a host calls them ("Pia, you're now the CEO of…")
        q = ("SELECT s.chunk_id, MIN(CASE WHEN s.speaker = :speaker THEN 0 WHEN s.role = :intro THEN 1 ELSE 2 END)"
             " AS how FROM sentences s JOIN chunks c ON c.id = s.chunk_id WHERE c.episode_id = :episode"
             f" AND ((s.role = :intro AND (s.speaker = :speaker OR {called})) OR (s.speaker = :speaker AND {said})"
             f" OR (c.kind = :summary AND {said})) GROUP BY s.chunk_id ORDER BY how, s.chunk_id")
        args = {"intro": SentenceRole.introduction.value, "speaker": speaker, "name": name, "episode": episode_id,
                "summary": Kind.summary.value, "first": name.split()[0] if name.split() else name}
        return [r[0] for r in self.db.execute(q, args)]

    def full_names(self) -> dict[str, dict[str, str]]:
        return {r["id"]: json.loads(r["speakers"]) for r in self.db.execute("SELECT id, speakers FROM episodes")}

    # --- embeddings ---------------------------------------------------------------------------------------
    def missing_embeddings(self, hashes: list[str], model: str) -> list[str]:
        have = set()
        uniq = list(dict.fromkeys(hashes))
        for part, marks in in_batches(uniq):
            q = f"SELECT hash FROM embeddings WHERE model=? AND hash IN ({marks})"
            have.update(r[0] for r in self.db.execute(q, (model, *part)))
        return [h for h in uniq if h not in have]

    def embedded_models(self) -> list[str]:
        """The embedder names a stored chunk has vectors under (one chunk, by primary key: cheap at any size)."""
        row = self.db.execute("SELECT embed_hash FROM chunks ORDER BY id LIMIT 1").fetchone()
        if row is None:
            return []
        return [r[0] for r in self.db.execute("SELECT model FROM embeddings WHERE hash=?", (row[0],))]

    def text_vectors(self, texts: list[str], model: str) -> dict[str, np.ndarray]:
        """The stored vectors of those texts that have one (any text embedded at ingest: a chunk, a window, a
        quotable sentence), by text."""
        keys = {text_key(t): t for t in texts}
        out: dict[str, np.ndarray] = {}
        for part, marks in in_batches(list(keys)):
            q = f"SELECT hash, vector FROM embeddings WHERE model=? AND hash IN ({marks})"
            for h, blob in self.db.execute(q, (model, *part)):
                out[keys[h]] = np.frombuffer(blob, dtype=np.float32)
        return out

    def put_embeddings(self, hashes: list[str], vectors: np.ndarray, model: str) -> None:
        rows = [(h, model, int(v.shape[0]), np.asarray(v, dtype=np.float32).tobytes()) for h, v in zip(hashes, vectors, strict=True)]
        with self.transaction():
            self.db.executemany("INSERT OR REPLACE INTO embeddings VALUES (?,?,?,?)", rows)

    def vectors(self, model: str, episodes: list[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Chunk ids and their vectors (the chunk's own and its sentence windows', so one id may repeat), for
        (re)building the FAISS index without re-embedding; `episodes` limits it to those (index patches)."""
        if episodes is not None:
            return self._episode_vectors(model, episodes)
        rows = self.db.execute(
            "SELECT c.id, e.vector, e.dim FROM chunks c JOIN embeddings e ON e.hash=c.embed_hash AND e.model=?"
            " UNION ALL SELECT w.chunk_id, e.vector, e.dim FROM windows w JOIN embeddings e"
            " ON e.hash=w.embed_hash AND e.model=? ORDER BY 1", (model, model)).fetchall()
        return self._to_matrix(rows)

    def vector_count(self, model: str) -> int:
        """How many vectors `vectors(model)` would return, without reading them (1.5 GB at a million chunks)."""
        return int(self.db.execute(
            "SELECT (SELECT COUNT(*) FROM chunks c JOIN embeddings e ON e.hash=c.embed_hash AND e.model=?)"
            " + (SELECT COUNT(*) FROM windows w JOIN embeddings e ON e.hash=w.embed_hash AND e.model=?)",
            (model, model)).fetchone()[0])

    def _episode_vectors(self, model: str, episodes: list[str]) -> tuple[np.ndarray, np.ndarray]:
        rows: list = []
        for part, marks in in_batches(episodes, 400):  # the ids are bound twice
            rows += self.db.execute(
                f"SELECT c.id, e.vector, e.dim FROM chunks c JOIN embeddings e ON e.hash=c.embed_hash AND e.model=?"
                f" WHERE c.episode_id IN ({marks}) UNION ALL SELECT w.chunk_id, e.vector, e.dim FROM windows w"
                f" JOIN chunks c ON c.id=w.chunk_id JOIN embeddings e ON e.hash=w.embed_hash AND e.model=?"
                f" WHERE c.episode_id IN ({marks})", (model, *part, model, *part)).fetchall()
        return self._to_matrix(rows)

    @staticmethod
    def _to_matrix(rows: list) -> tuple[np.ndarray, np.ndarray]:
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        mat = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), rows[0][2])
        return ids, mat

    def episode_chunk_ids(self, episodes: list[str] | None = None) -> dict[str, tuple[str, list[int]]]:
        """episode id -> (content hash, chunk ids): what the FAISS index records to patch the next version."""
        out: dict[str, tuple[str, list[int]]] = {}
        q = "SELECT e.id, e.content_hash, c.id FROM episodes e LEFT JOIN chunks c ON c.episode_id=e.id"
        batches = [((), "")] if episodes is None else in_batches(episodes)
        for part, marks in batches:
            where = f" WHERE e.id IN ({marks})" if marks else ""
            for eid, h, cid in self.db.execute(q + where + " ORDER BY c.id", part):
                ids = out.setdefault(eid, (h, []))[1]
                if cid is not None:
                    ids.append(cid)
        return out

    def chunk_vectors(self, ids: list[int], model: str) -> dict[int, np.ndarray]:
        """The chunks' own vectors (not their windows')."""
        out: dict[int, np.ndarray] = {}
        for part, marks in in_batches(ids):
            q = (f"SELECT c.id, e.vector FROM chunks c JOIN embeddings e ON e.hash=c.embed_hash AND e.model=?"
                 f" WHERE c.id IN ({marks})")
            out.update((r[0], np.frombuffer(r[1], dtype=np.float32)) for r in self.db.execute(q, (model, *part)))
        return out

    def window_vectors(self, model: str, chunk_id: int | None = None, episode_id: str | None = None,
                       kind: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Sentence-window vectors (chunk ids, matrix) of one chunk, or of an episode's chunks of one kind."""
        q = ("SELECT w.chunk_id, e.vector FROM windows w JOIN chunks c ON c.id = w.chunk_id"
             " JOIN embeddings e ON e.hash = w.embed_hash AND e.model = ? WHERE 1")
        args: list = [model]
        for clause, value in (("c.id = ?", chunk_id), ("c.episode_id = ?", episode_id), ("c.kind = ?", kind)):
            if value is not None:
                q += f" AND {clause}"
                args.append(value)
        rows = self.db.execute(q, args).fetchall()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        return ids, np.array([np.frombuffer(r[1], dtype=np.float32) for r in rows])

    def prune_embeddings(self) -> int:
        """Drop vectors no chunk uses any more."""
        cur = self.db.execute("DELETE FROM embeddings WHERE hash NOT IN (SELECT embed_hash FROM chunks)"
                              " AND hash NOT IN (SELECT embed_hash FROM windows)"
                              " AND hash NOT IN (SELECT embed_hash FROM sentences WHERE embed_hash IS NOT NULL)")
        return cur.rowcount

    # --- chunks ---------------------------------------------------------------------------------------
    def _chunk(self, r: sqlite3.Row) -> Chunk:
        return Chunk(id=r["id"], episode_id=r["episode_id"], episode_title=r["title"], ordinal=r["ordinal"],
                     text=r["text"], speaker=r["speaker"], speakers=json.loads(r["speakers"]), start=r["start_s"],
                     end=r["end_s"], char_start=r["char_start"], char_end=r["char_end"], source=r["source"],
                     kind=Kind(r["kind"]), section=r["section"])

    _SELECT = "SELECT c.*, e.title, e.source FROM chunks c JOIN episodes e ON e.id = c.episode_id"

    def chunks(self, ids: list[int], sentences: bool = False) -> dict[int, Chunk]:
        """Chunks by id with their themes, and their sentence records when asked (answers need them, search not)."""
        out: dict[int, Chunk] = {}
        for part, marks in in_batches(ids):
            q = f"{self._SELECT} WHERE c.id IN ({marks})"
            out.update((r["id"], self._chunk(r)) for r in self.db.execute(q, part))
            tq = (f"SELECT chunk_id, theme FROM chunk_themes WHERE chunk_id IN ({marks})"
                  " ORDER BY chunk_id, score DESC")
            for cid, theme in self.db.execute(tq, part):  # hits and citations show their themes
                if cid in out:
                    out[cid].themes.append(theme)
        if sentences:
            self._add_sentences(out)
        return out

    def _add_sentences(self, chunks: dict[int, Chunk]) -> None:
        for part, marks in in_batches(list(chunks)):
            q = f"SELECT * FROM sentences WHERE chunk_id IN ({marks}) ORDER BY chunk_id, ordinal"
            for r in self.db.execute(q, part):
                chunks[r["chunk_id"]].sentences.append(Sentence(
                    start=r["start"], end=r["end"], char_start=r["char_start"], char_end=r["char_end"],
                    speaker=r["speaker"], seconds=r["seconds"], role=SentenceRole(r["role"])))

    def episode_chunks(self, episode_id: str) -> list[Chunk]:
        return [self._chunk(r) for r in self.db.execute(f"{self._SELECT} WHERE c.episode_id=? ORDER BY c.ordinal", (episode_id,))]

    def positions(self, ids: list[int]) -> dict[int, tuple[str, int, int]]:
        """Chunk id -> (episode id, ordinal, the episode's last ordinal): where a passage sits, without its text."""
        rows: list = []
        for part, marks in in_batches(ids):
            rows += self.db.execute(f"SELECT id, episode_id, ordinal FROM chunks WHERE id IN ({marks})",
                                    part).fetchall()
        last = self._last_ordinals()
        if any(r[1] not in last for r in rows):  # a batch committed since the version was read: read it afresh
            last = self._last_ordinals(fresh=True)
        return {r[0]: (r[1], r[2], last.get(r[1], r[2])) for r in rows}

    def _last_ordinals(self, fresh: bool = False) -> dict[str, int]:
        """Episode id -> its last chunk ordinal, once per index version (was a MAX subquery per passage per query)."""
        read = lambda: dict(self.db.execute("SELECT episode_id, MAX(ordinal) FROM chunks GROUP BY episode_id"))  # noqa: E731
        return read() if fresh else self._cached("last_ordinals", read)

    def neighbours(self, chunk_id: int, context: int) -> list[Chunk]:
        row = self.db.execute("SELECT episode_id, ordinal FROM chunks WHERE id=?", (chunk_id,)).fetchone()
        if row is None:
            return []
        q = f"{self._SELECT} WHERE c.episode_id=? AND c.ordinal BETWEEN ? AND ? ORDER BY c.ordinal"
        out = {r["id"]: self._chunk(r) for r in self.db.execute(q, (row[0], row[1] - context, row[1] + context))}
        self._add_sentences(out)
        return list(out.values())

    def counts(self) -> tuple[int, int, int]:
        e = self.db.execute("SELECT COUNT(*) FROM episodes").fetchone()[0]
        c = self.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        v = self.db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
        return e, c, v

    # --- filters and keyword search -----------------------------------------------------------------------
    def _where(self, filters: Filters | None) -> tuple[str, list]:
        clauses, args = [], []
        if filters and filters.speaker:
            like = f"%{filters.speaker.lower()}%"
            clauses.append("EXISTS (SELECT 1 FROM json_each(c.speakers) s WHERE lower(s.value) LIKE ?"
                           " OR lower(coalesce(json_extract(e.speakers, '$.\"' || s.value || '\"'), '')) LIKE ?)")
            args += [like, like]
        if filters and filters.episode:
            clauses.append("(c.episode_id = ? OR lower(e.title) LIKE ?)")
            args += [filters.episode, f"%{filters.episode.lower()}%"]
        if filters and filters.kind:
            clauses.append("c.kind = ?")
            args.append(Kind(filters.kind).value)
        if filters and filters.themes:  # any of the themes (OR), like choosing several tags
            clauses.append(f"EXISTS (SELECT 1 FROM chunk_themes t WHERE t.chunk_id = c.id AND t.theme IN"
                           f" ({','.join('?' * len(filters.themes))}))")
            args += list(filters.themes)
        return (" AND ".join(clauses) or "1"), args

    def filter_ids(self, filters: Filters | None) -> np.ndarray | None:
        """Chunk ids a filter allows, or None when nothing is filtered."""
        if not filters or not (filters.speaker or filters.episode or filters.kind or filters.themes):
            return None
        where, args = self._where(filters)
        rows = self.db.execute(f"SELECT c.id FROM chunks c JOIN episodes e ON e.id=c.episode_id WHERE {where}", args)
        return np.fromiter((r[0] for r in rows), dtype=np.int64)

    def doc_freq(self, term: str) -> int:
        """Chunks containing the word (as FTS5 matches it: stemmed, a phrase when it splits into several tokens);
        cached per version."""
        return self._cached(("docs", term), lambda: self.db.execute(
            "SELECT COUNT(*) FROM chunks_fts WHERE chunks_fts MATCH ?", (_phrase(term),)).fetchone()[0])

    def idf(self, term: str) -> float:
        """Inverse document frequency of a word over chunks (BM25's form, floored at a small positive value);
        cached per version, like the other word statistics every answer reads."""
        def compute() -> float:
            df, n = self.doc_freq(term), self._chunk_count()
            return max(0.05, float(np.log((n - df + 0.5) / (df + 0.5) + 1)))

        return self._cached(("idf", term), compute)

    def has_term(self, term: str) -> bool:
        """Whether any chunk (or its context header) contains the word, after the FTS5 tokenizer's stemming."""
        return self._cached(("has", term), lambda: self.db.execute(
            "SELECT 1 FROM chunks_fts WHERE chunks_fts MATCH ? LIMIT 1", (_phrase(term),)).fetchone() is not None)

    def _docs_upto(self, term: str, cap: int) -> int:
        """Chunks containing the word, counted up to `cap` (enough to tell rare from common); cached per version."""
        return self._cached(("df", term, cap), lambda: self.db.execute(
            "SELECT COUNT(*) FROM (SELECT 1 FROM chunks_fts WHERE chunks_fts MATCH ? LIMIT ?)", (_phrase(term), cap + 1)
        ).fetchone()[0])

    def keyword_search(self, terms: list[str], limit: int, filters: Filters | None = None) -> list[tuple[int, float]]:
        """BM25 over the chunk text and its context header; terms are OR-ed, so recall does not need every word.

        FTS5 scores every row that matches, so an OR of words found in most passages ("know", "yeah", a host's
        name) costs ~150k BM25 evaluations on the full Changelog set (0.5 s a query there). Past KEYWORD_ROWS
        candidate rows the most common words stop bringing passages in and only add to the score of passages that
        contain a rarer word (Elasticsearch's cutoff_frequency idea): `(rare) AND (common)` plus `(rare) NOT
        (common)` are exactly the rows of the full OR that hold a rare word, with the same BM25 scores."""
        if not terms:
            return []
        quoted = {t: _phrase(t) for t in terms}
        rare, common = list(terms), []
        if len(terms) > 1 and self._chunk_count() > KEYWORD_SPLIT_FROM:
            dfs = {t: self._docs_upto(t, KEYWORD_ROWS) for t in terms}
            while len(rare) > 1 and sum(dfs[t] for t in rare) > KEYWORD_ROWS:
                most = max(rare, key=lambda t: dfs[t])
                rare.remove(most)
                common.append(most)
        rare_q = " OR ".join(quoted[t] for t in rare)
        if common:
            common_q = " OR ".join(quoted[t] for t in common)
            matches = [f"({rare_q}) AND ({common_q})", f"({rare_q}) NOT ({common_q})"]
        else:
            matches = [rare_q]
        where, args = self._where(filters)
        score = f"bm25(chunks_fts, {', '.join(map(str, COLUMN_WEIGHTS))})"  # text, context header
        if where == "1":  # no filter: FTS5 alone, no join per matching row
            part = f"SELECT rowid AS id, {score} AS s FROM chunks_fts WHERE chunks_fts MATCH ?"
        else:
            part = (f"SELECT chunks_fts.rowid AS id, {score} AS s FROM chunks_fts"
                    f" JOIN chunks c ON c.id = chunks_fts.rowid JOIN episodes e ON e.id = c.episode_id"
                    f" WHERE chunks_fts MATCH ? AND {where}")
        q = " UNION ALL ".join([part] * len(matches)) + " ORDER BY s LIMIT ?"
        params = [x for m in matches for x in (m, *args)]
        return [(r[0], -r[1]) for r in self.db.execute(q, (*params, limit))]

    def _chunk_count(self) -> int:
        return self._cached("chunks", lambda: self.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])
