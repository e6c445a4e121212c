"""Sentence roles in context: the kind a sentence's words give it (text.sentence_kinds), refined by who says it
and where in the episode.

Two things words alone cannot tell: everything the host says before a guest first speaks is the introduction
("Maria brings over two decades of experience..."), and a host's turn that ends in a question is the asking,
preamble included ("For many, Red Hat is synonymous with open source... Could you explain?").
"""
from __future__ import annotations

from core.models import Chunk, Document, SentenceRole, SpeakerRole
from text.sentence_kinds import sentence_kinds

_REGULARS = {SpeakerRole.host, SpeakerRole.co_host}


def assign_roles(doc: Document, chunks: list[Chunk]) -> None:
    """Set `role` on every sentence of the episode's chunks (in place)."""
    sentences = [(c, s) for c in chunks for s in c.sentences]
    kinds = sentence_kinds([c.text[s.start:s.end] for c, s in sentences])
    for (_, s), kind in zip(sentences, kinds):
        s.role = kind
    parts = doc.speaker_roles
    if not parts:
        return
    guests_heard = False
    turn: list = []  # the sentences of the current speaker's turn, in order
    for _, s in sentences + [(None, None)]:
        if s is None or (turn and s.speaker != turn[-1].speaker):
            _close_turn(turn, parts)
            turn = []
        if s is None:
            break
        turn.append(s)
        if parts.get(s.speaker) == SpeakerRole.guest:
            guests_heard = True
        elif parts.get(s.speaker) in _REGULARS and not guests_heard and SpeakerRole.guest in parts.values() \
                and s.role == SentenceRole.content:
            s.role = SentenceRole.introduction


def _close_turn(turn: list, parts: dict[str, SpeakerRole]) -> None:
    """A host's turn that ends in a question is all asking."""
    if turn and parts.get(turn[0].speaker) == SpeakerRole.host and turn[-1].role == SentenceRole.question:
        for s in turn:
            if s.role == SentenceRole.content:
                s.role = SentenceRole.question
