"""BM25 as FTS5 computes it: the same scores as SQLite's bm25() with the store's column weights."""
from __future__ import annotations

import sqlite3

import pytest

from search import bm25

ROWS = [
    ("trust grows when you keep small promises to the team", "Episode one: Maria on trust"),
    ("the team moved to the cloud and trust followed slowly", "Episode two"),
    ("hiring the first manager is about trust and judgement and trust again", "Notes: hiring"),
    ("letting go of the code is the hardest part of leading a growing team", "Episode three: letting go"),
    ("nothing here matches", "Episode four"),
]


@pytest.mark.parametrize("query", [["trust"], ["trust", "team"], ["letting", "go"], ["hiring", "manager", "cloud"],
                                   ["episode", "trust"], [("letting", "go")]])
def test_scores_equal_fts5_bm25_with_the_store_weights(query):
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(text, context)")  # no stemmer: the words are the tokens
    db.executemany("INSERT INTO t (rowid, text, context) VALUES (?, ?, ?)",
                   [(i, a, b) for i, (a, b) in enumerate(ROWS, 1)])
    phrases = [p if isinstance(p, tuple) else (p,) for p in query]
    match = " OR ".join('"' + " ".join(p) + '"' for p in phrases)
    weights = ", ".join(map(str, bm25.COLUMN_WEIGHTS))
    fts5 = {rowid: -s for rowid, s in db.execute(f"SELECT rowid, bm25(t, {weights}) FROM t WHERE t MATCH ?", (match,))}

    columns = {i: [a.split(), b.lower().replace(":", "").split()] for i, (a, b) in enumerate(ROWS, 1)}
    mean = sum(len(a) + len(b) for a, b in columns.values()) / len(columns)
    hits = [sum(1 for c in columns.values() if any(bm25.occurrences(p, col) for col in c)) for p in phrases]
    idfs = [bm25.idf(len(columns), n) for n in hits]
    ours = {i: bm25.score(c, phrases, idfs, mean) for i, c in columns.items()}
    assert fts5 and set(fts5) == {i for i, s in ours.items() if s > 0}
    for rowid, s in fts5.items():
        assert ours[rowid] == pytest.approx(s, rel=1e-9)


def test_a_term_in_most_rows_weighs_almost_nothing():
    assert bm25.idf(5, 4) == 1e-6 and bm25.idf(5, 1) > bm25.idf(5, 2) > 0
    assert bm25.occurrences(("a", "b"), ["a", "b", "a", "b", "b"]) == 2
