"""The excerpt scorer: meaning averaged over the excerpt, question words covered, the passage's search score."""
from __future__ import annotations

import numpy as np
import pytest

from core.models import SentenceRole as R
from search.answer.excerpts import excerpt, units
from search.answer.score import KIND_WEIGHT, LEXICAL_WEIGHT, PASSAGE_WEIGHT, score_sentences
from tests.search.answer.test_build import encode, passage

C = R.content
IDF = {"trust": 2.0, "promises": 3.0}.get


def scored(question: str, passage_scores: list[float], *passages, holds: list[bool] | None = None):
    chunks = [c for _, c in passages]
    us = units(chunks, lambda chunk, s: True)
    return us, chunks, score_sentences(question, us, passage_scores, encode, lambda w: IDF(w, 1.0), holds=holds)


def test_a_passage_behind_in_search_scores_lower_by_the_gap():
    same = [("Trust grows when you keep promises to your team.", "Ann", C)]
    us, chunks, s = scored("trust promises", [3.0, 1.0], passage(1, same), passage(2, same))
    first, second = (excerpt(i, i, i, us, chunks) for i in (0, 1))
    assert s.features(first)[:2] == pytest.approx(s.features(second)[:2])
    assert s.features(first)[2] == 0.0 and s.features(second)[2] == pytest.approx(2.0)
    assert s.total(first) - s.total(second) == pytest.approx(2.0 * PASSAGE_WEIGHT)


def test_meaning_is_averaged_over_the_excerpt_and_words_are_covered_by_any_sentence():
    p = passage(1, [("Trust is the foundation of a team.", "Ann", C),
                    ("We bake bread together on Fridays and keep our promises.", "Ann", C)])
    us, chunks, s = scored("trust promises", [1.0], p)
    key_only, both = excerpt(0, 0, 0, us, chunks), excerpt(0, 1, 0, us, chunks)
    assert s.features(both)[0] == pytest.approx(float(np.mean(s.similarity[:2])))
    assert s.features(both)[0] < s.features(key_only)[0]  # the bread sentence is further from the question
    assert s.features(key_only)[1] == pytest.approx(2 / 5) and s.features(both)[1] == pytest.approx(1.0)
    meaning, coverage, behind, kind = s.features(both)
    assert kind == 0.0  # the question asks for no particular kind of answer
    assert s.total(both) == pytest.approx(meaning + LEXICAL_WEIGHT * coverage - PASSAGE_WEIGHT * behind)


def test_an_excerpt_that_holds_the_kind_of_answer_asked_for_scores_higher_by_its_weight():
    p = passage(1, [("Trust took us a long while to build.", "Ann", C),
                    ("It took eighteen months before the team trusted us.", "Ann", C)])
    us, chunks, s = scored("how long did trust take", [1.0], p, holds=[False, True])
    without, holding, both = (excerpt(*ids, us, chunks) for ids in ((0, 0, 0), (1, 1, 1), (0, 1, 0)))
    assert not s.answers(without) and s.answers(holding) and s.answers(both)
    assert s.features(without)[3] == 0.0 and s.features(both)[3] == 1.0
    meaning, coverage, behind, kind = s.features(holding)
    assert s.total(holding) == pytest.approx(meaning + LEXICAL_WEIGHT * coverage - PASSAGE_WEIGHT * behind
                                             + KIND_WEIGHT)


def test_the_kind_asked_for_counts_only_in_a_sentence_about_what_is_asked():
    """"Audible" in a line about audiobooks is a name but no band's: the form must come with one of the question's
    words."""
    p = passage(1, [("We baked bread every Friday for eighteen months.", "Ann", C),
                    ("Trust took eighteen months to earn.", "Ann", C)])
    us, chunks, s = scored("how long did trust take", [1.0], p, holds=[True, True])
    off, about = excerpt(0, 0, 0, us, chunks), excerpt(1, 1, 1, us, chunks)
    assert not s.answers(off) and s.answers(about)
    assert s.features(off)[3] == 0.0 and s.features(about)[3] == 1.0
