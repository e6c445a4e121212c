"""BM25 exactly as SQLite FTS5 computes it, for rows scored outside SQLite.

The default store ranks keyword matches with FTS5's `bm25(chunks_fts, 1.0, 0.5)`. The Milvus backend asks Milvus
for BM25 candidates, but Milvus scores them its own way (Lucene's IDF, one field, collection statistics that
include rows no query can see), so its order differs from the default's on about one question in eight. Scoring
Milvus's candidates again with FTS5's formula makes the two backends rank alike. FTS5's formula (fts5_aux.c,
`fts5Bm25Function`): per query phrase, IDF = ln((N - n + 0.5) / (n + 0.5)), at least 1e-6; its frequency in a
row is the sum over columns of the column's weight times its occurrences; the row's length is its tokens over
all columns, against the table's mean.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

K1, B = 1.2, 0.75  # FTS5's fixed parameters
COLUMN_WEIGHTS = (1.0, 0.5)  # chunk text, context header: what Store.keyword_search passes to bm25()


def idf(rows: int, hits: int) -> float:
    value = math.log((rows - hits + 0.5) / (hits + 0.5)) if rows else 0.0
    return value if value > 0 else 1e-6


def occurrences(phrase: Sequence[str], tokens: Sequence[str]) -> int:
    """Times the phrase (one token, or several in a row) occurs in the tokens."""
    n = len(phrase)
    if n == 1:
        return sum(1 for t in tokens if t == phrase[0])
    return sum(1 for i in range(len(tokens) - n + 1) if tuple(tokens[i:i + n]) == tuple(phrase))


def score(columns: Sequence[Sequence[str]], phrases: Sequence[Sequence[str]], idfs: Sequence[float],
          mean_tokens: float, weights: Sequence[float] = COLUMN_WEIGHTS) -> float:
    """The row's BM25 for the query's phrases (each with its IDF), higher is better (FTS5 returns it negated)."""
    length = sum(len(c) for c in columns)
    norm = K1 * (1 - B + B * length / mean_tokens) if mean_tokens > 0 else K1
    total = 0.0
    for phrase, w in zip(phrases, idfs):
        freq = sum(weight * occurrences(phrase, col) for weight, col in zip(weights, columns))
        if freq:
            total += w * freq * (K1 + 1) / (freq + norm)
    return total
