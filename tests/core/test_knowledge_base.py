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
