"""In-process evaluation: score.py's gold-matching rule, and the figures over a tiny hand-made knowledge base."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.knowledge_base import KnowledgeBase
from core.models import Document, Kind, Segment
from core.settings import get_settings
from ingest.pipeline import ingest_documents
from api.evaluation import Question, Row, evaluate, load_questions, quote_hits, seconds, summarize, words

TURNS = [  # (speaker, start s, end s, text)
    ("Alice", 0.0, 50.0, "Trust is built slowly through many small promises that are kept over months and years."),
    ("Bob", 600.0, 650.0, "Our deployment pipeline ships code to production twenty times a day with automated canary checks."),
    ("Alice", 1200.0, 1250.0, "Remote teams need written decisions so that nobody depends on hallway conversations to stay informed."),
]
NOTE = "Gardening notes: tomatoes need full sun and deep watering twice a week during the summer."

QUESTIONS = [
    # found at rank 1, right speaker, right time
    {"id": "q1", "question": "How is trust built through small promises?", "category": "speaker",
     "gold": [{"file": "ep.txt", "quote": "Trust is built slowly through many small promises that are kept"}],
     "speaker": "Alice", "timestamp": "00:00:30", "answerable": True},
    # found at rank 1, but the expected speaker and time are wrong
    {"id": "q2", "question": "Does the deployment pipeline ship code to production twenty times a day?",
     "category": "speaker", "gold": [{"file": "ep.txt", "quote": "ships code to production twenty times a day"}],
     "speaker": "Carol", "timestamp": "00:30:00", "answerable": True},
    # the gold quote is nowhere in the corpus: a miss, and the answer cites something else
    {"id": "q3", "question": "Why do remote teams need written decisions so nobody depends on hallway conversations?",
     "category": "paraphrase", "gold": [{"file": "x.txt", "quote": "the moon is made of green cheese say the old tales"}],
     "speaker": None, "timestamp": None, "answerable": True},
    {"id": "q4", "question": "Which violin concerto did Paganini compose in 1817?", "category": "unanswerable",
     "gold": [], "speaker": None, "timestamp": None, "answerable": False},
]


def build_kb() -> KnowledgeBase:
    """An episode with three timed turns and a notes file, committed through the product's ingest path."""
    kb = KnowledgeBase(get_settings())
    source = "\n\n".join(t for *_, t in TURNS)
    segs, pos = [], 0
    for speaker, start, end, text in TURNS:
        at = source.index(text, pos)
        segs.append(Segment(text=text, char_start=at, char_end=at + len(text), speaker=speaker,
                            kind=Kind.transcript, start=start, end=end))
        pos = at + len(text)
    ep = Document(id="ep", title="Trust at Work", source="ep.txt", kind=Kind.transcript, segments=segs,
                  speakers={"Alice": "Alice Moreau", "Bob": "Bob Tan"})
    notes = Document(id="notes", title="Garden", source="notes.md", kind=Kind.note,
                     segments=[Segment(text=NOTE, char_start=0, char_end=len(NOTE))])
    ingest_documents(kb.store, kb.embedder, [(ep, source, "/tmp/ep.txt"), (notes, NOTE, "/tmp/notes.md")], min_words=0)
    return kb


def write_questions(path: Path) -> Path:
    path.write_text("\n".join(json.dumps(q) for q in QUESTIONS) + "\n\n", encoding="utf-8")
    return path


def test_words_ignore_case_punctuation_quotes_and_markers():
    assert words("Hello, World! It’s [00:01:02] ‘fine’ [12:30]") == ["hello", "world", "its", "fine"]


def test_short_quote_must_appear_whole_and_in_order():
    assert quote_hits("keep it fun", "We always KEEP it, fun!")
    assert not quote_hits("keep it fun", "we keep it here and have fun")
    assert not quote_hits("", "anything")


def test_long_quote_needs_half_its_words_in_a_row():
    quote = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen"  # 14 words: 7 needed
    assert quote_hits(quote, "so one two three four five six seven and then more")
    assert not quote_hits(quote, "so one two three four five six and eight nine ten eleven twelve")


def test_seconds_reads_clock_strings_and_numbers():
    assert seconds("01:02:03") == 3723
    assert seconds("02:03") == 123
    assert seconds(90) == 90.0
    assert seconds("soon") is None and seconds(None) is None


def test_summary_uses_first_hit_rank_and_skips_unmeasured_figures():
    rows = [Row("a", "c", True, rank=1), Row("b", "c", True, rank=2), Row("c", "c", True, rank=None),
            Row("d", "c", True, rank=12)]
    s = summarize(rows, k=20)
    assert s["recall@1"] == 0.25 and s["recall@3"] == 0.5 and s["recall@10"] == 0.5 and s["recall@20"] == 0.75
    assert s["mrr@10"] == round((1 + 0.5) / 4, 3)  # rank 12 is past the MRR cut-off
    assert "speaker_ok" not in s and "ask_cites_gold" not in s and "ask_abstain_when_unanswerable" not in s


def test_load_questions_names_the_bad_line(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps(QUESTIONS[0]) + "\n{not json}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"q.jsonl:2"):
        load_questions(path)


def test_evaluate_over_a_tiny_knowledge_base(tmp_path):
    kb = build_kb()
    report = evaluate(kb, load_questions(write_questions(tmp_path / "q.jsonl")), k=5)
    rows = {r["id"]: r for r in report["rows"]}
    assert rows["q1"]["rank"] == 1 and rows["q1"]["speaker_ok"] is True and rows["q1"]["time_ok"] is True
    assert rows["q2"]["rank"] == 1 and rows["q2"]["speaker_ok"] is False and rows["q2"]["time_ok"] is False
    assert rows["q3"]["rank"] is None and rows["q3"]["speaker_ok"] is None
    assert [rows[q]["abstained"] for q in ("q1", "q2", "q3", "q4")] == [False, False, False, True]
    assert [rows[q]["cited_gold"] for q in ("q1", "q2", "q3")] == [True, True, False]

    overall = report["overall"]
    assert overall["n"] == 4
    assert overall["recall@1"] == overall["recall@5"] == overall["mrr@10"] == 0.667
    assert "recall@10" not in overall  # deeper than the k searched
    assert overall["coverage@k"] == 0.667
    assert overall["speaker_ok"] == 0.5 and overall["time_ok"] == 0.5
    assert overall["ask_cites_gold"] == 0.667 and overall["ask_false_abstain"] == 0.0
    assert overall["ask_abstain_when_unanswerable"] == 1.0
    assert report["by_category"]["speaker"]["recall@1"] == 1.0
    assert report["by_category"]["paraphrase"]["recall@5"] == 0.0
    assert report["missed"] == ["q3"]
    assert report["mode"] == get_settings().search_mode


def test_mode_changes_the_search_only(tmp_path):
    kb = build_kb()
    report = evaluate(kb, load_questions(write_questions(tmp_path / "q.jsonl")), k=5, mode="keyword", ask=False)
    assert report["mode"] == "keyword"
    assert report["overall"]["recall@1"] == 0.667
    assert all(r["abstained"] is None for r in report["rows"]) and "ask_cites_gold" not in report["overall"]
