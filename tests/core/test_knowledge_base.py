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
