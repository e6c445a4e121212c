"""The bi-encoder benchmark's pooling (bench/biencoder.py, issue 16 part 3): MRR@10 and recalls over the answerable
questions of several sets, paraphrases apart."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def bi(bench_module):
    return bench_module("biencoder", "_env")


def row(rank: int | None, category: str = "keyword", answerable: bool = True) -> dict:
    return {"rank": rank, "category": category, "answerable": answerable}


def test_pooled_counts_answerable_questions_only(bi):
    rows = [row(1), row(2, "paraphrase"), row(7, "paraphrase"), row(None, "paraphrase"), row(None, "offtopic", False)]
    out = bi.pooled(rows)
    assert out["n"] == 4
    assert out["mrr@10"] == round((1 + 1 / 2 + 1 / 7) / 4, 3)
    assert out["recall@5"] == 0.5 and out["recall@10"] == 0.75
    assert out["paraphrase_n"] == 3 and out["paraphrase_recall@10"] == round(2 / 3, 3)


def test_pooled_without_paraphrases_says_so(bi):
    out = bi.pooled([row(12), row(3)])
    assert out["mrr@10"] == round(1 / 3 / 2, 3)  # a rank past 10 counts nothing
    assert out["paraphrase_n"] == 0 and out["paraphrase_recall@10"] is None
