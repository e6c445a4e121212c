"""The reader's training data (bench/reader_data.py, issue 16): turns, hosts, question -> answer pairs and the
seeded split, on tiny Changelog-style transcripts written here (no shared corpus, no network)."""
from __future__ import annotations

from pathlib import Path

import pytest

@pytest.fixture(scope="module")
def rd(bench_module):
    return bench_module("reader_data")


ANSWER = ("We moved the whole build to a single static binary, so nobody needs the right runtime installed, "
          "and it starts instantly, which matters for a tool you run a hundred times a day on every commit.")


def episode_text(guest: str, extra: str = "") -> str:
    return "\n\n".join([
        "**Adam:** Welcome to the show. Today we talk about command-line tools.",
        f"**{guest}:** Thanks for having me, it is great to be here.",
        "**Adam:** So tell me, \\[04:22\\] why did you pick [Go](https://go.dev) for the CLI instead of Python?",
        f"**{guest}:** {ANSWER}",
        "A second paragraph without a speaker continues the same turn.",
        "**Adam:** Interesting. That makes sense.",
        f"**{guest}:** {ANSWER} Also, we liked the tooling.",
        "**Break:** This episode is brought to you by a sponsor with a long message about their product today.",
        "**Adam:** And what is next?",
        f"**{guest}:** Too short to count.",
        extra,
    ])


def write_show(root: Path, show: str, n: int) -> list[Path]:
    (root / show).mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        p = root / show / f"{show}-{i}.md"
        p.write_text(episode_text(f"Guest{i}"), encoding="utf-8")
        paths.append(p)
    return paths


def test_turns_are_parsed_and_cleaned(rd, tmp_path):
    [path] = write_show(tmp_path, "gotime", 1)
    ep = rd.parse_episode(path)
    assert ep.id == "gotime/gotime-0" and ep.show == "gotime"
    assert [t.speaker for t in ep.turns][:4] == ["Adam", "Guest0", "Adam", "Guest0"]
    question = ep.turns[2].text
    assert "[04:22]" not in question and "\\" not in question and "https" not in question
    assert "pick Go for the CLI" in question  # a link keeps its text
    assert ep.turns[3].text.endswith("continues the same turn.")  # an unnamed paragraph continues the turn


def test_hosts_are_the_recurring_speakers(rd, tmp_path):
    write_show(tmp_path, "gotime", 5)
    hosts = rd.hosts_by_show(rd.load_episodes(tmp_path))
    assert hosts["gotime"] == {"Adam", "Break"}  # Break recurs too, but is never a guest (is_speaker)
    assert not rd.is_speaker("Break")


def test_pairs_are_a_host_question_then_a_guest_answer_of_substance(rd, tmp_path):
    write_show(tmp_path, "gotime", 5)
    eps = rd.load_episodes(tmp_path)
    hosts = rd.hosts_by_show(eps)
    pairs = rd.episode_pairs(eps[0], hosts["gotime"])
    assert len(pairs) == 1  # "That makes sense." is no question; "Too short to count." is no answer
    p = pairs[0]
    assert p.question.endswith("instead of Python?") and p.answer.startswith("We moved the whole build")
    assert p.guest == "Guest0" and p.id == f"{eps[0].id}#3" and p.turn == 3
    answers = rd.guest_answers(eps[0], hosts["gotime"])
    assert [i for i, _, _ in answers] == [3, 5]  # every guest turn of >= 25 words, the sponsor break excluded


def test_question_and_answer_are_bounded(rd):
    long_q = " ".join(["This is context the host gives first."] * 20) + " So what did you do next?"
    q = rd.question_of(long_q)
    assert q.endswith("what did you do next?") and len(q.split()) <= rd.MAX_QUESTION_WORDS + 10
    assert rd.question_of("No question here.") is None
    assert rd.question_of("Why?") is None  # fewer than four words
    assert len(rd.answer_of("word " * 500).split()) == rd.MAX_ANSWER_WORDS
    assert rd.answer_of("too short") is None


def test_split_is_seeded_disjoint_and_order_free(rd):
    eps = [f"show/ep-{i}" for i in range(400)]
    qids = [str(i) for i in range(300)]
    a, b = rd.make_split(eps, qids), rd.make_split(list(reversed(eps)), list(reversed(qids)))
    assert a == b
    test, dev = set(a["changelog"]["test_episodes"]), set(a["changelog"]["dev_episodes"])
    assert test and dev and not test & dev
    assert 0.05 < len(test) / len(eps) < 0.15
    assert not set(a["scifact"]["test_qids"]) & set(a["scifact"]["dev_qids"])


def test_bm25_finds_the_matching_text(rd):
    pytest.importorskip("bm25s")
    pytest.importorskip("Stemmer")
    bm = rd.BM25(["the cat sat on the mat", "static binaries start instantly", "coffee in the hallway track"])
    docs, scores = bm.search(["why do static binaries start fast?"], 2)
    assert docs[0][0] == 1 and scores[0][0] > 0
