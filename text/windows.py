"""Sentence windows: short runs of whole sentences embedded next to their chunk.

A 200-word chunk's single vector blurs its topics; a question about one remark in it matches that remark's own
sentences far better. Each window is stored with its chunk's id, so the best window lifts the whole chunk.
"""
from __future__ import annotations

from text.sentences import split_sentences


def sentence_windows(text: str, min_words: int = 12, max_words: int = 60) -> list[str]:
    """Windows of a chunk's sentences; empty when the chunk is a single window already."""
    windows = group_sentences(split_sentences(text), min_words, max_words)
    return windows if len(windows) > 1 else []


def group_sentences(sentences: list[str], min_words: int, max_words: int) -> list[str]:
    """Consecutive sentences grouped to at least `min_words` (so "Right." never stands alone) and at most
    `max_words` (unless one sentence is longer)."""
    groups: list[str] = []
    cur: list[str] = []
    size = 0
    for sent in sentences:
        words = len(sent.split())
        if cur and size + words > max_words:
            groups.append(" ".join(cur))
            cur, size = [], 0
        cur.append(sent.strip())
        size += words
        if size >= min_words:
            groups.append(" ".join(cur))
            cur, size = [], 0
    if cur:
        if groups and size < min_words:
            groups[-1] += " " + " ".join(cur)
        else:
            groups.append(" ".join(cur))
    return groups
