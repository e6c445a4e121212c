"""Sentence roles in context: the kind a sentence's words give it (text.sentence_kinds), refined by who says it
and where in the episode.

What words alone cannot tell:
- a question mark does not make an asking. A question is asked when it hands the floor over: it ends the turn of
  someone other than a guest. A question a speaker goes on to answer, or a guest's "...you need to lead the team
  through, right?", is part of what they say (content);
- a host's turn that ends in a question is the asking, preamble included ("For many, Red Hat is synonymous with
  open source... Could you explain?");
- everything the host says before a guest first speaks is the introduction ("Maria brings over two decades of
  experience..."), even when the turn ends in the first question: an opening can run for minutes (the guest's
  career, a sponsor read) before it hands over.
"""
from __future__ import annotations

from collections.abc import Iterator

from core.models import Chunk, Document, Sentence, SentenceRole, SpeakerRole
from text.sentence_kinds import sentence_kinds

_REGULARS = {SpeakerRole.host, SpeakerRole.co_host}


def assign_roles(doc: Document, chunks: list[Chunk]) -> None:
    """Set `role` on every sentence of the episode's chunks (in place)."""
    sentences = [(c, s) for c in chunks for s in c.sentences]
    kinds = sentence_kinds([c.sentence_text(s) for c, s in sentences])
    for (_, s), kind in zip(sentences, kinds):
        s.role = kind
    parts = doc.speaker_roles or {}
    guests_heard = False
    for turn in _turns([s for _, s in sentences]):
        part = parts.get(turn[0].speaker)
        opening = part in _REGULARS and not guests_heard and SpeakerRole.guest in parts.values()
        _asking(turn, part, preamble=not opening)
        if part == SpeakerRole.guest:
            guests_heard = True
        elif opening:
            for s in turn:
                if s.role == SentenceRole.content:
                    s.role = SentenceRole.introduction


def _turns(sentences: list[Sentence]) -> Iterator[list[Sentence]]:
    """Runs of consecutive sentences by one speaker (a note without speakers is one turn)."""
    turn: list[Sentence] = []
    for s in sentences:
        if turn and s.speaker != turn[-1].speaker:
            yield turn
            turn = []
        turn.append(s)
    if turn:
        yield turn


def _asking(turn: list[Sentence], part: SpeakerRole | None, preamble: bool = True) -> None:
    """Which of a turn's sentences ask: the question that ends a non-guest's turn, and, for a host or co-host,
    their other questions of that turn (and for a host, the whole turn, unless `preamble` is False: before the
    guest speaks, what the host says is the introduction, however the turn ends); every other question is said,
    not asked."""
    said = [s for s in turn if s.role != SentenceRole.filler] or turn  # "...can you share? Hmm." still asks
    asks = part != SpeakerRole.guest and said[-1].role == SentenceRole.question
    for s in said[:-1] if asks else said:
        if s.role == SentenceRole.question and not (asks and part in _REGULARS):
            s.role = SentenceRole.content
        elif s.role == SentenceRole.content and asks and part == SpeakerRole.host and preamble:
            s.role = SentenceRole.question
