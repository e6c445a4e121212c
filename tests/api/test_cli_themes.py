"""`kb themes`, `kb themes show`, `kb themes retag` and `--theme` on search, on a tiny corpus (fake encoder)."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from api.cli import app
from search.taxonomy import UnknownTheme
from tests.search.test_themes import NOTES, TAXONOMY

runner = CliRunner()


@pytest.fixture
def corpus(tmp_path, monkeypatch):
    from core.settings import get_settings

    root = tmp_path / "corpus"
    root.mkdir()
    (root / "team-notes.md").write_text(NOTES, encoding="utf-8")
    (tmp_path / "themes.toml").write_text(TAXONOMY, encoding="utf-8")
    monkeypatch.setenv("KB_CORPUS_DIRS", json.dumps([str(root)]))
    monkeypatch.setenv("KB_THEMES_FILE", str(tmp_path / "themes.toml"))
    monkeypatch.setenv("KB_MIN_CHUNK_WORDS", "0")
    get_settings.cache_clear()
    return tmp_path


def test_themes_lists_counts_episodes(corpus):
    r = runner.invoke(app, ["themes", "--json"])
    assert r.exit_code == 0, r.output
    items = {t["name"]: t for t in json.loads(r.stdout)}
    assert items["trust"]["passages"] == 1 and items["letting-go"]["passages"] == 1
    assert items["letting-go"]["episodes"][0]["count"] == 1
    table = runner.invoke(app, ["themes"])
    assert table.exit_code == 0 and "letting-go" in table.stdout and "trust" in table.stdout


def test_themes_show_prints_passages_and_why(corpus):
    r = runner.invoke(app, ["themes", "show", "letting go"])
    assert r.exit_code == 0, r.output
    assert "Letting go" in r.stdout and "delegated the release" in r.stdout and "delegate" in r.stdout
    with pytest.raises(UnknownTheme):
        runner.invoke(app, ["themes", "show", "gardening"], catch_exceptions=False)


def test_retag_after_editing_the_taxonomy(corpus):
    runner.invoke(app, ["ingest"])
    with open(corpus / "themes.toml", "a", encoding="utf-8") as f:
        f.write('\n[[theme]]\nname = "food"\ndescription = "Meals."\nkey_phrases = ["soup"]\nseeds = ["coffee"]\n')
    stale = runner.invoke(app, ["themes"])
    assert "kb themes retag" in stale.output
    r = runner.invoke(app, ["themes", "retag", "--json"])
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["embedded_chunks"] == 0 and report["tags"] >= 3
    items = {t["name"]: t["passages"] for t in json.loads(runner.invoke(app, ["themes", "--json"]).stdout)}
    assert items["food"] == 1


def test_search_theme_option_is_repeatable(corpus):
    r = runner.invoke(app, ["search", "soup coffee release", "--theme", "trust", "--theme", "letting-go", "--json"])
    assert r.exit_code == 0, r.output
    hits = json.loads(r.stdout)["results"]
    assert hits and all({"trust", "letting-go"} & set(h["themes"]) for h in hits)
    assert not any("soup" in h["text"] for h in hits)
