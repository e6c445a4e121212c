"""POST /reindex and GET /reindex/{id}: bearer-token auth, one job at a time, progress, and a running server
that answers from the previous version during the batch and from the new one right after it."""
from __future__ import annotations

import threading
import time

import pytest
from fastapi.testclient import TestClient

from api.http import create_app
from core.knowledge_base import KnowledgeBase
from core.settings import Settings
from search.embedding import FakeEmbedder
from tests.helpers import write_corpus

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NEW_NOTES = "# Zebrafish field notes\n\nThe zebrafish migration study needed a new aquarium every spring.\n"


class GatedEmbedder(FakeEmbedder):
    """The fake encoder, but encoding a text with `aquarium` waits until the test opens the gate."""

    def __init__(self):
        super().__init__()
        self.gate, self.waiting = threading.Event(), threading.Event()
        self.gate.set()

    def encode(self, texts, batch_size=16, progress=False):
        if any("aquarium" in t.lower() for t in texts):  # the new episode's text, never a test query
            self.waiting.set()
            assert self.gate.wait(30)
        return super().encode(texts, batch_size, progress)


@pytest.fixture
def setup(tmp_path):
    corpus = write_corpus(tmp_path / "corpus")
    embedder = GatedEmbedder()
    kb = KnowledgeBase(Settings(data_dir=tmp_path / "data", model="fake", corpus_dirs=[corpus], api_token=TOKEN),
                       embedder=embedder)
    kb.ingest()
    with TestClient(create_app(kb)) as client:
        yield client, corpus, embedder


def _wait(client: TestClient, job_id: str) -> dict:
    for _ in range(300):
        job = client.get(f"/reindex/{job_id}", headers=AUTH).json()
        if job["state"] != "running":
            return job
        time.sleep(0.05)
    raise AssertionError("re-index did not finish")


def _episodes_found(client: TestClient, q: str) -> set[str]:
    return {h["episode"]["id"] for h in client.get("/search", params={"q": q}).json()["results"]}


def test_token_is_required_and_checked(setup):
    client, _, _ = setup
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"},
                    {"Authorization": TOKEN}):
        r = client.post("/reindex", headers=headers)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", headers
        assert client.get("/reindex/anything", headers=headers).status_code == 401


def test_disabled_without_a_configured_token(tmp_path):
    kb = KnowledgeBase(Settings(data_dir=tmp_path / "data", model="fake", corpus_dirs=[write_corpus(tmp_path / "c")]))
    with TestClient(create_app(kb)) as client:
        r = client.post("/reindex", headers=AUTH)
        assert r.status_code == 403 and "KB_API_TOKEN" in r.json()["detail"]


def test_job_adds_a_new_episode_and_the_server_picks_it_up(setup):
    client, corpus, _ = setup
    before = client.get("/health").json()
    assert "zebrafish-notes" not in _episodes_found(client, "zebrafish migration")
    (corpus / "zebrafish-notes.md").write_text(NEW_NOTES, encoding="utf-8")
    r = client.post("/reindex", headers=AUTH)
    assert r.status_code == 202 and r.json()["state"] == "running"
    job = _wait(client, r.json()["id"])
    assert job["state"] == "done" and job["error"] is None
    report = job["report"]
    assert report["added"] == ["zebrafish-notes"] and report["updated"] == [] and report["failed"] == {}
    assert len(report["skipped"]) == before["episodes"]
    assert set(job["stages"]) == {"reading", "chunking", "embedding", "writing", "indexing"}
    assert all(s["done"] == s["total"] for s in job["stages"].values())
    after = client.get("/health").json()
    assert after["index_version"] == before["index_version"] + 1 and after["episodes"] == before["episodes"] + 1
    assert "zebrafish-notes" in _episodes_found(client, "zebrafish migration")
    assert client.get("/search", params={"q": "zebrafish migration", "mode": "dense"}).json()["results"][0][
        "episode"]["id"] == "zebrafish-notes"  # the FAISS index has the new vectors, not only the keyword index


def test_one_job_at_a_time_and_old_version_served_meanwhile(setup):
    client, corpus, embedder = setup
    version = client.get("/health").json()["index_version"]
    (corpus / "zebrafish-notes.md").write_text(NEW_NOTES, encoding="utf-8")
    embedder.gate.clear()
    first = client.post("/reindex", headers=AUTH).json()
    try:
        assert embedder.waiting.wait(30)  # the job is embedding the new episode
        second = client.post("/reindex", headers=AUTH)
        assert second.status_code == 409 and second.json()["job_id"] == first["id"]
        running = client.get(f"/reindex/{first['id']}", headers=AUTH).json()
        assert running["state"] == "running" and running["stage"] == "embedding" and running["total"] > 0
        assert running["stages"]["reading"] == {"done": 4, "total": 4}
        # searches keep answering, from the previous version
        assert client.get("/health").json()["index_version"] == version
        assert client.get("/search", params={"q": "trust"}).json()["results"]
        assert "zebrafish-notes" not in _episodes_found(client, "zebrafish migration")
    finally:
        embedder.gate.set()
    assert _wait(client, first["id"])["state"] == "done"
    assert client.get("/health").json()["index_version"] == version + 1
    assert "zebrafish-notes" in _episodes_found(client, "zebrafish migration")
    third = client.post("/reindex", headers=AUTH)  # free again; nothing changed, so nothing committed
    assert third.status_code == 202
    job = _wait(client, third.json()["id"])
    assert job["state"] == "done" and job["report"]["added"] == [] and job["report"]["chunks_embedded"] == 0
    assert client.get("/health").json()["index_version"] == version + 1


def test_prune_removes_episodes_of_deleted_files(setup):
    client, corpus, _ = setup
    (corpus / "thread.txt").unlink()
    job = _wait(client, client.post("/reindex", headers=AUTH, params={"prune": True}).json()["id"])
    assert job["state"] == "done" and job["report"]["removed"] == ["thread"]
    assert "thread" not in {e["id"] for e in client.get("/episodes").json()}


def test_failure_is_reported_and_unknown_job_is_404(setup, tmp_path):
    client, corpus, _ = setup
    for f in corpus.iterdir():
        f.unlink()
    corpus.rmdir()
    job = _wait(client, client.post("/reindex", headers=AUTH).json()["id"])
    assert job["state"] == "failed" and "no such file or folder" in job["error"] and job["report"] is None
    assert client.get("/reindex/nope", headers=AUTH).status_code == 404
    assert client.get("/health").json()["status"] == "ok"
