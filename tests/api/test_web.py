"""The web page in a real browser: Debian's chromium, headless, driven by playwright over a live uvicorn server.

Skips when /usr/bin/chromium is absent (CI installs it with scripts/ci-system-deps.sh). Screenshots go to
bench/results/web*.png.
"""
from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
                                "(apt-get install chromium, or scripts/ci-system-deps.sh)")
sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package (pip install -e '.[test]')")

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = REPO / "bench" / "results"
URL = "https://www.youtube.com/watch?v=kb-demo"
TITLE = "Building Momentum with Maria Bracho"

FILLER = ("We talked about it for a long time with the whole group, and the conversation kept coming back to the same "
          "idea about how people actually work together when nobody is watching and the deadlines are close.")
SHOW = f"""Author: Alexis

  • {TITLE}

    {TITLE}

    Maria explains how small wins turn into momentum, and why trust comes before any roadmap.

    Here is the transcript of the episode

    Alexis: [00:00:00] Welcome to the show. Today I talk with Maria Bracho about change in large organisations. {FILLER} So let us start at the beginning of your career and the first team you led.

    Maria: [00:01:00] Thank you Alexis. Change starts with trust, and then you build momentum with small wins every week. When people see the small wins, they join the movement on their own, without anyone forcing them. {FILLER}

    Alexis: [00:02:00] How do you measure whether the momentum is real and not just a feeling in the room? {FILLER} I ask because every leader I know says the same thing and few can show numbers.

    Maria: [00:03:00] We count the teams that adopt the practice each quarter, and we ask them what changed for them. Some of them write it down with <b>bold</b> tags & <img src=x onerror=alert(1)> markup in the wiki, which is funny. {FILLER}

    Alexis: [00:04:00] That is a good place to stop. Thank you for coming, Maria, it was a pleasure to hear about your teams. {FILLER} Next week we will talk about hiring and onboarding.
"""
META = {"url": URL, "speakers": {"Alexis": "Alexis Monville"}, "chapters": [{"title": "Introductions", "start": 0}, {"title": "Measuring momentum", "start": "00:02:00"}]}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(tmp_path, **settings):
    import uvicorn

    from api.http import create_app
    from core.knowledge_base import KnowledgeBase
    from core.settings import get_settings

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "show.txt").write_text(SHOW, encoding="utf-8")
    (corpus / "show.meta.json").write_text(json.dumps(META), encoding="utf-8")
    kb = KnowledgeBase(get_settings().model_copy(update=settings))
    report = kb.ingest([corpus])
    assert not report.failed and report.chunks_embedded >= 5
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(kb), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", srv, thread


@pytest.fixture
def server(tmp_path):
    url, srv, thread = _serve(tmp_path)
    yield url
    srv.should_exit = True
    thread.join(10)


@pytest.fixture
def llm_server(tmp_path):
    """The page's server with a language model configured: a scripted OpenAI-compatible server on localhost."""
    from tests.search.answer.llm_server import ScriptedLLM

    llm = ScriptedLLM().start()
    url, srv, thread = _serve(tmp_path, llm_url=llm.url, llm_model="m", llm_timeout=10.0)
    yield url, llm
    srv.should_exit = True
    thread.join(10)
    llm.stop()


@pytest.fixture
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


def _page(browser, base, width=1280, height=900):
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # nothing may leave the machine: any request to another host fails the test
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith((base, "data:")) else None)
    page.errors, page.outside = errors, outside
    page.set_default_timeout(10_000)
    return page


def test_search_ask_and_context(server, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = _page(browser, server)
    page.goto(server + "/")
    page.wait_for_selector("body[data-ready]")
    expect = sync_api.expect

    # filters come from the API's own lists; the theme filter only when /themes exists
    expect(page.locator("#f-speaker option", has_text="Maria Bracho")).to_have_count(1)
    expect(page.locator("#f-episode option", has_text=TITLE)).to_have_count(1)
    has_themes = page.request.get(server + "/themes").status == 200
    expect(page.locator("#theme-filter")).to_be_visible() if has_themes else expect(page.locator("#theme-filter")).to_be_hidden()

    # `/` focuses the search box; typing shows results without pressing anything
    page.locator("#episodes-btn").focus()
    page.keyboard.press("/")
    expect(page.locator("#q")).to_be_focused()
    page.keyboard.type("momentum small wins")
    expect(page.locator("#results .card").first).to_be_visible()
    card = page.locator("#results .card", has_text="wins every week").first
    expect(card.locator(".speaker")).to_have_text("Maria Bracho")
    expect(card.locator(".episode-link")).to_have_text(TITLE)
    time_link = card.locator("a.time")
    expect(time_link).to_have_text("00:01:00")
    assert time_link.get_attribute("href") == URL + "&t=60"
    marks = [m.lower() for m in card.locator("mark").all_inner_texts()]
    assert "momentum" in marks and "wins" in marks
    expect(page.locator("#status")).to_contain_text("momentum small wins")
    page.screenshot(path=str(SHOTS / "web.png"))

    # corpus text is text: markup in a passage shows as characters and creates no elements
    page.fill("#q", "markup wiki")
    funny = page.locator("#results .card", has_text="onerror").first
    expect(funny).to_be_visible()
    assert "<b>bold</b>" in funny.locator(".text").inner_text()
    assert funny.locator(".text b, .text img").count() == 0

    # filter by speaker: only Alexis's turns
    page.fill("#q", "momentum")
    page.select_option("#f-speaker", "Alexis Monville")
    expect(page.locator("#clear")).to_be_visible()
    expect(page.locator("#results .card .speaker").first).to_have_text("Alexis Monville")
    assert set(page.locator("#results .card .speaker").all_inner_texts()) == {"Alexis Monville"}
    page.click("#clear")
    expect(page.locator("#f-speaker")).to_have_value("")

    # Ask: Enter submits; the answer has numbered citation buttons and a source list
    page.get_by_role("radio", name="Ask").check()
    expect(page.locator("#go")).to_have_text("Ask")
    page.fill("#q", "How do you build momentum with small wins every week?")
    page.press("#q", "Enter")
    answer = page.locator("#answer .answer-card")
    expect(answer).to_be_visible()
    expect(answer).not_to_have_class("answer-card abstained")
    expect(answer.locator(".lead")).to_contain_text("answer")
    point = answer.locator(".point").first
    expect(point.locator(".speaker")).to_have_text("Maria Bracho")
    expect(point.locator(".point-text")).to_contain_text("small wins")
    cite = page.locator("#answer button.cite").first
    expect(cite).to_have_text("1")
    expect(page.locator("#cite-1 .num")).to_have_text("1")
    expect(page.locator("#cite-1 .speaker")).to_have_text("Maria Bracho")
    page.screenshot(path=str(SHOTS / "web-ask.png"))

    # a citation opens its passage in context: the turns before and after, the cited one marked
    cite.click()
    dialog = page.locator("dialog#panel")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#panel-title")).to_have_text(TITLE)
    current = dialog.locator(".turn.current")
    expect(current).to_contain_text("small wins")
    expect(current).to_be_focused()
    assert dialog.locator(".turn").count() >= 3
    assert "Alexis Monville" in dialog.locator(".turn:not(.current) .speaker").all_inner_texts()
    page.screenshot(path=str(SHOTS / "web-context.png"))
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    # abstaining says so and lists the closest passages
    page.fill("#q", "zebra xylophone quantum")
    page.press("#q", "Enter")
    expect(page.locator("#answer .answer-card.abstained")).to_be_visible()
    expect(page.locator("#answer")).to_contain_text("No answer found")
    # with the closest passages' best excerpts as attributed points, before the passages themselves
    near = page.locator("#answer .points.near .point")
    expect(near.first).to_be_visible()
    expect(near.first.locator(".point-meta")).not_to_be_empty()
    page.screenshot(path=str(SHOTS / "web-abstain.png"))

    # the episode panel lists speakers and chapters, with chapter times linked into the episode
    page.get_by_role("radio", name="Search").check()
    page.fill("#q", "momentum")
    page.locator("#results .card .episode-link").first.click()
    expect(dialog).to_be_visible()
    expect(dialog.locator(".chapters li")).to_have_count(2)
    assert dialog.locator(".chapters a.time").nth(1).get_attribute("href") == URL + "&t=120"
    expect(dialog.locator(".chip", has_text="Maria Bracho")).to_be_visible()
    dialog.get_by_role("button", name="Search this episode").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#f-episode")).to_have_value("building-momentum-with-maria-bracho")

    assert page.errors == []
    assert page.outside == []


def test_phone_width_and_url_state(server, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = _page(browser, server, width=390, height=844)
    page.goto(server + "/?q=trust+momentum")
    page.wait_for_selector("body[data-ready]")
    expect = sync_api.expect
    expect(page.locator("#q")).to_have_value("trust momentum")
    expect(page.locator("#results .card").first).to_be_visible()
    # nothing wider than the screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(SHOTS / "web-phone.png"))
    # the query box and the first result are reachable from the keyboard
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.tagName") in {"BUTTON", "INPUT", "SELECT", "A"}
    assert page.errors == []
    assert page.outside == []


def test_a_generated_answer_streams_in_sentence_by_sentence(llm_server, browser):
    from tests.search.answer.llm_server import Reply

    url, llm = llm_server
    first, second = "Momentum comes from small wins every week [1].", " People then join on their own [1]."
    # the first sentence is complete once the next one starts; then the model stalls for 3 s
    llm.script(Reply(content=first + second, pieces=[first, " People then", " join on their own [1]."],
                     pause_after=2, pause=3.0))
    page = _page(browser, url)
    page.goto(url + "/")
    page.wait_for_selector("body[data-ready]")
    expect = sync_api.expect
    page.get_by_role("radio", name="Ask").check()
    page.fill("#q", "How do you build momentum with small wins every week?")
    page.press("#q", "Enter")
    generated = page.locator("#answer .generated")
    expect(generated).to_contain_text("Momentum comes from small wins every week")  # before the model finished
    assert "join on their own" not in generated.inner_text()
    expect(page.locator("#answer .point").first).to_be_visible()  # the points are there while it writes
    expect(generated).to_contain_text("People then join on their own", timeout=15_000)
    expect(generated.locator("button.cite").first).to_have_text("1")
    expect(page.locator("#status")).to_contain_text("Answer from")
    assert page.errors == [] and page.outside == []
