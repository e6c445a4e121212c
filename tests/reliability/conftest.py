"""Shared fixtures: a good corpus ingested first, so every bad batch can be shown to leave it intact."""
from __future__ import annotations

from pathlib import Path

import pytest

from core.knowledge_base import KnowledgeBase
from core.models import Filters
from tests.helpers import TRANSCRIPT_ID, write_corpus

GOOD_QUERY = "trust change focus"


def vtt(cues: list[tuple[str, str, str]]) -> str:
    """A WebVTT file from (start, end, text) cues, speakers as `<v Name>` tags when the text has `Name|`."""
    out = ["WEBVTT", ""]
    for start, end, text in cues:
        who, _, said = text.rpartition("|")
        out += [f"{start} --> {end}", f"<v {who}>{said}" if who else said, ""]
    return "\n".join(out)


def episode_vtt(n: int, cues: int = 12) -> str:
    """A small, distinct transcript: two speakers talking about topic `n`."""
    rows = []
    for i in range(cues):
        who = "Ana" if i % 2 == 0 else "Ben"
        words = " ".join(f"topic{n} point{i} word{j}" for j in range(4))
        rows.append((f"00:{i // 2:02d}:{(i % 2) * 30:02d}.000", f"00:{i // 2:02d}:{(i % 2) * 30 + 29:02d}.000",
                     f"{who}|We talk about {words} and why it matters."))
    return vtt(rows)


@pytest.fixture
def good_kb(tmp_path) -> tuple[KnowledgeBase, dict]:
    """A KnowledgeBase with the small good corpus ingested, and what it answered before any bad batch."""
    kb = KnowledgeBase()
    report = kb.ingest([write_corpus(tmp_path / "good")])
    assert report.failed == {} and TRANSCRIPT_ID in report.added
    before = {"episodes": {e.id: [c.text for c in kb.store.episode_chunks(e.id)] for e in kb.episodes()},
              "hits": [(h.episode.id, h.text) for h in kb.search(GOOD_QUERY, 5)]}
    return kb, before


def assert_still_answers(kb: KnowledgeBase, before: dict) -> None:
    """Every good episode is still there with the same passages, the same search still finds each passage it found
    before (within its episode: new episodes may outrank them overall), and an answer cites good episodes."""
    assert {eid: kb.store.episode_chunks(eid) and [c.text for c in kb.store.episode_chunks(eid)]
            for eid in before["episodes"]} == before["episodes"]
    for eid, text in before["hits"]:
        assert text in [h.text for h in kb.search(GOOD_QUERY, 10, Filters(episode=eid))]
    answer = kb.ask("How did Maria build trust during the change?")
    assert answer.citations or answer.closest  # an answer, or an abstention that shows the closest passages
    stored = kb.store.chunks([c.chunk_id for c in [*answer.citations, *answer.closest]])
    for c in [*answer.citations, *answer.closest]:  # each cites the passage it names, from its own episode
        assert stored[c.chunk_id].episode_id == c.episode.id


def write(folder: Path, files: dict[str, bytes | str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data.encode() if isinstance(data, str) else data)
    return folder
