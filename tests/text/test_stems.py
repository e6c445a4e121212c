"""Stems match the forms of a word a question and a passage use, and nothing else."""
from __future__ import annotations

from text.stems import stem_words, stems


def test_inflections_share_a_stem():
    assert len(set(stem_words(["delegating", "delegated", "delegates", "Delegate"]))) == 1
    assert stems("Hiring her first managers.") == stem_words(["hire", "her", "first", "manager"])


def test_different_words_keep_different_stems():
    assert len(set(stem_words(["trust", "truth", "true"]))) == 3
    assert stems("AI") != stems("have")  # the lookup table's "ai" -> "have" is a lemmatizer trap


def test_curly_apostrophes_and_punctuation():
    assert stems("Maria’s team—it’s scaling, fast!") == stems("maria's team it's scaling fast")
