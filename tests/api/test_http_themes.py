"""Theme routes over a tiny corpus (fake encoder): /themes, /themes/{name} (404 when unknown), and the theme=
filter on /search and in the /ask body, with themes on every hit and citation."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.http import create_app
from core.knowledge_base import KnowledgeBase
from tests.search.test_themes import NOTES, TAXONOMY

MORE = """# Hiring notes

## Interviews

We interview for curiosity. Every candidate pairs with two engineers, and we hire people who ask good questions
about the product and the team, not only people who answer our puzzles quickly.
"""


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from core.settings import Settings

    root = tmp_path_factory.mktemp("http-themes")
    (root / "themes.toml").write_text(TAXONOMY, encoding="utf-8")
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "team-notes.md").write_text(NOTES, encoding="utf-8")
    (corpus / "hiring-notes.md").write_text(MORE, encoding="utf-8")
    kb = KnowledgeBase(Settings(data_dir=root / "data", model="fake", themes_file=root / "themes.toml",
                                min_chunk_words=0))
    assert kb.ingest([corpus]).failed == {}
    with TestClient(create_app(kb)) as c:
        yield c


def test_themes_lists_every_theme_with_counts(client):
    r = client.get("/themes")
    assert r.status_code == 200
    body = {t["name"]: t for t in r.json()}
    assert set(body) == {"trust", "letting-go"}
    assert body["letting-go"]["label"] == "Letting go" and body["letting-go"]["passages"] == 1
    assert body["trust"]["episodes"][0]["count"] == 1 and body["trust"]["description"]


def test_theme_detail_has_strongest_passages_with_reasons(client):
    r = client.get("/themes/letting-go", params={"k": 3})
    assert r.status_code == 200
    top = r.json()["top"]
    assert len(top) == 1 and "delegated" in top[0]["text"]
    assert "delegate" in top[0]["matched"] and "letting-go" in top[0]["themes"]
    assert client.get("/themes/Letting go").json()["name"] == "letting-go"  # loose spelling accepted


def test_unknown_theme_is_404_on_detail_and_400_as_filter(client):
    r = client.get("/themes/gardening")
    assert r.status_code == 404 and "gardening" in r.json()["detail"]
    r = client.get("/search", params={"q": "team", "theme": "gardening"})
    assert r.status_code == 400 and "letting-go" in r.json()["detail"]


def test_search_theme_filter_is_repeatable_and_any_of(client):
    everything = client.get("/search", params={"q": "interview delegated team candidate", "k": 10}).json()["results"]
    assert any(h["themes"] == [] for h in everything)  # the hiring notes carry neither theme
    only = client.get("/search", params={"q": "interview delegated team candidate", "theme": "trust"}).json()["results"]
    assert only and all("trust" in h["themes"] for h in only)
    both = client.get("/search", params=[("q", "interview delegated team"), ("theme", "trust"),
                                         ("theme", "letting-go")]).json()["results"]
    assert both and all({"trust", "letting-go"} & set(h["themes"]) for h in both)
    assert not any("candidate" in h["text"] for h in both)


def test_ask_body_theme_filter_and_cited_themes(client):
    r = client.post("/ask", json={"question": "Who delegated the release work to Priya?", "theme": ["letting-go"]})
    assert r.status_code == 200
    body = r.json()
    cited = body["citations"] or body["closest"]
    assert cited and all("letting-go" in c["themes"] for c in cited)
    r = client.post("/ask", json={"question": "What do we interview for?", "filters": {"themes": ["trust"]}})
    assert r.status_code == 200
    assert all("candidate" not in c["text"] for c in r.json()["citations"] + r.json()["closest"])
