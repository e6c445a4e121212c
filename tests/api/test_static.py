"""The web page and its assets: served by the app itself, with the right types, and nothing from other hosts."""
from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from api.http import STATIC, create_app

ASSETS = {"/static/app.js": "javascript", "/static/app.css": "text/css"}


@pytest.fixture
def client():
    # the page and its assets need no knowledge base: the app is created without one and never builds it here
    return TestClient(create_app())


def test_index_serves_the_page(client):
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    assert '<input id="q"' in html and 'role="search"' in html
    for asset in ASSETS:
        assert f'"{asset}"' in html


@pytest.mark.parametrize("path,kind", ASSETS.items())
def test_assets_have_their_content_types(client, path, kind):
    r = client.get(path)
    assert r.status_code == 200
    assert kind in r.headers["content-type"]
    assert len(r.content) > 500


def test_no_external_urls():
    """No CDN, font or script from another host: the page works offline."""
    files = sorted(p for p in STATIC.iterdir() if p.suffix in {".html", ".js", ".css"})
    assert {p.name for p in files} >= {"index.html", "app.js", "app.css"}
    for p in files:
        text = p.read_text(encoding="utf-8")
        found = re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.I)
        assert not found, f"{p.name} references other hosts: {found}"
        assert not re.search(r"@import|url\(\s*['\"]?(?:https?:)?//", text), p.name


def test_page_does_not_use_innerhtml():
    """Corpus text goes into the DOM as text nodes only."""
    js = (STATIC / "app.js").read_text(encoding="utf-8")
    assert not re.search(r"\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write", js)


def test_unknown_asset_is_404(client):
    assert client.get("/static/nope.js").status_code == 404
