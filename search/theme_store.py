"""Theme tags in the SQLite store: writing them from stored vectors (never re-embedding a passage) and the
read-side queries behind `kb themes`. Filtering by theme lives in `Store._where` with the other filters."""
from __future__ import annotations

import json
from collections import Counter

import numpy as np

from core.models import NamedCount
from search.store import Store, in_batches
from search.themes import ThemeTagger

FINGERPRINT_KEY = "themes_fingerprint"


def _chunk_rows(store: Store, model: str, episode_ids: list[str] | None) -> list:
    """(chunk id, text, stored vector) for the chunks to tag; their window vectors are read by `_windows`."""
    q = ("SELECT c.id, c.text, e.vector FROM chunks c JOIN embeddings e ON e.hash = c.embed_hash AND e.model = ?")
    if episode_ids is None:
        return store.db.execute(q + " ORDER BY c.id", (model,)).fetchall()
    rows = []
    for part, marks in in_batches(episode_ids):
        rows += store.db.execute(q + f" WHERE c.episode_id IN ({marks}) ORDER BY c.id", (model, *part)).fetchall()
    return rows


def _windows(store: Store, model: str, chunk_ids: list[int]) -> list[np.ndarray | None]:
    """Each chunk's stored sentence-window vectors (None when it has none), read in batches, never re-embedded."""
    found: dict[int, list[np.ndarray]] = {}
    for part, marks in in_batches(chunk_ids):
        q = ("SELECT w.chunk_id, e.vector FROM windows w JOIN embeddings e ON e.hash = w.embed_hash AND e.model = ?"
             f" WHERE w.chunk_id IN ({marks}) ORDER BY w.chunk_id, w.ordinal")
        for cid, vec in store.db.execute(q, (model, *part)):
            found.setdefault(cid, []).append(np.frombuffer(vec, dtype=np.float32))
    return [np.stack(found[c]) if c in found else None for c in chunk_ids]


def tag_episodes(store: Store, tagger: ThemeTagger, episode_ids: list[str] | None = None) -> tuple[int, int]:
    """(Re)write the tags of these episodes' chunks (all chunks when None); call inside a transaction.
    Returns (chunks tagged, tags written)."""
    rows = _chunk_rows(store, tagger.embedder.name, episode_ids)
    ids = [r[0] for r in rows]
    for part, marks in in_batches(ids):
        store.db.execute(f"DELETE FROM chunk_themes WHERE chunk_id IN ({marks})", part)
    if not rows:
        return 0, 0
    vectors = np.stack([np.frombuffer(r[2], dtype=np.float32) for r in rows])
    windows = _windows(store, tagger.embedder.name, ids) if tagger.taxonomy.scoring.window_weight else None
    tags = tagger.tag([r[1] for r in rows], vectors, windows)
    values = [(cid, s.theme, round(s.score, 6), round(s.similarity, 6), json.dumps(s.reasons()))
              for cid, row in zip(ids, tags, strict=True) for s in row]
    store.db.executemany("INSERT INTO chunk_themes (chunk_id, theme, score, similarity, matched) VALUES (?,?,?,?,?)",
                         values)
    return len(rows), len(values)


def retag_all(store: Store, tagger: ThemeTagger) -> tuple[int, int]:
    """Replace every tag in one transaction and record which taxonomy produced them."""
    tagger.prototypes()  # encode the few theme texts before taking the write lock
    with store.transaction():
        store.db.execute("DELETE FROM chunk_themes")
        counts = tag_episodes(store, tagger, None)
        set_fingerprint(store, tagger.taxonomy.fingerprint())
    return counts


def fingerprint(store: Store) -> str | None:
    row = store.db.execute("SELECT value FROM state WHERE key = ?", (FINGERPRINT_KEY,)).fetchone()
    return row[0] if row else None


def set_fingerprint(store: Store, value: str) -> None:
    store.db.execute("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)", (FINGERPRINT_KEY, value))


def themes_of(store: Store, chunk_ids: list[int]) -> dict[int, list[str]]:
    """chunk id -> its themes, strongest first."""
    out: dict[int, list[str]] = {}
    for part, marks in in_batches(chunk_ids):
        q = (f"SELECT chunk_id, theme FROM chunk_themes WHERE chunk_id IN ({marks})"
             " ORDER BY chunk_id, score DESC")
        for cid, theme in store.db.execute(q, part):
            out.setdefault(cid, []).append(theme)
    return out


def counts(store: Store) -> dict[str, int]:
    return dict(store.db.execute("SELECT theme, COUNT(*) FROM chunk_themes GROUP BY theme").fetchall())


def top_episodes(store: Store, theme: str, n: int = 3) -> list[NamedCount]:
    rows = store.db.execute(
        "SELECT e.title, COUNT(*) AS n FROM chunk_themes t JOIN chunks c ON c.id = t.chunk_id"
        " JOIN episodes e ON e.id = c.episode_id WHERE t.theme = ? GROUP BY e.id ORDER BY n DESC, e.title LIMIT ?",
        (theme, n))
    return [NamedCount(name=r[0], count=r[1]) for r in rows]


def top_speakers(store: Store, theme: str, n: int = 3) -> list[NamedCount]:
    """Speakers by tagged passages, under their full names where the episode gives them."""
    rows = store.db.execute(
        "SELECT c.speaker, e.speakers FROM chunk_themes t JOIN chunks c ON c.id = t.chunk_id"
        " JOIN episodes e ON e.id = c.episode_id WHERE t.theme = ? AND c.speaker IS NOT NULL", (theme,))
    tally: Counter[str] = Counter(json.loads(names or "{}").get(short, short) for short, names in rows)
    return [NamedCount(name=name, count=k) for name, k in sorted(tally.items(), key=lambda x: (-x[1], x[0]))[:n]]


def strongest(store: Store, theme: str, k: int) -> list[tuple[int, float, float, list[str]]]:
    """(chunk id, score, similarity, matched phrases) of the theme's best passages."""
    rows = store.db.execute("SELECT chunk_id, score, similarity, matched FROM chunk_themes WHERE theme = ?"
                            " ORDER BY score DESC, chunk_id LIMIT ?", (theme, k))
    return [(r[0], r[1], r[2], json.loads(r[3])) for r in rows]


def only_episodes(store: Store, episode_ids: list[str]) -> bool:
    """Whether the store holds no chunk outside these episodes (then tagging them tagged everything)."""
    # one bound JSON array rather than a "?" per id: a first ingest passes every episode, past SQLite's variable cap
    row = store.db.execute("SELECT 1 FROM chunks WHERE episode_id NOT IN (SELECT value FROM json_each(?)) LIMIT 1",
                           (json.dumps(episode_ids),)).fetchone()
    return row is None
