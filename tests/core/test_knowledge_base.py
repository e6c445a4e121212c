"""KnowledgeBase.ask reads the vectors of the sentences it may quote from the store: only the question is encoded."""
from __future__ import annotations

import numpy as np

from core.knowledge_base import KnowledgeBase
from core.settings import Settings
from tests.helpers import write_corpus


def test_ask_encodes_only_the_question(tmp_path):
    kb = KnowledgeBase(Settings(data_dir=tmp_path / "d", model="fake"))
    kb.ingest([write_corpus(tmp_path / "corpus")])
    encoded: list[str] = []
    real = kb.embedder.encode

    def counting(texts, *args, **kwargs):
        encoded.extend(texts)
        return real(texts, *args, **kwargs)

    kb.embedder.encode = counting  # type: ignore[method-assign]
    question = "How do you build momentum with small wins?"
    answer = kb.ask(question)
    assert answer.points and not answer.abstained
    assert encoded == [question]
    # the stored vectors are the ones the encoder gives: scoring is unchanged
    quote = answer.points[0].citation.quote.split(". ")[0]
    text = next(t for c in kb.store.chunks([answer.points[0].citation.chunk_id], sentences=True).values()
                for t in c.quotable_texts() if t.startswith(quote))
    np.testing.assert_allclose(kb.store.text_vectors([text], kb.embedder.name)[text], real([text])[0], atol=1e-6)


def test_spoken_passages_added_to_an_answer_rank_below_the_search_they_missed(tmp_path):
    """The spoken search z-scores within transcripts only: a passage it adds to the answer's candidates gets a score
    no higher than the last of the main search's, so the excerpt scorer's score gap means the same for all."""
    from core.models import Kind, SentenceRole
    from tests.search.answer.test_build import passage

    kb = KnowledgeBase(Settings(data_dir=tmp_path / "d", model="fake"))
    main = [passage(i, [("Trust is built slowly.", "Ann", SentenceRole.content)])[0].model_copy(
        update={"score": 10.0 - i}) for i in range(1, 9)]
    spoken = [passage(i, [("Trust is built slowly.", "Ann", SentenceRole.content)])[0].model_copy(
        update={"score": s}) for i, s in ((3, 9.5), (20, 9.0), (21, 0.5))]
    kb.search = lambda q, k, filters=None: spoken if filters and filters.kind == Kind.transcript else main
    hits, _ = kb.answer_passages("how is trust built?")
    assert [h.chunk_id for h in hits] == [*range(1, 9), 20, 21]
    assert [h.score for h in hits[8:]] == [2.0, 0.5]  # capped at the 8th passage's 2.0; a lower score stays


INTERVIEW_MD = """# Trust at scale with Maria Bracho

**Alexis Monville:** Welcome to the show. I'm your host, Alexis Monville, and today I welcome Maria Bracho.

**Maria Bracho:** Thank you for having me. I am Maria Bracho and I lead technology for Latin America at Red Hat.

**Alexis Monville:** How do you build trust with a new team?

**Maria Bracho:** Trust is built slowly, one kept promise at a time. You show up every week and do what you said.
"""


def test_who_is_finds_the_introduction_and_names_the_part_of_a_speaker_labelled_in_full(tmp_path):
    """A Markdown transcript labels speakers by full name and has no name table: its speakers are still known (with
    the part ingest inferred), and "Who is Maria?" is answered by her introduction, which retrieval need not rank:
    every passage of hers carries her name."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "trust-with-maria.md").write_text(INTERVIEW_MD, encoding="utf-8")
    kb = KnowledgeBase(Settings(data_dir=tmp_path / "d", model="fake"))
    kb.ingest([corpus])
    maria = kb.speakers().get("trust-with-maria", "Maria Bracho")
    assert maria is not None and maria.part == "guest"
    intro = kb.store.introductions("trust-with-maria", "Maria Bracho", "Maria Bracho")
    assert [h.chunk_id for h in kb._introductions("Who is Maria?", [])] == intro[:1] and intro
    assert kb._introductions("Who is the CEO of Red Hat?", []) == []
    answer = kb.ask("Who is Maria?")
    assert not answer.abstained
    assert answer.points[0].text == "I am Maria Bracho and I lead technology for Latin America at Red Hat."
    assert "Maria Bracho (guest)" in answer.answer


FIRST_NAME_MD = """# Founders talk with Pia Mancini

**Adam Stacoviak:** Pia, you're now the CEO of Open Collective, and you're from Argentina. How are you finding it?

**Pia Mancini:** It's a challenge, and I love it. Fees vary, but it really depends on your host organization.

**Adam Stacoviak:** What do fiscal hosts do for a collective?

**Pia Mancini:** A fiscal host holds the money and pays the bills. What are you doing, future Pia? I ask that a lot.
"""


def test_who_is_finds_the_hosts_opening_that_calls_the_guest_by_first_name(tmp_path):
    """Changelog's hosts open with "Pia, you're now the CEO of Open Collective…": the guest's first name is enough
    to find it, while "…your host organization" is no introduction and "future Pia" says no more than her name."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "founders-pia.md").write_text(FIRST_NAME_MD, encoding="utf-8")
    kb = KnowledgeBase(Settings(data_dir=tmp_path / "d", model="fake"))
    kb.ingest([corpus])
    intro = kb.store.introductions("founders-pia", "Pia Mancini", "Pia Mancini")
    opening = kb.store.chunks(intro[:1])[intro[0]]
    assert opening.text.startswith("Adam Stacoviak: Pia, you're now the CEO")
    answer = kb.ask("Who is Pia Mancini?")
    assert not answer.abstained
    assert answer.points[0].text.startswith("Pia, you're now the CEO of Open Collective")
