"""Composing the answer a person reads: a few key points, best first, each attributed inline, under a lead line
that says what the corpus offers.

One point per passage (breadth over repetition), no point that says what a better one already said, and only
points about as good as the best: a weak fifth point costs the reader more than it gives.
"""
from __future__ import annotations

import numpy as np

from core.models import Citation, Chunk, Hit, Kind, Point, SpeakerRole
from search.answer.excerpts import Excerpt
from search.answer.roles import Speakers
from text.clock import format_clock

# blind-judged answers: a fourth point held the gold for 2 of 70 questions; a third for 2 of the 21 fresh_f answers
# that had one, and without it those answers were preferred 8 to 2 (bench/README.md, round 7)
MAX_POINTS = 2
# a point scores at least the best point's score minus this: by the fitted scorer (bench/fit_excerpt_scorer.py,
# 4.4 log-odds per unit of score) its odds of holding the answer are at least about half the best point's
KEEP_WITHIN = 0.15
NEAREST = 3  # excerpts shown beside an abstention, as the closest passages were
DUPLICATE = 0.9  # cosine between two sentences above which they say the same thing
_NUMBERS = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]


def choose(cands: list[Excerpt], totals: list[float], vectors: np.ndarray, hits: list[Hit],
           anchored: list[bool] | None = None, allowed: list[bool] | None = None, most: int = MAX_POINTS,
           within: float = KEEP_WITHIN) -> list[int]:
    """Indices of the excerpts that become points, best first. `vectors` are the units' (sentences') vectors:
    two excerpts that share a sentence, or near enough the same one, are one point (a thread quotes an earlier
    comment; overlapping passages hold the same lines). `hits` are the passages, by rank.

    Every point after the first is `anchored`: its key sentence says one of the question's words. Closeness of
    meaning alone does not tell a sentence about the question from one about its neighbourhood (on the
    development sets, a later point's key-sentence cosine separated gold from other points no better than chance,
    AUC 0.60, and its score gap to the best point not at all, 0.51; whether it holds a question word, 0.71).

    A write-up speaks for an episode, in cleaner words than speech, so it often scores first; the episode's own
    words are what a citation in a podcast knowledge base is for. So a point from a write-up brings, right after
    it, the best excerpt of the same episode's conversation among the candidates, if there is one.

    `allowed`: the excerpts that may be points (those that hold the kind of answer the question asks for); the
    bar stays the best excerpt's score, allowed or not. `most` points, each within `within` of the best score."""
    order = [int(i) for i in np.argsort(-np.asarray(totals))]
    if not order:
        return []
    floor = totals[order[0]] - within
    chosen: list[int] = []

    def fits(i: int) -> bool:
        return ((allowed is None or allowed[i])
                and (not chosen or anchored is None or anchored[i])
                and all(cands[j].passage != cands[i].passage for j in chosen)
                and not any(_repeats(cands[i], cands[j], vectors) for j in chosen))

    def spoken_in(episode_id: str) -> list[int]:
        return [j for j in order if hits[cands[j].passage].kind == Kind.transcript
                and hits[cands[j].passage].episode.id == episode_id and fits(j)]

    for i in order:
        if len(chosen) >= most or totals[i] < floor:
            break
        if not fits(i):
            continue
        chosen.append(i)
        hit = hits[cands[i].passage]
        if hit.kind == Kind.summary and len(chosen) < most:
            chosen += spoken_in(hit.episode.id)[:1]
    return chosen


def nearest(cands: list[Excerpt], totals: list[float], vectors: np.ndarray, hits: list[Hit],
            most: int = NEAREST) -> list[int]:
    """For an abstention: the best excerpt of each of the closest passages, however far from the best, so that a
    person sees what the corpus holds near the question in whole content sentences, not a passage's first
    characters (which may be mid-sentence, or the host's welcome)."""
    return choose(cands, totals, vectors, hits, most=most, within=float("inf"))


def _repeats(a: Excerpt, b: Excerpt, vectors: np.ndarray) -> bool:
    return float((vectors[a.first:a.last + 1] @ vectors[b.first:b.last + 1].T).max()) >= DUPLICATE


def _count(n: int, noun: str) -> str:
    word = _NUMBERS[n] if n < len(_NUMBERS) else str(n)
    return f"{word} {noun}{'' if n == 1 else 's'}"


def lead(points: list[Point]) -> str:
    """"Three passages in two episodes answer this." (episodes: transcripts and their write-ups; the rest: notes)"""
    episodes = {p.citation.episode.id for p in points if p.citation.kind in (Kind.transcript, Kind.summary)}
    documents = {p.citation.episode.id for p in points} - episodes
    where = [_count(len(episodes), "episode")] if episodes else []
    if documents:
        where.append(_count(len(documents), "document"))
    passages = _count(len(points), "passage")
    verb = "answers" if len(points) == 1 else "answer"
    return f"{passages[0].upper()}{passages[1:]} in {' and '.join(where)} {verb} this."


def short_title(title: str, longest: int = 40) -> str:
    """A long episode title up to its colon or dash ("Cloud Infrastructure Leadership: What Changes When..." ->
    "Cloud Infrastructure Leadership"): the attribution repeats it on every point."""
    if len(title) <= longest:
        return title
    for sep in (": ", " – ", " — ", " - "):
        head = title.split(sep)[0]
        if 12 <= len(head) < len(title):
            return head
    return title


def attribution(c: Citation) -> str:
    """"Maria Bracho (guest, CTO for LATAM at Red Hat), in “Episode” at 00:12:24", "An unlabelled speaker, in
    “Episode” at 00:14:06" (a transcript without speaker labels) or "Notes, “Title”"."""
    who = c.who + (f" ({c.about})" if c.about else "")
    at = f" at {c.at}" if c.at else ""
    return f"{who}, in “{short_title(c.episode.title)}”{at}"


def citation(n: int, ex: Excerpt, hit: Hit, chunk: Chunk, speakers: Speakers) -> Citation:
    profile = speakers.get(chunk.episode_id, ex.speaker)
    part = profile.part if profile else None
    return Citation(
        n=n, chunk_id=hit.chunk_id, text=chunk.text, speaker=ex.speaker or hit.speaker,
        speaker_name=profile.full if profile else None,
        speaker_role=SpeakerRole(part) if part else None, speaker_title=profile.role if profile else None,
        start=hit.start, end=hit.end, at=format_clock(ex.seconds), episode=hit.episode, kind=hit.kind,
        source=hit.source, char_start=hit.char_start, char_end=hit.char_end, quote=ex.quote,
        quote_char_start=ex.char_start, quote_char_end=ex.char_end, themes=hit.themes)


def points(chosen: list[int], cands: list[Excerpt], hits: list[Hit], passages: list[Chunk],
           speakers: Speakers) -> list[Point]:
    out = []
    for n, i in enumerate(chosen, 1):
        ex = cands[i]
        out.append(Point(text=ex.text, citation=citation(n, ex, hits[ex.passage], passages[ex.passage], speakers)))
    return out


def plain_text(lead_line: str, pts: list[Point]) -> str:
    """The answer as plain text: the lead line, then one numbered, attributed point a line."""
    lines = [lead_line, ""]
    lines += [f"{p.citation.n}. {attribution(p.citation)}: “{p.text}” [{p.citation.n}]" for p in pts]
    return "\n".join(lines)
