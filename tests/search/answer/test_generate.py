"""The generated answer against a real OpenAI-compatible server on localhost replaying scripted completions.

The openai client talks HTTP to `ScriptedLLM`; nothing is mocked. Each case scripts what the "model" replies,
good or bad, and checks what is shown, what is dropped and why, and what the server was sent.
"""
from __future__ import annotations

import importlib.util
import json
import socket
import sys
import time
from pathlib import Path

import pytest

from core.settings import Settings
from search.answer import generate
from search.answer.generate import Generation, generate_answer, stream_answer
from search.answer.verify import Verdict
from tests.search.answer.fixtures import points
from tests.search.answer.llm_server import Reply, ScriptedLLM

QUESTION = "How did Maria Bracho grow her engineering team?"
GOOD = ('Maria Bracho grew her team from ten to forty engineers, and the hardest part was "letting go of the code" '
        '[1]. Alexis Monville says trust is the foundation of leading change at scale [2]. '
        'Notes advise promoting from within when someone already mentors others [3].')
INVENTED_QUOTE = 'Maria Bracho says "you must fire fast" [1].'
WRONG_N = "Trust is what matters most [7]."
NUMBER = "Maria Bracho grew her team to fifty engineers [1]."
NAME = "Maria Bracho learned this at Google [1]."
UNCITED = "Growing a team is about trust."
BAD = [INVENTED_QUOTE, WRONG_N, NUMBER, NAME, UNCITED]


@pytest.fixture(scope="module")
def llm():
    server = ScriptedLLM().start()
    yield server
    server.stop()


@pytest.fixture
def settings(llm):
    llm.requests.clear()
    return Settings(llm_url=llm.url, llm_model="kb-test-model", llm_api_key="test-key", llm_timeout=5.0)


def streamed(question, pts, settings) -> tuple[list[Verdict], Generation]:
    items = list(stream_answer(question, pts, settings))
    assert isinstance(items[-1], Generation) and all(isinstance(i, Verdict) for i in items[:-1])
    return items[:-1], items[-1]


def test_good_answer_is_shown_whole_and_the_server_got_the_question_and_the_numbered_excerpts(llm, settings):
    llm.script(Reply(content=GOOD))
    gen = generate_answer(QUESTION, points(), settings)
    assert gen.status == "answered" and gen.generated and gen.reason is None
    assert [v.text for v in gen.sentences] == [s + "]." for s in GOOD.split("]. ")[:-1]] + [GOOD.split("]. ")[-1]]
    assert gen.answer == GOOD and gen.cited == [1, 2, 3] and not gen.dropped and gen.model == "kb-test-model"

    [request] = llm.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer test-key"
    body = request.body
    assert body["model"] == "kb-test-model" and not body.get("stream") and body["temperature"] == 0
    assert body["max_tokens"] == settings.llm_max_tokens
    system, user = body["messages"]
    assert system["role"] == "system" and "The corpus does not say." in system["content"]
    prompt = user["content"]
    assert QUESTION in prompt
    for header in ('[1] Maria Bracho (guest, CTO for LATAM at Red Hat), in "Leading Change with Maria Bracho", '
                   "at 00:12:24", '[2] Alexis Monville (host), in "Trust at Scale", at 00:03:10',
                   '[3] a written note, in "Team notes"'):
        assert header in prompt
    for p in points():
        assert p.citation.text in prompt  # the whole passage, not only the excerpt
    assert "Key excerpt: Within three years" in prompt
    assert prompt.index("[1] Maria") < prompt.index("[2] Alexis") < prompt.index("[3] a written note")


@pytest.mark.parametrize("bad", BAD)
def test_an_unverifiable_sentence_is_dropped_with_its_reason_and_the_rest_is_shown(llm, settings, bad):
    llm.script(Reply(content=f"{bad} Alexis Monville says trust is the foundation of leading change [2]."))
    gen = generate_answer(QUESTION, points(), settings)
    assert gen.status == "answered" and bad not in gen.answer
    assert gen.answer == "Alexis Monville says trust is the foundation of leading change [2]."
    [dropped] = gen.dropped
    assert dropped.text == bad and dropped.reason


def test_reasons_name_what_failed(llm, settings):
    llm.script(Reply(content=" ".join(BAD)))
    gen = generate_answer(QUESTION, points(), settings)
    assert gen.status == "failed" and not gen.generated and gen.answer == "" and not gen.sentences
    reasons = {v.text: v.reason for v in gen.dropped}
    assert "you must fire fast" in reasons[INVENTED_QUOTE]
    assert "[7]" in reasons[WRONG_N]
    assert "50" in reasons[NUMBER]
    assert "Google" in reasons[NAME]
    assert reasons[UNCITED] == "cites no excerpt"
    assert gen.reason.startswith("no generated sentence passed verification")


def test_no_unverifiable_sentence_is_ever_shown_blocking_or_streamed(llm, settings):
    shown = []
    for bad in BAD:
        for reply in (bad, f"{bad} Trust is the foundation of leading change at scale [2].",
                      f"Trust is the foundation of leading change at scale [2]. {bad}"):
            llm.script(Reply(content=reply))
            shown.append(generate_answer(QUESTION, points(), settings).answer)
            llm.script(Reply(content=reply))
            verdicts, gen = streamed(QUESTION, points(), settings)
            shown += [v.text for v in verdicts] + [gen.answer]
    assert not [text for text in shown if any(bad in text for bad in BAD)]


def test_abstention(llm, settings):
    llm.script(Reply(content="The corpus does not say."))
    gen = generate_answer("Who is Maria Bracho's boss?", points(), settings)
    assert gen.status == "abstained" and not gen.generated and gen.answer == ""
    assert gen.reason == "the language model found no answer in the excerpts"
    llm.script(Reply(content="The corpus does not say."))
    verdicts, gen = streamed("Who is Maria Bracho's boss?", points(), settings)
    assert verdicts == [] and gen.status == "abstained"


def test_more_than_five_sentences_are_cut_to_five(llm, settings):
    six = " ".join(f"Trust is the foundation of leading change, point {n} [2]." for n in ["one"] * 6)
    llm.script(Reply(content=six))
    gen = generate_answer(QUESTION, points(), settings)
    assert len(gen.sentences) == 5 and gen.dropped[0].reason == "beyond the 5 sentences asked for"
    llm.script(Reply(content=six))
    verdicts, gen = streamed(QUESTION, points(), settings)
    assert len(verdicts) == 5 == len(gen.sentences)


@pytest.mark.parametrize("reply, reason", [
    (Reply(body="{not json"), "malformed"),
    (Reply(body='{"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": []}'), "empty"),
    (Reply(body='{"unexpected": true}'), "malformed"),
    (Reply(content=""), "empty"),
    (Reply(content="   \n"), "empty"),
    (Reply(status=500), "HTTP 500"),
    (Reply(status=401, body='{"error": {"message": "bad key"}}'), "HTTP 401"),
])
def test_a_bad_reply_falls_back_with_the_reason(llm, settings, reply, reason):
    llm.script(reply)
    gen = generate_answer(QUESTION, points(), settings)
    assert gen.status == "failed" and not gen.generated and not gen.sentences
    assert reason in gen.reason


def test_a_slow_endpoint_falls_back_within_the_timeout(llm, settings):
    settings.llm_timeout = 0.5
    llm.script(Reply(content=GOOD, delay=3))
    started = time.monotonic()
    gen = generate_answer(QUESTION, points(), settings)
    assert time.monotonic() - started < 1.5
    assert gen.status == "failed" and gen.reason == "the language model did not answer within 0.5 s"


def test_an_endpoint_that_is_down_falls_back_at_once(settings):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.llm_url = f"http://127.0.0.1:{port}/v1"
    started = time.monotonic()
    gen = generate_answer(QUESTION, points(), settings)
    assert time.monotonic() - started < 2
    assert gen.status == "failed" and "cannot be reached" in gen.reason


def test_without_a_model_name_the_first_listed_model_is_asked(llm, settings):
    settings.llm_model = None
    llm.script(Reply(content=GOOD))
    gen = generate_answer(QUESTION, points(), settings)
    assert gen.generated and gen.model == "scripted-model"
    assert [r.path for r in llm.requests] == ["/v1/models", "/v1/chat/completions"]
    assert llm.requests[1].body["model"] == "scripted-model"


def test_nothing_is_asked_without_a_url_or_excerpts(llm, settings):
    assert generate_answer(QUESTION, [], settings).reason == "no excerpts to write an answer from"
    settings.llm_url = None
    assert generate_answer(QUESTION, points(), settings).reason == "no language model is configured (KB_LLM_URL)"
    [gen] = list(stream_answer(QUESTION, points(), settings))
    assert gen.status == "failed" and not llm.requests


def test_off_by_default_and_the_client_is_not_imported_until_asked(monkeypatch):
    assert Settings().llm_url is None
    for name in [m for m in sys.modules if m == "openai" or m.startswith("openai.")]:
        monkeypatch.delitem(sys.modules, name)  # restored after the test
    spec = importlib.util.spec_from_file_location("generate_probe", Path(generate.__file__))
    spec.loader.exec_module(importlib.util.module_from_spec(spec))  # a fresh copy of the module, imported anew
    assert generate_answer(QUESTION, points(), Settings()).reason == "no language model is configured (KB_LLM_URL)"
    assert "openai" not in sys.modules


# ---- streaming ----

def test_stream_yields_verified_sentences_and_drops_a_bad_second_one(llm, settings):
    reply = (f"Maria Bracho grew her team from ten to forty engineers [1]. {NUMBER} "
             "Alexis Monville says trust is the foundation of leading change at scale [2].")
    llm.script(Reply(content=reply))
    verdicts, gen = streamed(QUESTION, points(), settings)
    assert [v.text for v in verdicts] == ["Maria Bracho grew her team from ten to forty engineers [1].",
                                          "Alexis Monville says trust is the foundation of leading change at scale [2]."]
    assert gen.status == "answered" and [v.text for v in gen.dropped] == [NUMBER]
    assert gen.sentences == verdicts and gen.reply == reply
    body = llm.requests[-1].body
    assert body["stream"] is True and body["model"] == "kb-test-model" and QUESTION in body["messages"][1]["content"]


def test_stream_shows_a_sentence_before_the_reply_is_finished(llm, settings):
    first = "Maria Bracho grew her team from ten to forty engineers [1]. "
    llm.script(Reply(content=first + "Trust is the foundation of leading change at scale [2].",
                     pieces=[first, "Trust is the foundation", " of leading change at scale [2]."],
                     pause_after=2, pause=0.8))
    started = time.monotonic()
    arrivals = [(item, time.monotonic() - started) for item in stream_answer(QUESTION, points(), settings)]
    (one, t1), (two, t2), (gen, _) = arrivals
    assert one.text == first.strip() and two.kept and gen.generated
    assert t2 - t1 > 0.5  # the first sentence came out while the server was still pausing


def test_a_stalled_stream_keeps_what_passed_and_stops_within_the_timeout(llm, settings):
    settings.llm_timeout = 0.8
    first = "Maria Bracho grew her team from ten to forty engineers [1]. "
    llm.script(Reply(content=first + "Alexis Monville says trust comes first [2].", pieces=[first, "Alexis Monv", "ille"],
                     pause_after=2, pause=4))
    started = time.monotonic()
    verdicts, gen = streamed(QUESTION, points(), settings)
    assert time.monotonic() - started < 1.8
    assert [v.text for v in verdicts] == [first.strip()]
    assert gen.status == "answered" and gen.reason == "the reply was cut short: the language model did not answer within 0.8 s"


def test_a_stream_that_fails_before_any_sentence_falls_back(llm, settings):
    llm.script(Reply(raw_events=[json.dumps({"choices": [{"index": 0, "delta": {"content": "Maria Bracho grew"}}]}),
                                 "{broken json"]))
    verdicts, gen = streamed(QUESTION, points(), settings)
    assert verdicts == [] and gen.status == "failed" and "malformed" in gen.reason
    llm.script(Reply(status=500))
    verdicts, gen = streamed(QUESTION, points(), settings)
    assert verdicts == [] and gen.status == "failed" and "HTTP 500" in gen.reason
    llm.script(Reply(content=""))
    verdicts, gen = streamed(QUESTION, points(), settings)
    assert verdicts == [] and gen.status == "failed" and "empty" in gen.reason


def test_a_reasoning_models_thinking_is_not_the_answer(llm, settings):
    reply = "<think>The user asks about Google. Ten? Fifty.</think>\n\nMaria Bracho grew her team to forty [1]."
    llm.script(Reply(content=reply))
    verdicts, gen = streamed(QUESTION, points(), settings)
    assert [v.text for v in verdicts] == ["Maria Bracho grew her team to forty [1]."] and not gen.dropped
    llm.script(Reply(content=reply))
    assert generate_answer(QUESTION, points(), settings).answer == "Maria Bracho grew her team to forty [1]."
