"""The real path: the packaged MiniLM over the default corpus, a cited answer, and an abstention."""
from __future__ import annotations

import re

import pytest

from core.knowledge_base import KnowledgeBase
from core.models import Filters
from core.settings import Settings
from search.embedding import PACKAGED_MODEL
from tests.conftest import REPO

pytestmark = pytest.mark.model
CLOCK = re.compile(r"^\d{2}:\d{2}:\d{2}$")


@pytest.fixture(scope="module")
def corpus_kb(tmp_path_factory):
    """The default corpus embedded once for the module (the real model takes minutes on a small CPU)."""
    kb = KnowledgeBase(Settings(data_dir=tmp_path_factory.mktemp("e2e"), model=PACKAGED_MODEL))
    report = kb.ingest([REPO / "corpus"])
    assert report.failed == {} and len(report.added) >= 5
    yield kb
    kb.store.close()


@pytest.fixture
def kb(real_model, corpus_kb):
    assert corpus_kb.embedder.name.startswith(PACKAGED_MODEL)
    return corpus_kb


def test_cited_answer_on_the_default_corpus(kb):
    answer = kb.ask("how to lead change at scale")
    assert not answer.abstained, answer.answer
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)}
    assert markers == {c.n for c in answer.citations}
    assert all(c.episode.id and c.episode.title and c.source for c in answer.citations)
    spoken = [c for c in answer.citations if c.speaker and c.at and CLOCK.match(c.at)]
    # who said it, in which episode, at what minute: the guest of the episode on leading change at scale, by her
    # full name and part, even where the episode's write-up states the point in cleaner words
    tamar = [c for c in spoken if c.speaker == "Tamar"]
    assert tamar and tamar[0].speaker_name == "Tamar Bercovici" and tamar[0].speaker_role == "guest", answer.citations
    assert "Engineering Leadership at Scale" in tamar[0].episode.title


def test_unrelated_question_abstains_with_closest_passages(kb):
    bread = kb.ask("What is a good recipe for sourdough bread?")
    assert bread.abstained and bread.citations == []
    assert bread.closest  # the nearest passages are still offered
    # and what they hold near it, as attributed excerpts of whole content sentences, never a greeting
    assert bread.near and all(p.citation.quote and p.citation.quote in p.citation.text for p in bread.near)
    hiring = kb.ask("what did the guest say about hiring their first manager")  # the example
    assert hiring.abstained and hiring.near
    assert not any(p.text.startswith(("Welcome", "Thank")) for p in hiring.near)


def test_search_finds_the_change_at_scale_episode(kb):
    hits = kb.search("how to lead change at scale", 5)
    assert any("Scale" in h.episode.title and "Change" in h.episode.title for h in hits)
    transcript = kb.search("how to lead change at scale", 5, Filters(kind="transcript"))
    assert transcript and all(h.speaker and CLOCK.match(h.start) for h in transcript)
