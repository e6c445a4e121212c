"""The HTTP API under attack: input limits give a clear 422, unknown episodes a 404, write endpoints need the
bearer token (and are off without one), and no request reads a file outside what the server ships."""
from __future__ import annotations

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from api.http import MAX_QUERY, create_app
from core.knowledge_base import KnowledgeBase
from core.settings import Settings
from tests.helpers import TRANSCRIPT_ID, write_corpus

TOKEN = "s3cret-token-for-tests"


@pytest.fixture(scope="module")
def kb(tmp_path_factory) -> KnowledgeBase:
    root = tmp_path_factory.mktemp("http-limits")
    kb = KnowledgeBase(Settings(data_dir=root / "data", model="fake", corpus_dirs=[write_corpus(root / "corpus")]))
    kb.ingest()
    return kb


@pytest.fixture(scope="module")
def client(kb):
    with TestClient(create_app(kb)) as c:
        yield c


@pytest.mark.parametrize("params", [
    {"q": ""}, {"q": "x" * (MAX_QUERY + 1)}, {"q": "trust", "k": 0}, {"q": "trust", "k": 101},
    {"q": "trust", "k": "ten"}, {"q": "trust", "speaker": "s" * 201}, {"q": "trust", "episode": "e" * 201},
    {"q": "trust", "kind": "podcast"}, {"q": "trust", "mode": "psychic"}, {"q": "trust", "theme": ["t"] * 21},
])
def test_search_limits_are_422(client, params):
    r = client.get("/search", params=params)
    assert r.status_code == 422 and r.json()["detail"]


@pytest.mark.parametrize("body", [
    {"question": ""}, {"question": "x" * (MAX_QUERY + 1)}, {"question": "trust", "k": 0},
    {"question": "trust", "k": 21}, {"question": "trust", "speaker": "s" * 201}, {"question": "trust", "theme": ["t"] * 21},
    {"question": "trust", "filters": {"episode": "e" * 201}}, {"question": "trust", "filters": {"themes": ["t"] * 21}},
    {"question": "trust", "filters": {"speaker": "s" * 201}}, {"question": ["not", "a", "string"]}, {},
])
def test_ask_limits_are_422(client, body):
    r = client.post("/ask", json=body)
    assert r.status_code == 422 and r.json()["detail"]


@pytest.mark.parametrize("path", ["/chunks/-1", f"/chunks/{2**63}", "/chunks/1?context=21", "/chunks/abc",
                                  "/themes/" + "t" * 101, "/themes/trust?k=0", "/episodes/" + "e" * 201])
def test_path_and_paging_limits_are_422(client, path):
    assert client.get(path).status_code == 422


def test_unknown_episode_is_404_everywhere(client):
    r = client.get("/search", params={"q": "trust", "episode": "no-such-episode-anywhere"})
    assert r.status_code == 404 and "no-such-episode-anywhere" in r.json()["detail"]
    r = client.post("/ask", json={"question": "trust", "episode": "no-such-episode-anywhere"})
    assert r.status_code == 404
    r = client.post("/ask", json={"question": "trust", "filters": {"episode": "no-such-episode-anywhere"}})
    assert r.status_code == 404
    assert client.get("/episodes/no-such-episode-anywhere").status_code == 404
    assert client.get("/chunks/999999").status_code == 404


def test_known_episode_by_id_or_title_still_answers(client):
    assert client.get(f"/episodes/{TRANSCRIPT_ID}").json()["id"] == TRANSCRIPT_ID
    hits = client.get("/search", params={"q": "trust", "episode": TRANSCRIPT_ID}).json()["results"]
    assert hits and {h["episode"]["id"] for h in hits} == {TRANSCRIPT_ID}
    assert client.get("/search", params={"q": "comment", "episode": "thread"}).status_code == 200


READS_WITH_A_BODY = {"/ask", "/ask/stream"}  # POST only because the question travels as JSON


def write_routes(app) -> list[tuple[str, str]]:
    """Every route that changes state: any method but GET/HEAD, except the reads that take a JSON body."""
    return [(m, r.path) for r in app.routes if isinstance(r, APIRoute)
            for m in r.methods - {"GET", "HEAD"} if r.path not in READS_WITH_A_BODY]


def test_write_endpoints_are_off_without_a_configured_token(kb):
    app = create_app(kb)
    assert kb.settings.api_token is None and write_routes(app)  # /reindex at least
    with TestClient(app) as c:
        for method, path in write_routes(app):
            r = c.request(method, path, headers={"Authorization": "Bearer anything"})
            assert r.status_code == 403, (method, path)


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", f"Basic {TOKEN}", f"Bearer {TOKEN}x",
                                    f"Bearer {TOKEN[:-1]}", "Bearer " + "A" * 10_000, f"bearer{TOKEN}"])
def test_write_endpoints_refuse_a_missing_or_wrong_token(kb, header):
    secured = KnowledgeBase(kb.settings.model_copy(update={"api_token": TOKEN}), embedder=kb.embedder)
    app = create_app(secured)
    with TestClient(app) as c:
        for method, path in write_routes(app):
            r = c.request(method, path, headers={"Authorization": header} if header is not None else {})
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", (method, path, header)


def test_every_write_route_shares_the_one_auth_dependency(kb):
    """A new write endpoint that forgets the token check fails here, not in production."""
    app = create_app(kb)
    for route in app.routes:
        if isinstance(route, APIRoute) and (route.methods - {"GET", "HEAD"}) and route.path not in READS_WITH_A_BODY:
            names = {d.call.__name__ for d in route.dependant.dependencies}
            assert "authorized" in names, route.path


@pytest.mark.parametrize("path", [
    "/static/../core/settings.py", "/static/%2e%2e/%2e%2e/core/settings.py", "/static/..%2f..%2fpyproject.toml",
    "/static/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/static//etc/passwd", "/static/....//....//etc/passwd",
    "/..%2f..%2fetc%2fpasswd", "/%2e%2e/%2e%2e/etc/passwd", "/chunks/..%2f..%2fetc%2fpasswd",
    "/themes/..%2f..%2f..%2fetc%2fpasswd", "/episodes/..%2f..%2fetc%2fpasswd", "/reindex/..%2f..%2fetc%2fpasswd",
    "/static/index.html%00.py", "/static/%5c..%5c..%5ccore%5csettings.py",
])
def test_path_traversal_reads_nothing_outside(client, path):
    r = client.get(path)
    body = r.text
    assert "root:x:0:0" not in body and "BaseSettings" not in body and "[project]" not in body
    assert r.status_code in (400, 401, 403, 404, 405, 422), (path, r.status_code)


def test_no_endpoint_takes_a_file_path(kb):
    """Nothing a client sends names a file: /reindex re-reads the configured folders (KB_CORPUS_DIRS) only."""
    app = create_app(kb)
    names = {p.name.lower() for r in app.routes if isinstance(r, APIRoute)
             for p in [*r.dependant.query_params, *r.dependant.path_params, *r.dependant.body_params]}
    assert not names & {"path", "paths", "file", "folder", "dir", "directory", "filename"}, names
