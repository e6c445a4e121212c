"""Hybrid retrieval: RRF fusion, filters, near-duplicate collapse, keyword-only and dense-only modes."""
from __future__ import annotations

import pytest

from core.knowledge_base import KnowledgeBase
from core.models import Chunk, Filters, Kind
from core.settings import Settings
from search.retrieval import Mode, collapse, query_terms, rrf, zfuse
from tests.helpers import TRANSCRIPT_ID, write_corpus

pytestmark = pytest.mark.usefixtures("backend")  # every test on SQLite + FAISS and on Milvus (milvus-lite)


@pytest.fixture
def kb(tmp_path, data_dir):
    # small chunks so each turn is its own passage and the speaker filter has something to choose between
    kb = KnowledgeBase(Settings(data_dir=data_dir, model="fake", min_chunk_words=0, max_chunk_words=40))
    kb.ingest([write_corpus(tmp_path / "corpus")])
    return kb


def test_rrf_fusion_hand_computed():
    dense = [(1, 0.9), (2, 0.8), (3, 0.7)]
    keyword = [(3, 12.0), (1, 4.0), (4, 1.0)]
    fused = rrf(dense, keyword, k=60)
    expected = {1: 1 / 61 + 1 / 62, 2: 1 / 62, 3: 1 / 63 + 1 / 61, 4: 1 / 63}
    assert [cid for cid, _ in fused] == [1, 3, 2, 4]
    assert dict(fused) == pytest.approx(expected)
    assert rrf([], []) == []
    assert rrf([(7, 0.1)], k=0) == [(7, 1.0)]


def test_query_terms_drop_stop_words_and_duplicates():
    assert query_terms("How do you lead the Change, change at SCALE?") == ["lead", "change", "scale"]
    assert query_terms("Maria’s team") == ["maria", "team"]


def _chunk(cid: int, text: str, start: int, end: int, episode: str = "e", source: str = "s.txt") -> Chunk:
    return Chunk(id=cid, episode_id=episode, episode_title="E", ordinal=cid, text=text, char_start=start,
                 char_end=end, source=source, kind=Kind.note)


def test_collapse_drops_overlapping_and_near_duplicate_hits():
    chunks = {
        1: _chunk(1, "trust is built slowly over many small promises kept", 0, 100),
        2: _chunk(2, "completely different words about hiring engineers", 50, 150),  # overlaps chunk 1's chars
        3: _chunk(3, "> trust is built slowly over many small promises kept indeed", 500, 600, "thread", "t.txt"),
        4: _chunk(4, "focus needs long quiet blocks of time", 200, 300),
        5: _chunk(5, "same chars but another file", 0, 100, "other", "o.txt"),
    }
    ranked = [(1, 0.9), (2, 0.8), (3, 0.7), (4, 0.6), (5, 0.5), (99, 0.4)]  # 99: not in the store any more
    assert collapse(ranked, chunks) == [(1, 0.9), (4, 0.6), (5, 0.5)]
    assert collapse([(3, 0.7), (1, 0.9)], chunks) == [(3, 0.7)]  # the better-ranked copy wins
    assert collapse(ranked, chunks, limit=2) == [(1, 0.9), (4, 0.6)]  # stops once enough hits are kept


def test_near_duplicates_collapsed_in_search(kb, tmp_path):
    extra = tmp_path / "extra"
    extra.mkdir()
    quote = "Psychological safety grows when leaders admit their own mistakes in public meetings."
    (extra / "safety.md").write_text(f"## Safety\n\n{quote}\n", encoding="utf-8")
    (extra / "repost.md").write_text(f"## Reposted\n\n{quote} Indeed.\n", encoding="utf-8")
    kb.ingest([extra])
    hits = kb.search("psychological safety leaders admit mistakes", 10)
    assert sum("Psychological safety" in h.text for h in hits) == 1


def test_speaker_filter_matches_short_and_full_names(kb):
    for who in ("Maria", "bracho", "Maria Bracho"):
        hits = kb.search("change trust momentum teams", 10, Filters(speaker=who))
        assert hits, who
        assert all("Maria" in h.speakers for h in hits)
    alexis = kb.search("change trust momentum teams", 10, Filters(speaker="Alexis"))
    assert alexis and all("Alexis" in h.speakers for h in alexis)
    assert kb.search("change", 10, Filters(speaker="Nobody")) == []


def test_episode_filter_by_id_or_title(kb):
    by_id = kb.search("focus trust comment", 10, Filters(episode="thread"))
    assert by_id and {h.episode.id for h in by_id} == {"thread"}
    by_title = kb.search("focus trust comment", 10, Filters(episode="book notes"))
    assert by_title and {h.episode.id for h in by_title} == {"book-notes-on-focus"}


@pytest.mark.parametrize("kind", list(Kind))
def test_kind_filter(kb, kind):
    hits = kb.search("trust change focus comment paragraph", 10, Filters(kind=kind))
    assert hits and all(h.kind == kind for h in hits)


@pytest.mark.parametrize("mode", list(Mode))
def test_filters_apply_in_every_mode(kb, mode):
    hits = kb.search("trust change momentum", 10, Filters(kind=Kind.transcript, speaker="Maria"), mode)
    assert hits and all(h.kind == Kind.transcript and "Maria" in h.speakers for h in hits)


def test_keyword_only_mode_needs_the_words(kb):
    hits = kb.search("momentum", 10, mode=Mode.keyword)
    assert hits and all("momentum" in h.text.lower() for h in hits)
    assert kb.search("xyzzy plugh", 10, mode=Mode.keyword) == []
    # porter stemming: "adopting" finds "adopt"
    assert any("adopt the practice" in h.text for h in kb.search("adopting", 10, mode=Mode.keyword))


def test_dense_only_mode_ranks_by_cosine_without_shared_words(kb):
    hits = kb.search("xyzzy plugh", 5, mode=Mode.dense)
    assert len(hits) == 5  # dense search always has neighbours
    top = kb.search("count the teams that adopt the practice", 3, mode=Mode.dense)
    assert "adopt the practice" in top[0].text
    assert top[0].score == pytest.approx(max(h.score for h in top)) and top[0].score <= 1.0 + 1e-6


def test_rrf_scores_are_fused_ranks(kb):
    hits = kb.search("momentum", 5, mode=Mode.rrf)
    assert "momentum" in hits[0].text
    assert hits[0].score == pytest.approx(2 / 61, abs=1e-6)  # first in both lists
    assert all(h.score <= 2 / 61 + 1e-6 for h in hits)  # scores are rounded to 6 places


def test_hits_carry_clock_times_and_offsets(kb):
    hits = kb.search("momentum small wins", 3, Filters(kind=Kind.transcript))
    h = hits[0]
    assert h.episode.id == TRANSCRIPT_ID and h.speaker == "Maria"
    assert h.start and len(h.start) == 8 and h.start.count(":") == 2
    assert h.start_seconds is not None and h.char_end > h.char_start


def test_zfuse_weights_z_scores_and_floors_missing_entries():
    dense = [(1, 0.9), (2, 0.5), (3, 0.1)]  # z: 1.2247, 0, -1.2247
    keyword = [(2, 10.0), (4, 0.0)]  # z: 1, -1
    fused = zfuse(dense, keyword, weight=0.7)
    assert fused[1] == pytest.approx(0.7 * 1.2247449 + 0.3 * -1.0)  # missing from keyword: keyword's floor
    assert fused[2] == pytest.approx(0.3 * 1.0)
    assert fused[4] == pytest.approx(0.7 * -1.2247449 + 0.3 * -1.0)  # missing from dense: dense's floor
    assert max(fused, key=fused.get) == 1
    assert zfuse([], []) == {}


def test_hybrid_puts_the_named_speakers_words_first(kb):
    hits = kb.search("What does Maria say about momentum?", 5, mode=Mode.hybrid)
    assert hits[0].speaker == "Maria"


def test_dense_score_mixes_the_best_vector_with_the_chunks_own(kb):
    from search.retrieval import OWN_WEIGHT

    r = kb.retriever()
    query = "count the teams that adopt the practice"
    q = kb.embedder.encode_query(query)
    mixed = dict(r.dense(query, 10, None))
    best = dict(kb.index().search(q, 10, None))
    own = kb.store.chunk_vectors(list(mixed), kb.embedder.name)
    for cid, score in mixed.items():
        assert score == pytest.approx((1 - OWN_WEIGHT) * best[cid] + OWN_WEIGHT * float(own[cid] @ q), abs=1e-5)
    assert list(mixed.values()) == sorted(mixed.values(), reverse=True)


def test_primary_source_goes_before_the_write_up_of_its_episode():
    from core.models import Chunk, Kind
    from search.retrieval import primary_first

    def chunk(cid: int, kind: Kind, episode: str) -> Chunk:
        return Chunk(id=cid, episode_id=episode, episode_title=episode, ordinal=cid, text="t", char_start=0,
                     char_end=1, source="s", kind=kind, speaker="Maria" if kind == Kind.transcript else None)

    chunks = {1: chunk(1, Kind.summary, "ep1"), 2: chunk(2, Kind.transcript, "ep1"), 3: chunk(3, Kind.summary, "ep2"),
              4: chunk(4, Kind.transcript, "ep1")}
    ranked = [(1, 0.9), (2, 0.8), (3, 0.7), (4, 0.6)]
    assert primary_first(ranked, chunks) == [(2, 0.9), (1, 0.8), (3, 0.7), (4, 0.6)]  # scores keep their ranks
    assert primary_first([(3, 0.9), (4, 0.8)], chunks) == [(3, 0.9), (4, 0.8)]  # other episode: no swap


def test_in_context_adds_a_share_of_the_better_neighbour_in_the_same_episode():
    from search.retrieval import in_context

    scores = {1: 1.0, 2: 0.2, 3: 0.6, 7: 0.4, 8: 0.1, 9: 0.5}
    positions = {1: ("ep1", 0, 5), 2: ("ep1", 1, 5), 3: ("ep1", 2, 5), 7: ("ep2", 1, 2), 8: ("ep3", 0, 1),
                 9: ("ep4", 0, 0)}
    out = in_context(scores, positions, weight=0.5)
    assert out[2] == pytest.approx(0.2 + 0.5 * 1.0)  # the better of its two neighbours
    assert out[1] == pytest.approx(1.0 + 0.5 * 0.2)  # first passage: only the next one counts
    assert out[7] == pytest.approx(0.4 + 0.5 * 0.1)  # neighbours exist but are not candidates: the floor (0.1)
    assert out[8] == pytest.approx(0.1 + 0.5 * 0.1)  # ep1's passage 1 is no neighbour of ep3's passage 0
    assert out[9] == pytest.approx(0.5 + 0.5 * 0.5)  # a one-passage document counts its own score
    assert max(out, key=out.get) == 1
    assert in_context(scores, positions, weight=0.0) == scores


def test_context_weight_is_a_setting_and_lifts_a_passage_between_relevant_ones(tmp_path, data_dir):
    settings = Settings(data_dir=data_dir, model="fake", min_chunk_words=0, max_chunk_words=40)
    kb = KnowledgeBase(settings)
    kb.ingest([write_corpus(tmp_path / "corpus")])
    plain = KnowledgeBase(settings.model_copy(update={"context_weight": 0.0}))
    assert kb.retriever().context_weight == 0.3 and plain.retriever().context_weight == 0.0
    query = "momentum creates clarity"
    with_context = {c: s for c, s in kb.retriever().ranked(query)}
    without = {c: s for c, s in plain.retriever().ranked(query)}
    assert with_context.keys() == without.keys()
    positions = kb.store.positions(list(without))
    from search.retrieval import in_context
    expected = in_context(without, positions, 0.3)
    assert with_context == pytest.approx(expected)
