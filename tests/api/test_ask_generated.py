"""`ask` with a language model configured: the generated answer through the library, POST /ask and the
/ask/stream events, against a real OpenAI-compatible server on localhost (tests.search.answer.llm_server)."""
from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from api.http import create_app
from core.knowledge_base import KnowledgeBase
from core.settings import Settings
from tests.helpers import write_corpus
from tests.search.answer.llm_server import Reply, ScriptedLLM

QUESTION = "How do you build momentum with small wins?"


@pytest.fixture(scope="module")
def llm():
    server = ScriptedLLM().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def kb(tmp_path_factory, llm):
    root = tmp_path_factory.mktemp("gen")
    kb = KnowledgeBase(Settings(data_dir=root / "data", model="fake", llm_url=llm.url, llm_model="m", llm_timeout=5))
    kb.ingest([write_corpus(root / "corpus")])
    return kb


def sse(text: str) -> list[tuple[str, dict]]:
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def test_a_verified_generated_answer_replaces_the_text_and_keeps_the_points_as_sources(kb, llm):
    llm.script(Reply(content="Maria Bracho says you build momentum with small wins every week [1]."))
    ans = kb.ask(QUESTION)
    assert ans.generated and not ans.abstained
    assert ans.answer == "Maria Bracho says you build momentum with small wins every week [1]."
    assert ans.points and ans.citations[0].n == 1 and "small wins" in ans.citations[0].quote
    sent = llm.requests[-1].body
    assert sent["model"] == "m" and QUESTION in json.dumps(sent["messages"])


def test_an_unverifiable_reply_falls_back_to_the_extractive_answer_with_the_reason(kb, llm):
    llm.script(Reply(content="Maria grew the team to 500 people [1]."))
    ans = kb.ask(QUESTION)
    assert not ans.generated and not ans.abstained
    assert ans.answer.startswith(ans.lead) and "no generated answer" in ans.reason and "500" in ans.reason


def test_the_model_saying_the_corpus_does_not_say_is_an_abstention(kb, llm):
    llm.script(Reply(content="The corpus does not say."))
    ans = kb.ask(QUESTION)
    assert ans.abstained and not ans.citations and ans.closest and ans.reason


def test_a_down_endpoint_falls_back(tmp_path):
    kb = KnowledgeBase(Settings(data_dir=tmp_path / "d", model="fake", llm_url="http://127.0.0.1:9/v1", llm_timeout=3))
    kb.ingest([write_corpus(tmp_path / "corpus")])
    ans = kb.ask(QUESTION)
    assert not ans.generated and ans.points and ans.reason.startswith("no generated answer")


def test_the_stream_sends_the_points_first_then_each_verified_sentence_then_the_answer(kb, llm):
    good, bad = "You build momentum with small wins every week [1].", "It took Maria 500 days [1]."
    llm.script(Reply(content=f"{good} {bad}"))
    with TestClient(create_app(kb)) as client:
        r = client.post("/ask/stream", json={"question": QUESTION})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = sse(r.text)
    assert [e for e, _ in events] == ["extractive", "sentence", "answer"]
    extractive, sentence, final = (d for _, d in events)
    assert extractive["points"] and not extractive["generated"]
    assert sentence["text"] == good and sentence["kept"] is True
    assert final["generated"] and final["answer"] == good and final["points"] == extractive["points"]


def test_without_a_model_the_stream_is_the_extractive_answer(tmp_path):
    kb = KnowledgeBase(Settings(data_dir=tmp_path / "d", model="fake"))
    kb.ingest([write_corpus(tmp_path / "corpus")])
    with TestClient(create_app(kb)) as client:
        events = sse(client.post("/ask/stream", json={"question": QUESTION}).text)
        plain = client.post("/ask", json={"question": QUESTION}).json()
    assert [e for e, _ in events] == ["extractive", "answer"] and events[1][1] == plain
