"""Blind judging: the judge's file names no version, and the report unblinds each verdict to the right one."""
from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def judging(bench_module):
    return bench_module("judging")


def reply(text: str) -> dict:
    return {"answer": text, "abstained": False, "citations": []}


def write(path: Path, answers: dict[str, str]) -> Path:
    rows = [{"id": qid, "question": f"question {qid}?", "answerable": qid != "q3",
             "gold": [{"quote": "gold"}] if qid != "q3" else [], "reply": reply(text)} for qid, text in answers.items()]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_pairs_are_blind_and_the_report_unblinds_them(judging, tmp_path):
    ids = ["q1", "q2", "q3", "q4"]
    a = write(tmp_path / "a.jsonl", {q: f"OLD answer to {q}" for q in ids})
    b = write(tmp_path / "b.jsonl", {q: f"NEW answer to {q}" for q in ids})
    pairs, key = tmp_path / "pairs.jsonl", tmp_path / "key.json"
    judging.pair(a, b, ["old", "new"], pairs, key, seed=3)
    text = pairs.read_text()
    assert '"old"' not in text and '"new"' not in text  # the judge's file never names a version
    order = json.loads(key.read_text())
    assert {v["X"] for v in order.values()} == {"old", "new"}  # both orders occur with this seed
    # a judge who prefers the NEW answers, wherever they stand
    verdicts = []
    for row in map(json.loads, pairs.read_text().splitlines()):
        score = {slot: {"correct": 2 if "NEW" in row[slot] else 0, "useful": 5 if "NEW" in row[slot] else 1,
                        "noise": 0 if "NEW" in row[slot] else 3, "why": ""} for slot in ("X", "Y")}
        verdicts.append({"id": row["id"], **score})
    (tmp_path / "verdicts.jsonl").write_text("".join(json.dumps(v) + "\n" for v in verdicts))
    score = tmp_path / "score.json"
    score.write_text(json.dumps({"rows": [{"id": "q1", "answerable": True, "rank": 2},
                                          {"id": "q2", "answerable": True, "rank": 9},
                                          {"id": "q4", "answerable": True, "rank": None}]}))
    out = judging.report(pairs, tmp_path / "verdicts.jsonl", key, judging.retrieved_in_top(score))
    assert out["new"]["useful_answerable"] == 5 and out["old"]["useful_answerable"] == 1
    assert out["new"]["more_useful_than_the_other"] == 4 and out["old"]["noise_per_answer"] == 3
    assert out["new"]["answerable"] == 3 and out["new"]["unanswerable"] == 1
    assert out["new"]["gold_in_top_5"]["n"] == 1  # only q1's gold was in the top 5
