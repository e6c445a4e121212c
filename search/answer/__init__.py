"""Answers as stages a reader can follow, a module each:

    roles (what may be quoted) -> excerpts -> score -> abstain? -> compose (-> generate -> verify, if configured)

The default answer is extractive and offline: a lead line and a few key points, each one contiguous excerpt of
whole content sentences, attributed inline to who said it, in which episode, when.

A question that asks only who someone is ("Who is Tamar?") is answered by the excerpt that introduces them (their
own introduction, else the host's, else the write-up naming them): a name shares few words with an introduction,
so the closeness test that makes other questions abstain does not apply to it.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.models import Answer, Chunk, Hit, Kind, SentenceRole
from search.answer import abstain, compose
from search.answer.answer_type import Asked
from search.answer.abstain import NO_ANSWER, unknown_names
from search.answer.excerpts import MIN_WORDS, Excerpt, Unit, excerpt, grow, units
from search.answer.roles import Quotable, Speakers
from search.answer.score import Encode, Sentences, score_sentences

__all__ = ["NO_ANSWER", "Candidates", "Speakers", "build_answer", "candidates", "unknown_names", "with_generation"]

if TYPE_CHECKING:
    from search.answer.generate import Generation


@dataclass
class Candidates:
    """Every excerpt an answer could quote from the retrieved passages, with the evidence that scores it."""

    hits: list[Hit]  # the passages, best first (those whose text is at hand)
    passages: list[Chunk]
    said_by: list[str]  # per unit (quotable sentence), the name it is attributed under
    scored: Sentences | None  # None when no sentence is quotable
    keys: list[int]  # units that may be an excerpt's key sentence
    excerpts: list[Excerpt]  # one per key, grown around it
    asked: Asked  # what the question asks, without where it says to look, and the kind of answer it wants
    says_who: list[int]  # per excerpt, for "who is X?": 3 X introduces themselves, 2 is introduced, 1 write-up, 0


def candidates(question: str, hits: list[Hit], chunks: dict[int, Chunk], encode: Encode,
               speakers: Speakers | None = None, idf: Callable[[str], float] | None = None) -> Candidates:
    """Roles -> excerpts -> score: the stages before choosing (bench/fit_excerpt_scorer.py fits on their output)."""
    hits = [h for h in hits if h.chunk_id in chunks]
    passages = [chunks[h.chunk_id] for h in hits]
    speakers = speakers or Speakers({})
    quotable = Quotable(question, speakers)
    us = units(passages, quotable)
    said_by = [_speaker_name(speakers, passages[u.passage], u.sentence.speaker) for u in us]
    about_someone = SentenceRole.introduction in quotable.roles  # a who-is question: the name is what it asks
    # scored on what is asked, without "According to the essay on X, …": where to look is retrieval's part
    wants = Asked(question, [p.text for p in passages], speakers.full_names)
    holds = [wants.held_by(u.text, name) for u, name in zip(us, said_by)] if wants.kind else None
    scored = score_sentences(wants.what, us, [h.score for h in hits], encode, idf, said_by,
                             ignore_names=not about_someone, holds=holds) if us else None
    keys = [i for i, u in enumerate(us) if u.words >= MIN_WORDS or len(us) == 1]
    terms = [set(t) for t in scored.terms] if scored else []
    cands = [excerpt(*grow(k, us, scored.vectors, terms), k, us, passages) for k in keys] if scored else []
    says_who = [_says_who(x, us, said_by, hits, quotable) if about_someone else 0 for x in cands]
    return Candidates(hits=hits, passages=passages, said_by=said_by, scored=scored, keys=keys, excerpts=cands,
                      asked=wants, says_who=says_who)


def build_answer(question: str, hits: list[Hit], chunks: dict[int, Chunk], encode: Encode,
                 speakers: Speakers | None = None, in_corpus: Callable[[str], bool] | None = None,
                 idf: Callable[[str], float] | None = None) -> Answer:
    """The extractive answer from retrieved passages (`hits`, best first; `chunks` holds their sentences)."""
    speakers = speakers or Speakers({})
    c = candidates(question, hits, chunks, encode, speakers, idf)
    scored, cands = c.scored, c.excerpts

    totals = [scored.total(x) for x in cands] if scored else []

    def abstained(reason: str) -> Answer:
        near = compose.nearest(cands, totals, scored.vectors, c.hits) if cands else []
        return Answer(question=question, answer=NO_ANSWER, abstained=True, citations=[], closest=c.hits,
                      near=compose.points(near, cands, c.hits, c.passages, speakers), reason=reason)

    if any(c.says_who):  # "Who is Tamar?": her introduction answers it, however few words the question has
        return _answer(question, _best_introduction(c, totals), c, speakers)
    best = _closest(question, c, encode)
    reason = abstain.before_choosing(question, bool(c.keys), best, in_corpus)
    if reason:
        return abstained(reason)
    anchored = [bool(scored.terms[x.key]) for x in cands] if any(scored.terms) else None
    # a question that asks for a number, a date, a place or a name is answered only by excerpts that hold one; one
    # that also asks something more ("…, and where are they based?") by those first, else by the others
    kind = c.asked.kind
    chosen = compose.choose(cands, totals, scored.vectors, c.hits, anchored,
                            [scored.answers(x) for x in cands] if kind else None)
    if not chosen and kind and not c.asked.required:
        chosen = compose.choose(cands, totals, scored.vectors, c.hits, anchored)
    if not chosen:  # only a question that asks for a kind of answer can leave every excerpt out
        return abstained(f"it asks for a {kind.value if kind else 'kind of answer'} and no excerpt close enough "
                         "gives one")
    return _answer(question, chosen, c, speakers)


def _answer(question: str, chosen: list[int], c: Candidates, speakers: Speakers) -> Answer:
    points = compose.points(chosen, c.excerpts, c.hits, c.passages, speakers)
    lead = compose.lead(points)
    return Answer(question=question, answer=compose.plain_text(lead, points), abstained=False, lead=lead,
                  points=points, citations=[p.citation for p in points])


_FIRST_PERSON = re.compile(r"\b(?:I|I['’]m|[Mm]y|[Mm]e)\b")  # one's own introduction speaks in the first person


def _says_who(x: Excerpt, us: list[Unit], said_by: list[str], hits: list[Hit], quotable: Quotable) -> int:
    """How well an excerpt says who the person asked about is: 3 where they introduce themselves (or say their own
    name), 2 where someone introduces them by name, 1 where the episode's write-up names them, else 0."""
    best = 0
    for i in range(x.first, x.last + 1):
        u, theirs = us[i], quotable.asked_about(said_by[i])
        if theirs and ((u.sentence.role == SentenceRole.introduction and _FIRST_PERSON.search(u.text))
                       or quotable.says_their_name(u.text)):
            best = 3  # "I am Maria Bracho…", "Hey, I'm Bruce Wang" (not a host's "She began at Penguin…")
        elif u.sentence.role == SentenceRole.introduction and quotable.asked_about(u.text):
            best = max(best, 2)
        elif hits[u.passage].kind == Kind.summary and quotable.asked_about(u.text):
            best = max(best, 1)
    return best


def _best_introduction(c: Candidates, totals: list[float]) -> list[int]:
    """The excerpt that best says who the person asked about is: their own introduction first, then someone else's,
    then the write-up; among equals, the best scored (`totals`). One point: who they are is one answer, and the host
    introduces themselves in every episode."""
    return [max(range(len(c.excerpts)), key=lambda j: (c.says_who[j], totals[j]))]


def _closest(question: str, c: Candidates, encode: Encode) -> float:
    """The best key sentence's cosine to the whole question: whether the corpus is near what was asked, where to
    look included (the excerpts were scored on what is asked alone)."""
    if not c.scored or not c.keys:
        return 0.0
    sims = c.scored.similarity if c.asked.what == question else c.scored.vectors @ encode([question])[0]
    return float(max(sims[i] for i in c.keys))


def _speaker_name(speakers: Speakers, chunk: Chunk, short: str | None) -> str:
    """The name an excerpt is attributed under (full name when known): "" for notes and write-ups."""
    profile = speakers.get(chunk.episode_id, short)
    return profile.full if profile and profile.full else (short or "")


def with_generation(answer: Answer, gen: "Generation", closest: list[Hit]) -> Answer:
    """The extractive answer updated by what the language model gave: its verified sentences (the points stay, as
    the sources they cite), an abstention ("The corpus does not say.", then `closest` are shown), or nothing,
    with the reason."""
    if gen.status == "answered":
        return answer.model_copy(update={"answer": gen.answer, "generated": True, "reason": gen.reason})
    if gen.status == "abstained":
        return Answer(question=answer.question, answer=NO_ANSWER, abstained=True, citations=[], closest=closest,
                      near=answer.points, reason=gen.reason)
    return answer.model_copy(update={"reason": f"no generated answer: {gen.reason}"})
