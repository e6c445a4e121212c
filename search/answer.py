"""Extractive answers: the sentences of the top passages closest to the question, each with its citation.

No language model: sentences are scored by cosine similarity to the question with the same encoder, and the
answer abstains when even the best sentence is not close enough to the question.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ingest.sentences import split_sentences
from core.models import Answer, Citation, Hit

_PREFIX = re.compile(r"^[A-Z][\w’'.-]*(?: [A-Z][\w’'.-]*){0,2}: ")
NO_ANSWER = "The corpus does not seem to cover this question. The closest passages are listed below."


@dataclass
class AnswerPolicy:
    passages: int = 5  # passages the sentences are drawn from
    sentences: int = 3  # sentences in the answer
    min_words: int = 6  # shorter sentences carry too little to stand alone
    abstain_below: float = 0.45  # best sentence cosine under which the corpus does not answer
    keep_within: float = 0.12  # further sentences must be this close to the best one


def _candidates(hits: list[Hit], policy: AnswerPolicy) -> list[tuple[int, int, str]]:
    out = []
    for h_i, hit in enumerate(hits[: policy.passages]):
        for s_i, sent in enumerate(split_sentences(hit.text)):
            sent = _PREFIX.sub("", sent.strip())
            if len(sent.split()) >= policy.min_words:
                out.append((h_i, s_i, sent))
    return out


def build_answer(question: str, hits: list[Hit], encode: Callable[[list[str]], np.ndarray],
                 policy: AnswerPolicy | None = None) -> Answer:
    policy = policy or AnswerPolicy()
    cands = _candidates(hits, policy)
    if not cands:
        return Answer(question=question, answer=NO_ANSWER, abstained=True, citations=[], closest=hits)
    vecs = encode([question] + [s for _, _, s in cands])
    sims = vecs[1:] @ vecs[0]
    # a passage's rank is evidence too: favour sentences from passages both rankers liked
    scores = sims + np.array([0.02 * (policy.passages - h) / policy.passages for h, _, _ in cands])
    best = float(sims.max())
    if best < policy.abstain_below:
        return Answer(question=question, answer=NO_ANSWER, abstained=True, citations=[], closest=hits)
    order = [i for i in np.argsort(-scores) if scores[i] >= scores.max() - policy.keep_within][: policy.sentences]
    order.sort(key=lambda i: (cands[i][0], cands[i][1]))  # read in passage order
    numbers: dict[int, int] = {}
    parts = []
    for i in order:
        h_i, _, sent = cands[i]
        n = numbers.setdefault(h_i, len(numbers) + 1)
        parts.append(f"{sent} [{n}]")
    citations = [
        Citation(n=n, chunk_id=hits[h].chunk_id, text=hits[h].text, speaker=hits[h].speaker, start=hits[h].start,
                 end=hits[h].end, episode=hits[h].episode, source=hits[h].source, char_start=hits[h].char_start,
                 char_end=hits[h].char_end, themes=hits[h].themes)
        for h, n in sorted(numbers.items(), key=lambda x: x[1])
    ]
    return Answer(question=question, answer=" ".join(parts), abstained=False, citations=citations)
