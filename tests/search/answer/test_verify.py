"""The verification rules on their own: sentences of a reply, citations, quotes, names and numbers."""
from __future__ import annotations

import pytest

from search.answer.verify import (cited_numbers, is_abstention, names_in, numbers_in, points_by_number,
                                  reply_sentences, verify_reply, verify_sentence)
from tests.search.answer.fixtures import points


@pytest.fixture
def excerpts():
    return points_by_number(points())


def test_sentences_end_at_full_stops_with_markers_on_either_side():
    reply = "Trust comes first [2]. Maria Bracho grew her team to forty. [1][3] Notes say promote from within [3]."
    assert reply_sentences(reply)[0] == ["Trust comes first [2].", "Maria Bracho grew her team to forty. [1][3]",
                                         "Notes say promote from within [3]."]


def test_abbreviations_lists_and_line_breaks():
    reply = "- Dr. Smith says trust comes first, e.g. Alexis Monville does [2].\n2. Notes say promote [3]"
    assert reply_sentences(reply)[0] == ["Dr. Smith says trust comes first, e.g. Alexis Monville does [2].",
                                         "Notes say promote [3]"]


def test_a_streamed_sentence_is_complete_only_once_the_next_one_begins():
    assert reply_sentences("Trust comes first. [2", final=False) == ([], "Trust comes first. [2")
    assert reply_sentences("Trust comes first. [2]", final=False) == ([], "Trust comes first. [2]")
    assert reply_sentences("Trust comes first. [2] No", final=False) == (["Trust comes first. [2]"], " No")
    assert reply_sentences("Trust comes first [2].\nNo", final=False) == (["Trust comes first [2]."], "No")


def test_markers_that_open_a_line_belong_to_what_follows():
    assert reply_sentences("[1] Maria Bracho says so.\n[2] Alexis agrees.")[0] == [
        "[1] Maria Bracho says so.", "[2] Alexis agrees."]
    # after an end mark, markers are the previous sentence's: "... so. [2]" is the usual style
    assert reply_sentences("[1] Maria Bracho says so. [2] Alexis agrees.")[0] == [
        "[1] Maria Bracho says so. [2]", "Alexis agrees."]
    assert reply_sentences("Maria Bracho says so.\n[1]")[0] == ["Maria Bracho says so.", "[1]"]


def test_a_sentence_must_say_more_than_who_and_where(excerpts):
    # SmolLM2-135M echoing the heading of an excerpt (the manual check)
    echo = verify_sentence('[1] Maria Bracho (guest, CTO for LATAM at Red Hat), in "Leading Change with Maria '
                           'Bracho", at 00:12:24', excerpts)
    assert not echo.kept and echo.reason == "says nothing but who said it and where"
    assert verify_sentence("[1]", excerpts).reason == "says nothing"
    assert verify_sentence("Maria Bracho is the guest [1].", excerpts).kept


def test_citation_markers():
    assert cited_numbers("A [1][3] b [1, 2].") == [1, 3, 2]
    assert cited_numbers("No markers, or a year in brackets (2019).") == []


def test_cites_must_exist(excerpts):
    assert verify_sentence("Trust comes first.", excerpts).reason == "cites no excerpt"
    verdict = verify_sentence("Trust comes first [2][7].", excerpts)
    assert not verdict.kept and "[7]" in verdict.reason


def test_quotes_must_be_verbatim_in_a_cited_passage(excerpts):
    assert verify_sentence('She says the hard part was "Letting go of the code!" [1].', excerpts).kept
    assert verify_sentence("She says “you have to trust people … decisions” [1].", excerpts).kept
    assert not verify_sentence("She says ‘you must fire fast’ [1].", excerpts).kept
    assert verify_sentence('In "Leading Change with Maria Bracho" she says her team grew to forty [1].', excerpts).kept
    assert not verify_sentence('In "Trust at Scale" she says her team grew to forty [1].', excerpts).kept  # [2]'s
    # the words are in passage [1], but the sentence cites [2]
    assert not verify_sentence('Alexis says "letting go of the code" matters [2].', excerpts).kept
    assert verify_sentence("Alexis Monville’s point is that trust matters [2].", excerpts).kept  # an apostrophe


def test_names_must_be_in_a_cited_passage_or_its_speaker(excerpts):
    assert names_in("Maria Bracho joined Red Hat’s team with the CTO and I’m told OKRs [1].") == [
        "Bracho", "Red", "Hat", "CTO", "OKRs"]
    assert verify_sentence("When she joined, Maria Bracho's team at Red Hat had ten engineers [1].", excerpts).kept
    verdict = verify_sentence("Maria Bracho learned this at Google [1].", excerpts)
    assert not verdict.kept and "Google" in verdict.reason
    assert not verify_sentence("Trust is the foundation, says Maria Bracho [2].", excerpts).kept  # [2] is Alexis
    assert not verify_sentence("AWS taught Maria Bracho to let go of the code [1].", excerpts).kept  # an acronym
    assert verify_sentence("The Bracho-led team grew to forty [1].", excerpts).kept
    assert not verify_sentence("The Bracho-Smith team grew to forty [1].", excerpts).kept


def test_numbers_match_in_digits_or_words():
    assert numbers_in("ten engineers, twenty-five people, 5 million users, 1,000 and 3.5%, in 2019") == {
        10, 25, 5_000_000, 1000, 3.5, 2019}
    assert numbers_in("five million") == numbers_in("5,000,000") == {5_000_000}
    assert numbers_in("one of the things", lone_one=False) == set()
    assert numbers_in("two hundred and fifty") == {250}


def test_numbers_must_be_stated_by_a_cited_passage(excerpts):
    assert verify_sentence("Her team grew from 10 to forty engineers in three years [1].", excerpts).kept
    assert verify_sentence("At 00:12:24 she says one of the hard parts was letting go [1].", excerpts).kept
    verdict = verify_sentence("Her team grew to fifty engineers [1].", excerpts)
    assert not verdict.kept and "50" in verdict.reason
    assert not verify_sentence("She joined Red Hat in 2021 [1].", excerpts).kept
    assert not verify_sentence("40% of new managers leave, Alexis says [2].", excerpts).kept  # 40% is in [3]
    assert verify_sentence("40% of new managers leave within two years without support [3].", excerpts).kept


def test_abstention():
    assert is_abstention("The corpus does not say.")
    assert is_abstention("The corpus doesn't say [1].")
    assert not is_abstention("The corpus does not say who her boss is.")
    verdicts = verify_reply("The corpus does not say.", points())
    assert [(v.kept, v.abstains) for v in verdicts] == [(False, True)]
