"""JSON speaker turns: both sample shapes and wrappers, same-speaker merging, times and shape errors by line."""
from __future__ import annotations

import json

import pytest

from ingest.readers import ReaderError
from ingest.readers.json_turns import JSONTurnsReader
from tests.ingest.transcript_checks import chunks, read

ASR = """[
  {"text": "The following is a conversation with Ada.", "start_time": "0:00:00", "end_time": "0:00:05", "speaker": "Lex"},
  {"text": "It is about engines.", "start_time": "0:00:05", "end_time": "0:00:08", "speaker": "Lex"},
  {"text": "Thank you, it is good to be here.", "start_time": "0:00:09", "end_time": "0:00:12", "speaker": "Ada"},
  {"text": "Let us talk about the analytical engine.", "start_time": "1:00:00", "end_time": "1:00:04", "speaker": "Lex"}
]
"""


def test_asr_turns_merge_consecutive_speakers(tmp_path):
    name, doc, text = read(tmp_path, "400Transcripts.json", ASR)
    assert name == "json-turns" and doc.id == "400transcripts"
    assert [(s.speaker, s.text, s.start, s.end) for s in doc.segments] == [
        ("Lex", "The following is a conversation with Ada. It is about engines.", 0.0, 8.0),
        ("Ada", "Thank you, it is good to be here.", 9.0, 12.0),
        ("Lex", "Let us talk about the analytical engine.", 3600.0, 3604.0),
    ]
    lex = doc.segments[0]
    assert lex.markers == [(text.index("The following"), 0.0), (text.index("It is about"), 5.0)]
    assert text[lex.char_start:lex.char_end].endswith("It is about engines.")
    out = chunks(doc, text, min_words=1)
    assert [(c.speaker, c.start) for c in out] == [("Lex", 0.0), ("Ada", 9.0), ("Lex", 3600.0)]
    assert out[2].end == 3604.0 and out[1].end >= 12.0  # (a chunk before a silence ends at the next start)


def test_chat_shape_with_time_and_message(tmp_path):
    chat = json.dumps([
        {"speaker": "Amit Varma", "time": "00:00:07.000", "message": "Ram Singh is a farmer."},
        {"speaker": "Amit Varma", "time": "00:00:20.000", "message": "He woke up to a noise."},
        {"speaker": "Guest 1", "time": "00:02:52.500", "message": "Can you get back into farming?"},
    ], indent=2)
    _, doc, text = read(tmp_path, "E01.chat.json", chat)
    assert [(s.speaker, s.start, s.end) for s in doc.segments] == [("Amit Varma", 7.0, None), ("Guest 1", 172.5, None)]
    assert [t for _, t in doc.segments[0].markers] == [7.0, 20.0]
    out = chunks(doc, text, min_words=1)
    assert [(c.speaker, c.start) for c in out] == [("Amit Varma", 7.0), ("Guest 1", 172.5)]


@pytest.mark.parametrize("key", ["segments", "turns"])
def test_wrappers_and_numeric_times(tmp_path, key):
    data = {"language": "en", key: [
        {"start": 0.5, "end": 2.25, "text": "  Hello   there. "},
        {"start": 2.25, "end": 4, "text": "General Kenobi!", "speaker": "Grievous"},
    ]}
    _, doc, text = read(tmp_path, "w.json", json.dumps(data))
    assert [(s.speaker, s.text, s.start, s.end) for s in doc.segments] == [
        (None, "Hello there.", 0.5, 2.25), ("Grievous", "General Kenobi!", 2.25, 4.0)]
    chunks(doc, text)


@pytest.mark.parametrize("body, line, why", [
    ('[\n  {"text": "hi", "speaker": "A"},\n  {"text": "oops"\n]\n', 4, "invalid JSON"),
    ('[\n  {"text": "hi", "speaker": "A"},\n  {"title": "Chapter", "time": "0:01:00"}\n]\n', 3, "turn has no text"),
    ('[\n  {"text": "hi", "start_time": "0:00:01"},\n  {"text": "yo", "start_time": "soon"}\n]\n', 3, "bad time in 'start_time'"),
    ('[\n  "just a string"\n]\n', 2, "must be an object"),
    ('{"episode": 1, "title": "no turns here"}', 1, "expected a list of speaker turns"),
    ('[]', 1, "empty"),
])
def test_wrong_shapes_name_file_line_and_reason(tmp_path, body, line, why):
    path = tmp_path / "bad.json"
    with pytest.raises(ReaderError) as err:
        JSONTurnsReader().read(path, body, "bad.json")
    assert (err.value.path, err.value.line) == (str(path), line) and why in err.value.reason
