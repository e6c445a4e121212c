"""The HTTP API over a tiny corpus ingested with the fake encoder: shapes, validation, errors, OpenAPI."""
from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from api.http import create_app
from core.knowledge_base import KnowledgeBase
from tests.helpers import TRANSCRIPT_ID, write_corpus

CLOCK = re.compile(r"^\d{2}:\d{2}:\d{2}$")
HIT_KEYS = {"chunk_id", "text", "score", "speaker", "speakers", "start", "end", "episode", "source", "kind"}
CITATION_KEYS = {"n", "text", "speaker", "start", "end", "episode", "source"}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    # module-scoped for speed: its own data dir, independent of the per-test KB_DATA_DIR
    from core.settings import Settings

    root = tmp_path_factory.mktemp("http")
    kb = KnowledgeBase(Settings(data_dir=root / "data", model="fake"))
    report = kb.ingest([write_corpus(root / "corpus")])
    assert report.failed == {} and len(report.added) == 5
    with TestClient(create_app(kb)) as c:
        yield c


def _check_hit(h: dict) -> None:
    assert HIT_KEYS <= h.keys()
    assert isinstance(h["chunk_id"], int) and isinstance(h["text"], str) and h["text"]
    assert isinstance(h["score"], float) and isinstance(h["speakers"], list)
    assert set(h["episode"]) >= {"id", "title"} and isinstance(h["episode"]["title"], str)
    assert h["kind"] in {"transcript", "summary", "note", "discussion"}
    if h["kind"] == "transcript":
        assert CLOCK.match(h["start"]) and CLOCK.match(h["end"]) and h["speaker"]
    else:
        assert h["start"] is None and h["end"] is None


def test_search_shape(client):
    r = client.get("/search", params={"q": "trust change focus", "k": 10})
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["results"]
    assert 0 < len(body["results"]) <= 10
    for h in body["results"]:
        _check_hit(h)
    kinds = {h["kind"] for h in body["results"]}
    assert "transcript" in kinds and kinds & {"note", "summary"}  # both timed and untimed passages checked


def test_search_k_and_filters(client):
    assert len(client.get("/search", params={"q": "trust", "k": 2}).json()["results"]) == 2
    r = client.get("/search", params={"q": "change trust", "speaker": "Maria"}).json()["results"]
    assert r and all("Maria" in h["speakers"] for h in r)
    r = client.get("/search", params={"q": "comment", "episode": "thread"}).json()["results"]
    assert r and {h["episode"]["id"] for h in r} == {"thread"}
    r = client.get("/search", params={"q": "focus trust", "kind": "note"}).json()["results"]
    assert r and {h["kind"] for h in r} == {"note"}
    r = client.get("/search", params={"q": "momentum", "mode": "keyword"}).json()["results"]
    assert r and all("momentum" in h["text"] for h in r)


def test_ask_shape(client):
    r = client.post("/ask", json={"question": "How do you build momentum with small wins?", "k": 3})
    assert r.status_code == 200
    body = r.json()
    assert {"answer", "abstained", "citations", "lead", "points", "generated"} <= body.keys()
    assert body["abstained"] is False and body["generated"] is False
    assert body["lead"] == "One passage in one episode answers this."
    [point] = body["points"]
    c = point["citation"]
    assert CITATION_KEYS <= c.keys() and body["citations"] == [c]
    assert c["n"] == 1 and "small wins" in c["quote"] and c["quote"] in c["text"] and c["speaker"] == "Maria"
    assert (c["speaker_name"], c["speaker_role"], c["source"]) == ("Maria Bracho", "guest", "blog.txt")
    assert c["episode"] == {"id": TRANSCRIPT_ID, "title": "Leading Change with Maria Bracho"}
    assert CLOCK.match(c["start"]) and CLOCK.match(c["end"]) and CLOCK.match(c["at"])
    assert point["text"] in body["answer"] and body["answer"].startswith(body["lead"])
    assert body["answer"].rstrip().endswith("[1]")


def test_ask_with_filters(client):
    for payload in ({"question": "momentum small wins", "filters": {"speaker": "Maria"}},
                    {"question": "momentum small wins", "speaker": "Maria"}):
        body = client.post("/ask", json=payload).json()
        cited = body["citations"] or body.get("closest", [])
        assert cited and all(c["speaker"] == "Maria" or "Maria" in c.get("speakers", []) for c in cited)
    body = client.post("/ask", json={"question": "focus", "filters": {"kind": "discussion"}}).json()
    assert all(c["episode"]["id"] == "thread" for c in body["citations"] + body.get("closest", []))


def test_ask_abstains_on_an_unrelated_question(client):
    body = client.post("/ask", json={"question": "zyxwv qwerty plugh"}).json()
    assert body["abstained"] is True and body["citations"] == []


def test_episodes(client):
    eps = client.get("/episodes").json()
    assert {e["id"] for e in eps} == {TRANSCRIPT_ID, "book-notes-on-focus", "leading-change-with-maria-bracho-2",
                                     "team-notes", "thread"}
    ep = next(e for e in eps if e["id"] == TRANSCRIPT_ID)
    assert ep["title"] == "Leading Change with Maria Bracho" and ep["kind"] == "transcript"
    assert ep["speakers"] == ["Alexis", "Maria Bracho"] and ep["chunks"] >= 1 and ep["source"] == "blog.txt"


def test_chunk_with_context_returns_neighbours(client):
    notes = [h for h in client.get("/search", params={"q": "topic paragraph heading", "episode": "team-notes",
                                                      "k": 20}).json()["results"]]
    assert len(notes) >= 3
    ids = sorted(h["chunk_id"] for h in notes)
    middle = ids[1]
    body = client.get(f"/chunks/{middle}", params={"context": 1}).json()
    assert body["chunk"]["id"] == middle and body["chunk"]["episode_id"] == "team-notes"
    ords = [c["ordinal"] for c in body["context"]]
    assert len(ords) == 3 and ords == list(range(body["chunk"]["ordinal"] - 1, body["chunk"]["ordinal"] + 2))
    assert all(c["episode_id"] == "team-notes" for c in body["context"])
    alone = client.get(f"/chunks/{middle}").json()
    assert [c["id"] for c in alone["context"]] == [middle]


def test_chunk_shows_its_sentences_with_speaker_time_and_role(client):
    hit = client.get("/search", params={"q": "momentum small wins", "episode": TRANSCRIPT_ID}).json()["results"][0]
    chunk = client.get(f"/chunks/{hit['chunk_id']}").json()["chunk"]
    sentences = chunk["sentences"]
    assert sentences and all(chunk["text"][s["start"]:s["end"]] for s in sentences)
    assert {s["role"] for s in sentences} <= {"content", "greeting", "introduction", "thanks", "sign-off", "sponsor",
                                              "question", "filler"}
    assert "content" in {s["role"] for s in sentences}
    assert all(s["speaker"] in chunk["speakers"] and CLOCK.match("00:00:00") and s["seconds"] is not None
               for s in sentences)


def test_unknown_chunk_is_404(client):
    r = client.get("/chunks/987654")
    assert r.status_code == 404 and "987654" in r.json()["detail"]


@pytest.mark.parametrize("params,bad", [
    ({"q": "trust", "k": 0}, "k"),
    ({"q": "trust", "k": 1000}, "k"),
    ({"q": ""}, "q"),
    ({}, "q"),
    ({"q": "trust", "kind": "podcast"}, "kind"),
    ({"q": "trust", "mode": "psychic"}, "mode"),
])
def test_search_validation_names_the_parameter(client, params, bad):
    r = client.get("/search", params=params)
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["detail"]] == [["query", bad]]


@pytest.mark.parametrize("payload,bad", [
    ({"question": "trust", "k": 0}, "k"),
    ({"question": "trust", "k": 1000}, "k"),
    ({"question": ""}, "question"),
    ({"k": 3}, "question"),
    ({"question": "trust", "kind": "podcast"}, "kind"),
])
def test_ask_validation_names_the_field(client, payload, bad):
    r = client.post("/ask", json=payload)
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["detail"]] == [["body", bad]]


def test_chunk_context_validation(client):
    r = client.get("/chunks/1", params={"context": -1})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "context"]
    assert client.get("/chunks/not-a-number").status_code == 422


def test_health(client):
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["episodes"] == 5 and body["chunks"] > 5 and body["index_version"] >= 1


def test_openapi_lists_the_routes(client):
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    assert {"/search", "/ask", "/episodes", "/chunks/{chunk_id}", "/health"} <= paths.keys()
    assert "get" in paths["/search"] and "post" in paths["/ask"]
    params = {p["name"] for p in paths["/search"]["get"]["parameters"]}
    assert {"q", "k", "speaker", "episode", "kind"} <= params
