"""Themes: taxonomy parsing and its errors, lemma matching, multi-label scoring (fake encoder), storage, the
theme filter, and retagging from stored vectors without re-embedding anything."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.knowledge_base import KnowledgeBase
from core.models import Filters
from core.settings import Settings
from search.embedding import FakeEmbedder
from search.lemmas import PhraseMatcher, lemmas
from search.taxonomy import DEFAULT_THEMES_FILE, TaxonomyError, UnknownTheme, load_taxonomy
from search.themes import ThemeTagger

TAXONOMY = """
[scoring]
embed_weight = 0.2
phrase_weight = 1.0
phrase_saturation = 1.0
threshold = 0.5

[[theme]]
name = "trust"
description = "Building and losing trust in a team."
key_phrases = ["trust"]
seeds = ["psychological safety", "vulnerable"]

[[theme]]
name = "letting-go"
label = "Letting go"
description = "Delegating and stepping back from hands-on work."
key_phrases = ["delegate", "let go"]
seeds = ["step back"]
"""

NOTES = """# Team notes

## Handing over

I delegated the release work to Priya and stopped reviewing every change. Letting go was hard, but she owns
it now. Trust grew on both sides once I let her make the calls without me looking over her shoulder.

## Lunch

The cafeteria now serves soup on Tuesdays and the coffee machine on the third floor was finally repaired.
Parking remains difficult near the office on Mondays because of the weekly market in the square.
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def kb(tmp_path) -> KnowledgeBase:
    taxonomy = write(tmp_path / "themes.toml", TAXONOMY)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write(corpus / "team-notes.md", NOTES)
    kb = KnowledgeBase(Settings(data_dir=tmp_path / "data", model="fake", themes_file=taxonomy, min_chunk_words=0,
                                corpus_dirs=[corpus]))
    report = kb.ingest()
    assert report.failed == {} and report.added
    return kb


# --- taxonomy ---------------------------------------------------------------------------------------------
def test_shipped_taxonomy_has_the_default_themes():
    tax = load_taxonomy()
    assert tax.path == str(DEFAULT_THEMES_FILE)
    assert set(tax.names) == {"trust", "risk", "letting-go", "change", "feedback", "strategy", "outcomes", "hiring",
                              "communication", "culture", "influence", "scale", "ai"}
    for t in tax.theme:
        assert t.description and len(t.seeds) >= 3, t.name
    assert tax.get("Letting go").name == "letting-go" and tax.get("letting_go").name == "letting-go"


def test_missing_field_names_file_theme_and_field(tmp_path):
    bad = write(tmp_path / "t.toml", '[[theme]]\nname = "trust"\nseeds = ["trust"]\n')
    with pytest.raises(TaxonomyError) as exc:
        load_taxonomy(bad)
    msg = str(exc.value)
    assert str(bad) in msg and "theme[0] (trust).description" in msg and "Field required" in msg


def test_invalid_toml_duplicate_and_bad_name_are_refused(tmp_path):
    with pytest.raises(TaxonomyError, match="invalid TOML"):
        load_taxonomy(write(tmp_path / "a.toml", "[[theme]\nname = "))
    dup = TAXONOMY + '\n[[theme]]\nname = "trust"\ndescription = "again"\nseeds = ["x"]\n'
    with pytest.raises(TaxonomyError, match="defined twice"):
        load_taxonomy(write(tmp_path / "b.toml", dup))
    with pytest.raises(TaxonomyError, match=r"theme\[0\] \(Letting Go\)\.name"):
        load_taxonomy(write(tmp_path / "c.toml", '[[theme]]\nname = "Letting Go"\ndescription = "d"\nseeds = ["x"]\n'))
    with pytest.raises(TaxonomyError, match="cannot read"):
        load_taxonomy(tmp_path / "missing.toml")
    with pytest.raises(TaxonomyError, match=r"scoring\.treshold: Extra inputs"):
        load_taxonomy(write(tmp_path / "d.toml", "[scoring]\ntreshold = 1\n" + TAXONOMY[TAXONOMY.index("[[theme]]"):]))


def test_unknown_theme_lists_the_known_ones():
    with pytest.raises(UnknownTheme) as exc:
        load_taxonomy().get("gardening")
    assert "gardening" in str(exc.value) and "letting-go" in str(exc.value)


# --- lemma matching ---------------------------------------------------------------------------------------
def test_lemma_matching_finds_inflections_and_phrases():
    m = PhraseMatcher(["delegate", "let go", "step back", "give up control"])
    found = m.match(lemmas("She delegated it, then delegates more. Letting go; he stepped back and gave up control."))
    assert found == {"delegate": 2, "let go": 1, "step back": 1, "give up control": 1}
    assert m.match(lemmas("A delegation of authority to the team.")) == {}  # a different word, not an inflection


def test_lemma_table_quirks_do_not_create_matches():
    # the lookup table maps "ai" -> "have" and "well" -> "good": the seed "AI" must not match every "have"
    assert PhraseMatcher(["AI"]).match(lemmas("We have what we have, as well.")) == {}
    assert PhraseMatcher(["AI"]).match(lemmas("Our AI platform and the AI team")) == {"AI": 2}


def test_shipped_seeds_do_not_fire_on_show_names_or_lemma_collisions():
    # the podcast is called "Le Podcast on Emerging Leadership"; "opening" lemmatizes to "open" (open source);
    # "direct reports" and "conversation" describe any manager and any podcast
    tax = load_taxonomy()
    matchers = {t.name: PhraseMatcher([*t.key_phrases, *t.seeds]) for t in tax.theme}
    assert matchers["influence"].match(lemmas("Welcome to Le Podcast on Emerging Leadership.")) == {}
    assert matchers["hiring"].match(lemmas("Be open to feedback; Red Hat opened its source code.")) == {}
    assert matchers["letting-go"].match(lemmas("I have no direct reports.")) == {}
    assert matchers["communication"].match(lemmas("What a fascinating conversation.")) == {}
    assert set(matchers["influence"].match(lemmas("She gained buy-in without authority."))) >= {"buy-in", "without authority"}


# --- scoring ----------------------------------------------------------------------------------------------
def test_multi_label_scores_and_reasons(tmp_path):
    tax = load_taxonomy(write(tmp_path / "t.toml", TAXONOMY))
    fake = FakeEmbedder()
    tagger = ThemeTagger(tax, fake)
    texts = ["I delegated the launch and had to let go; trust grew once I stepped back.",
             "Trust is earned when leaders are vulnerable first.",
             "The cafeteria serves soup on Tuesdays."]
    scores = tagger.score(texts, fake.encode(texts))
    assert [[s.theme for s in row] for row in scores] == [["trust", "letting-go"]] * 3  # a score for every theme
    tags = tagger.tag(texts, fake.encode(texts))
    assert {s.theme for s in tags[0]} == {"trust", "letting-go"}
    assert [s.theme for s in tags[1]] == ["trust"] and tags[2] == []
    letting_go = next(s for s in tags[0] if s.theme == "letting-go")
    assert set(letting_go.reasons()) == {"delegate", "let go", "step back"}
    assert tags[0] == sorted(tags[0], key=lambda s: -s.score)


def test_min_matches_requires_phrase_evidence(tmp_path):
    tax = load_taxonomy(write(tmp_path / "t.toml", TAXONOMY.replace('name = "trust"\n', 'name = "trust"\nmin_matches = 2\n')))
    fake = FakeEmbedder()
    text = ["Trust is earned."]
    assert ThemeTagger(tax, fake).tag(text, fake.encode(text)) == [[]]


# --- store, filters, retag --------------------------------------------------------------------------------
def _themes_by_text(kb: KnowledgeBase) -> dict[str, list[str]]:
    ids = [r[0] for r in kb.store.db.execute("SELECT id FROM chunks")]
    return {c.text.split("\n")[0][:20]: c.themes for c in kb.store.chunks(ids).values()}


def test_ingest_tags_chunks_and_search_filters_by_theme(kb):
    rows = kb.store.db.execute("SELECT theme, matched FROM chunk_themes").fetchall()
    assert {r[0] for r in rows} == {"trust", "letting-go"}
    assert any("delegate" in r[1] for r in rows)  # the reason is stored with the tag
    hits = kb.search("coffee soup delegated", k=10, filters=Filters(themes=["Letting go"]))
    assert hits and all("letting-go" in h.themes for h in hits)
    assert all("soup" not in h.text for h in hits)
    unfiltered = kb.search("coffee soup", k=10)
    assert any("soup" in h.text and h.themes == [] for h in unfiltered)
    with pytest.raises(UnknownTheme):
        kb.search("x", filters=Filters(themes=["gardening"]))


def test_theme_listing_and_strongest_passages(kb):
    summaries = {t.name: t for t in kb.themes()}
    assert summaries["trust"].passages == 1 and summaries["letting-go"].passages == 1
    assert summaries["trust"].episodes[0].count == 1
    detail = kb.theme("letting-go", k=5)
    assert len(detail.top) == 1 and "delegated" in detail.top[0].text
    assert "delegate" in detail.top[0].matched and detail.top[0].score >= detail.threshold


def test_retag_after_taxonomy_change_does_not_reembed(kb, tmp_path):
    before = kb.store.counts()[2]
    vectors_before = kb.store.db.execute("SELECT hash, vector FROM embeddings ORDER BY hash").fetchall()
    write(Path(kb.settings.themes_file), TAXONOMY + '\n[[theme]]\nname = "food"\ndescription = "Meals and coffee."\n'
          'key_phrases = ["soup", "coffee"]\nseeds = ["cafeteria"]\n')
    fresh = KnowledgeBase(kb.settings, embedder=kb.embedder)
    assert fresh.themes_stale()
    calls = []
    original = fresh.embedder.encode
    fresh.embedder.encode = lambda texts, **kw: calls.append(list(texts)) or original(texts, **kw)
    report = fresh.retag_themes()
    assert report.embedded_chunks == 0 and report.chunks == kb.store.counts()[1]
    assert fresh.store.counts()[2] == before  # no embedding row added or removed
    assert fresh.store.db.execute("SELECT hash, vector FROM embeddings ORDER BY hash").fetchall() == vectors_before
    theme_texts = {t for call in calls for t in call}
    assert theme_texts <= {"Building and losing trust in a team.", "Delegating and stepping back from hands-on work.",
                           "Meals and coffee."}  # only the theme descriptions were encoded, no passage
    assert not fresh.themes_stale()
    food = fresh.theme("food")
    assert food.passages == 1 and "soup" in food.top[0].text and set(food.top[0].matched) >= {"soup", "coffee"}


def test_reingesting_a_changed_file_replaces_its_tags(kb):
    notes = Path(kb.settings.corpus_dirs[0]) / "team-notes.md"
    notes.write_text(NOTES.replace("I delegated the release work", "I kept the release work"), encoding="utf-8")
    kb.ingest()
    (row,) = kb.store.db.execute("SELECT COUNT(*) FROM chunk_themes t LEFT JOIN chunks c ON c.id = t.chunk_id"
                                 " WHERE c.id IS NULL").fetchall()
    assert row[0] == 0  # no tag outlives its chunk
    matched = [r[0] for r in kb.store.db.execute("SELECT matched FROM chunk_themes WHERE theme='letting-go'")]
    assert all("delegate" not in m for m in matched)



# --- sentence windows -------------------------------------------------------------------------------------
def test_window_weight_lets_one_on_theme_sentence_lift_a_passage(tmp_path):
    tax = load_taxonomy(write(tmp_path / "t.toml", TAXONOMY.replace("threshold = 0.5\n", "threshold = 0.5\nwindow_weight = 0.5\n")))
    fake = FakeEmbedder()
    tagger = ThemeTagger(tax, fake)
    texts = ["The cafeteria serves soup on Tuesdays.", "The cafeteria serves soup on Tuesdays."]
    vectors = fake.encode(texts)
    on_theme = fake.encode(["Delegating and stepping back from hands-on work.", "Parking is hard on Mondays."])
    plain, lifted = tagger.score(texts, vectors, [None, on_theme])
    sim = {s.theme: s.similarity for s in plain}
    sim_lifted = {s.theme: s.similarity for s in lifted}
    # the window identical to the theme description counts at half weight (mean of the two best windows)
    assert sim_lifted["letting-go"] > sim["letting-go"] + 0.2
    assert [s.score for s in tagger.score(texts[:1], vectors[:1])[0]] == [s.score for s in plain]  # no windows: unchanged
    off = ThemeTagger(load_taxonomy(write(tmp_path / "u.toml", TAXONOMY)), fake)  # window_weight defaults to 0
    assert [s.similarity for s in off.score(texts[1:], vectors[1:], [on_theme])[0]] == list(sim.values())


def test_stored_windows_are_read_per_chunk_without_embedding(kb, monkeypatch):
    from search.theme_store import _windows

    ids = [r[0] for r in kb.store.db.execute("SELECT id FROM chunks ORDER BY id")]
    calls = []
    monkeypatch.setattr(kb.embedder, "encode", lambda texts, **kw: calls.append(texts))
    got = _windows(kb.store, kb.embedder.name, [*ids, 10**9])
    assert got[-1] is None and calls == []
    for cid, win in zip(ids, got, strict=False):
        _, expected = kb.store.window_vectors(kb.embedder.name, chunk_id=cid)
        assert (win is None and len(expected) == 0) or (win is not None and np.array_equal(win, expected))
    assert any(w is not None for w in got[:-1])
