"""A batch of transcripts in the new formats: one malformed file is reported by name and line, the rest ingest."""
from __future__ import annotations

import json

from ingest.pipeline import ingest
from search.embedding import FakeEmbedder
from search.store import Store
from tests.ingest.test_chapters import VTT


def test_batch_with_one_malformed_file_ingests_the_rest(tmp_path):
    folder = tmp_path / "episodes"
    folder.mkdir()
    (folder / "good.vtt").write_text(VTT, encoding="utf-8")
    (folder / "good.srt").write_text("1\n00:00:01,000 --> 00:00:03,000\nHello from the subtitles.\n", encoding="utf-8")
    (folder / "turns.json").write_text(json.dumps([{"speaker": "A", "time": "0:00:01", "message": "Hi there."}]),
                                       encoding="utf-8")
    (folder / "broken.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:02.000\nok\n\n00:02.000 --> 00:0x.000\nbad\n",
                                       encoding="utf-8")
    store = Store(tmp_path / "kb.sqlite")
    report = ingest(store, FakeEmbedder(), [folder])
    assert len(report.added) == 3 and "turns" in report.added  # good.vtt and good.srt share an id, kept apart
    assert sum(a.startswith("good") for a in report.added) == 2
    assert sorted(store.episode_state()) == sorted(report.added)
    [(failed_path, reason)] = report.failed.items()
    assert failed_path.endswith("broken.vtt") and ":6: bad timestamp '00:0x.000'" in reason
