"""Ordered schema migrations, recorded in a table so an old store upgrades in place."""
from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime, timezone

MIGRATIONS: list[tuple[str, Callable[[sqlite3.Connection], None]]] = []


def migration(fn: Callable[[sqlite3.Connection], None]) -> Callable[[sqlite3.Connection], None]:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


def migrate(db: sqlite3.Connection) -> list[str]:
    """Apply the migrations this store has not seen yet, each in its own transaction."""
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    done = {row[0] for row in db.execute("SELECT name FROM _migrations")}
    applied = []
    for name, fn in MIGRATIONS:
        if name in done:
            continue
        with db:
            fn(db)
            db.execute("INSERT INTO _migrations VALUES (?, ?)", (name, datetime.now(timezone.utc).isoformat()))
        applied.append(name)
    return applied


@migration
def m001_initial(db: sqlite3.Connection) -> None:
    db.executescript(
        """
        CREATE TABLE episodes (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL,
            source TEXT NOT NULL,
            path TEXT NOT NULL,
            kind TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            speakers TEXT NOT NULL DEFAULT '{}',
            meta TEXT NOT NULL DEFAULT '{}',
            ingested_at TEXT NOT NULL
        );
        CREATE INDEX episodes_path ON episodes(path);
        CREATE TABLE chunks (
            id INTEGER PRIMARY KEY,
            episode_id TEXT NOT NULL REFERENCES episodes(id) ON DELETE CASCADE,
            ordinal INTEGER NOT NULL,
            text TEXT NOT NULL,
            speaker TEXT,
            speakers TEXT NOT NULL DEFAULT '[]',
            start_s REAL,
            end_s REAL,
            char_start INTEGER NOT NULL,
            char_end INTEGER NOT NULL,
            kind TEXT NOT NULL,
            section TEXT,
            embed_hash TEXT NOT NULL,
            UNIQUE (episode_id, ordinal)
        );
        CREATE INDEX chunks_embed_hash ON chunks(embed_hash);
        CREATE TABLE embeddings (
            hash TEXT NOT NULL,
            model TEXT NOT NULL,
            dim INTEGER NOT NULL,
            vector BLOB NOT NULL,
            PRIMARY KEY (hash, model)
        );
        CREATE VIRTUAL TABLE chunks_fts USING fts5(text, context, tokenize = 'porter unicode61');
        CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO state VALUES ('index_version', '0');
        """
    )


@migration
def m002_sentence_windows(db: sqlite3.Connection) -> None:
    db.executescript(
        """
        CREATE TABLE windows (
            chunk_id INTEGER NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
            ordinal INTEGER NOT NULL,
            embed_hash TEXT NOT NULL,
            PRIMARY KEY (chunk_id, ordinal)
        );
        CREATE INDEX windows_embed_hash ON windows(embed_hash);
        """
    )


@migration
def m003_chunk_themes(db: sqlite3.Connection) -> None:
    """Theme tags per chunk: the score, the seed phrases that matched (why) and the embedding similarity."""
    db.executescript(
        """
        CREATE TABLE chunk_themes (
            chunk_id INTEGER NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
            theme TEXT NOT NULL,
            score REAL NOT NULL,
            similarity REAL NOT NULL,
            matched TEXT NOT NULL DEFAULT '[]',
            PRIMARY KEY (chunk_id, theme)
        );
        CREATE INDEX chunk_themes_theme ON chunk_themes(theme, score DESC);
        """
    )


@migration
def m004_files(db: sqlite3.Connection) -> None:
    """Per source file, a key over its text, sidecars, reader code and settings: an unchanged file is skipped
    without parsing (re-reading 2,084 Changelog files took ~42 s, corpus-sized work for every new episode)."""
    db.execute("CREATE TABLE files (path TEXT PRIMARY KEY, key TEXT NOT NULL)")


@migration
def m005_chunk_id_counter(db: sqlite3.Connection) -> None:
    """Chunk ids are handed out from a counter that never goes back (see Store._next_chunk_id): start it past
    every id an existing store has used, so an upgraded store never reuses one either."""
    db.execute("INSERT OR REPLACE INTO state (key, value) SELECT 'next_chunk_id', CAST(COALESCE(MAX(id), 0) + 1 AS TEXT)"
               " FROM chunks")


@migration
def m006_sentences(db: sqlite3.Connection) -> None:
    """Each passage's sentences: offsets in the passage and the source file, speaker, time, and role (content,
    greeting, question...), so answers quote whole content sentences and cite their minute. A store from before
    has none until its next `kb ingest` (the chunker version changed, so every file is read once more; nothing is
    re-embedded); until then answers split passages at query time."""
    db.executescript(
        """
        CREATE TABLE sentences (
            chunk_id INTEGER NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
            ordinal INTEGER NOT NULL,
            start INTEGER NOT NULL,
            end INTEGER NOT NULL,
            char_start INTEGER NOT NULL,
            char_end INTEGER NOT NULL,
            speaker TEXT,
            seconds REAL,
            role TEXT NOT NULL,
            PRIMARY KEY (chunk_id, ordinal)
        );
        """
    )


@migration
def m007_sentence_vectors(db: sqlite3.Connection) -> None:
    """The vector key of each sentence an answer may quote: its vector is embedded at ingest like any other text
    (by content hash, once), so `kb ask` reads 50-70 sentence vectors instead of encoding them (~0.5 s a question
    on one thread), and pruning keeps what a sentence still uses. NULL for other roles, and for sentences stored
    before: answers encode those at query time, as before, until the next `kb ingest` of their episode."""
    db.execute("ALTER TABLE sentences ADD COLUMN embed_hash TEXT")
    db.execute("CREATE INDEX sentences_embed_hash ON sentences(embed_hash)")
