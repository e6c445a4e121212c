"""The `kb` command line on a tiny tmp corpus: every command, --json output, and errors that name the path."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from api.cli import app
from tests.helpers import TRANSCRIPT_ID, write_corpus

runner = CliRunner()
ALL_IDS = {TRANSCRIPT_ID, "book-notes-on-focus", "leading-change-with-maria-bracho-2", "team-notes", "thread"}


@pytest.fixture
def corpus(tmp_path, monkeypatch):
    """A tiny corpus that is also the default one, so commands never read the real corpus/."""
    from core.settings import get_settings

    root = write_corpus(tmp_path / "corpus")
    monkeypatch.setenv("KB_CORPUS_DIRS", json.dumps([str(root)]))
    get_settings.cache_clear()
    return root


def run(*args: str):
    result = runner.invoke(app, list(args))
    return result


def test_ingest_json_then_reingest_skips(corpus):
    first = run("ingest", str(corpus), "--json")
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert set(report["added"]) == ALL_IDS and report["chunks_embedded"] > 0 and report["failed"] == {}
    again = json.loads(run("ingest", "--json").stdout)  # no path: the configured corpus dirs
    assert set(again["skipped"]) == ALL_IDS and again["added"] == [] and again["chunks_embedded"] == 0


def test_ingest_human_output(corpus):
    result = run("ingest", str(corpus))
    assert result.exit_code == 0, result.output
    assert "added 5" in result.stdout and "skipped 0" in result.stdout


def test_ingest_missing_path_exits_non_zero_naming_it(corpus, tmp_path):
    missing = tmp_path / "no-such-folder"
    result = run("ingest", str(missing), "--json")
    assert result.exit_code != 0
    assert str(missing) in "".join(result.output.split())  # rich may wrap a long path


def test_ingest_bad_file_exits_1_naming_it_while_the_rest_lands(corpus):
    (corpus / "broken.txt").write_bytes(b"\x00\x01binary")
    result = run("ingest", str(corpus), "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert list(report["failed"]) == [str(corpus / "broken.txt")] and set(report["added"]) == ALL_IDS


def test_search_json(corpus):
    run("ingest", str(corpus))
    result = run("search", "momentum small wins", "-k", "3", "--json")
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)["results"]
    assert 1 <= len(hits) <= 3
    assert "momentum" in hits[0]["text"] and hits[0]["episode"]["id"] == TRANSCRIPT_ID
    only = json.loads(run("search", "trust focus", "--kind", "note", "--json").stdout)["results"]
    assert only and {h["kind"] for h in only} == {"note"}
    maria = json.loads(run("search", "change", "--speaker", "Maria", "--json").stdout)["results"]
    assert maria and all("Maria" in h["speakers"] for h in maria)


def test_search_builds_the_index_on_first_use(corpus):
    result = run("search", "momentum", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["results"]


def test_search_human_output(corpus):
    run("ingest", str(corpus))
    result = run("search", "momentum small wins", "-k", "1")
    assert result.exit_code == 0
    assert "1." in result.stdout and "Leading Change with Maria Bracho" in result.stdout and "momentum" in result.stdout


def test_ask_json_and_text(corpus):
    run("ingest", str(corpus))
    result = run("ask", "How do you build momentum with small wins?", "--json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["abstained"] is False and "[1]" in answer["answer"]
    assert answer["citations"][0]["speaker"] == "Maria"
    text = run("ask", "How do you build momentum with small wins?")
    assert "small wins" in " ".join(text.stdout.split()) and "[1]" in text.stdout and "Maria" in text.stdout
    none = run("ask", "zyxwv qwerty plugh")
    assert none.exit_code == 0 and "does not seem to cover" in none.stdout
    # the closest passages as excerpts under who said them, where and when
    near = json.loads(run("ask", "zyxwv qwerty plugh", "--json").stdout)["near"]
    assert near and "they do not answer it" in none.stdout
    shown = " ".join(none.stdout.split())
    assert all(" ".join(p["text"].split())[:40] in shown for p in near)
    assert f"— {near[0]['citation']['speaker_name'] or near[0]['citation']['speaker'] or ''}".strip() in shown


def test_episodes_and_stats(corpus, data_dir):
    run("ingest", str(corpus))
    eps = json.loads(run("episodes", "--json").stdout)
    assert {e["id"] for e in eps} == ALL_IDS
    table = run("episodes")
    assert table.exit_code == 0 and "team-notes" in table.stdout
    stats = json.loads(run("stats", "--json").stdout)
    assert stats["episodes"] == 5 and stats["vectors"] >= stats["chunks"] > 0 and stats["model"] == "fake"
    assert stats["data_dir"] == str(data_dir)
    assert stats["sources"] == ["blog.txt", "team-notes.md", "thread.txt"]
    assert "episodes" in run("stats").stdout


def test_bad_options_are_refused(corpus):
    assert run("search", "trust", "-k", "0").exit_code == 2
    bad_kind = run("search", "trust", "--kind", "podcast")
    assert bad_kind.exit_code == 2 and "kind" in bad_kind.output.lower()
    assert run().exit_code != 0  # no command: help, not a crash


def test_serve_is_a_command():
    result = run("serve", "--help")
    assert result.exit_code == 0 and "--port" in result.stdout


@pytest.fixture
def encoder_threads(corpus, monkeypatch):
    """A fake encoder that records the thread count each encode ran with; like the real ones it starts with every
    core (threads None) until the command sets KB_SERVE_THREADS through `set_threads`."""
    from core import knowledge_base
    from search.embedding import FakeEmbedder

    encoded_with: list[int | None] = []

    class Recording(FakeEmbedder):
        def encode(self, texts, batch_size=16, progress=False):
            encoded_with.append(self.threads)  # in the thread that serves the request
            return super().encode(texts, batch_size, progress)

    encoder = Recording()
    assert run("ingest", "--json").exit_code == 0  # the store exists before the encoder is swapped in
    monkeypatch.setattr(knowledge_base, "get_embedder", lambda *args, **kwargs: encoder)
    encoded_with.clear()
    yield encoder, encoded_with


def test_serve_runs_the_app_with_the_configured_threads(encoder_threads, monkeypatch):
    import uvicorn

    encoder, _ = encoder_threads
    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, host, port, log_level: seen.update(
        app=app, host=host, port=port, threads=encoder.threads))
    result = run("serve", "--port", "8123")
    assert result.exit_code == 0, result.output
    assert seen["port"] == 8123 and seen["threads"] == 1  # the default
    assert any(getattr(r, "path", None) == "/search" for r in seen["app"].routes)
    from core.settings import get_settings
    monkeypatch.setenv("KB_SERVE_THREADS", "2")
    get_settings.cache_clear()
    assert run("serve").exit_code == 0 and seen["threads"] == 2


def test_serve_threads_hold_for_requests(encoder_threads, monkeypatch):
    """`kb serve` sets KB_SERVE_THREADS before it loads the encoder and the index (warm-up), so every query,
    the warm-up's included, encodes with the configured count (onnxruntime fixes it when the session is made)."""
    import uvicorn
    from fastapi.testclient import TestClient

    _, encoded_with = encoder_threads
    seen = {}

    def serve_requests(app, host, port, log_level):
        client = TestClient(app)
        seen["status"] = [client.get("/search", params={"q": q}).status_code for q in ("trust", "focus")]

    monkeypatch.setattr(uvicorn, "run", serve_requests)
    result = run("serve")
    assert result.exit_code == 0, result.output
    assert seen["status"] == [200, 200] and encoded_with == [1, 1, 1]  # warm-up, then the two requests


@pytest.mark.parametrize("command", [("search", "trust"), ("ask", "how do you build trust?")])
def test_query_commands_encode_with_the_configured_threads(encoder_threads, command):
    """`kb search` and `kb ask` apply KB_SERVE_THREADS like `kb serve`, so the query itself does not spin a second
    thread on shared cores."""
    _, encoded_with = encoder_threads
    result = run(*command, "--json")
    assert result.exit_code == 0, result.output
    assert encoded_with and set(encoded_with) == {1}
