"""How well each sentence, and each excerpt grown around one, answers the question.

Three kinds of evidence, added: how close the key sentence's meaning is to the question (cosine, same encoder as
search), how much of the question's vocabulary the excerpt covers (weighted by rarity: the words that make the
question specific), and how well its passage ranked (the ranking also weighs BM25, sentence windows and
neighbouring passages, which one sentence cannot see).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from search.answer.excerpts import Excerpt, Unit
from search.query import query_terms
from text.stems import stem_words, stems

LEXICAL_WEIGHT = 0.2  # weight of IDF-weighted question-word coverage
RANK_WEIGHT = 0.1  # weight of the passage's place in the ranking (1 for the first passage, 0 for the last)

Encode = Callable[[list[str]], np.ndarray]


@dataclass
class Sentences:
    """Per unit: its vector, its cosine to the question, the question words it holds (IDF-weighted shares)."""

    vectors: np.ndarray
    similarity: np.ndarray
    terms: list[dict[str, float]]
    prior: np.ndarray  # its passage's place in the ranking, 1 (first) to 0 (last)
    voiced: list[dict[str, float]] | None = None  # question words in the name of who says it (see score_sentences)

    def coverage(self, ids: range) -> float:
        held: dict[str, float] = {}
        for i in ids:
            held.update(self.terms[i])
            if self.voiced:
                held.update(self.voiced[i])
        return sum(held.values())

    def fit(self, ex: Excerpt) -> float:
        """How well the excerpt itself answers: its key sentence's meaning, all its sentences' words."""
        return float(self.similarity[ex.key]) + LEXICAL_WEIGHT * self.coverage(range(ex.first, ex.last + 1))

    def total(self, ex: Excerpt) -> float:
        return self.fit(ex) + RANK_WEIGHT * float(self.prior[ex.key])


def question_terms(question: str, idf: Callable[[str], float]) -> dict[str, float]:
    """The question's content words, by stem, with their share of its total IDF weight (the IDF of the word as
    asked: the index stems it its own way)."""
    words = query_terms(question)
    by_stem: dict[str, str] = {}
    for word, stem in zip(words, stem_words(words)):
        by_stem.setdefault(stem, word)
    weights = {stem: idf(word) for stem, word in by_stem.items()}
    total = sum(weights.values())
    return {t: w / total for t, w in weights.items()} if total else {}


def without_names(question: str, names: list[str]) -> str:
    """The question without the words of these people's names ("What did Bruce Wang do when…" -> "What did do
    when…"): what it asks apart from whom it asks about. Matched as capitalised, so a speaker called Will leaves
    "how will…" alone."""
    words = {w for name in names for w in re.findall(r"\w+", name) if len(w) > 2 and w[0].isupper()}
    if not words:
        return question
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(words))) + r")(?:['’]s)?\b")
    return re.sub(r"\s+", " ", pattern.sub("", question)).strip()


def score_sentences(question: str, us: list[Unit], passages: int, encode: Encode,
                    idf: Callable[[str], float] | None = None, said_by: list[str] | None = None,
                    ignore_names: bool = False) -> Sentences:
    """Every unit encoded once, with the question, in one batch.

    `said_by`: per unit, the name of who says it. The answer shows that name beside every excerpt, so the name is
    no evidence that an excerpt answers: a question word that names a speaker counts for all of their excerpts
    alike, and (with `ignore_names`, for questions not about who someone is) the question's meaning is compared
    without it. Otherwise the sentence where they say their own name ("Hey, I'm Bruce Wang…") outscores what they
    said about the question."""
    meaning = without_names(question, sorted(set(said_by or []))) if ignore_names else question
    vecs = encode([meaning] + [u.text for u in us])
    q, vectors = vecs[0], vecs[1:]
    wanted = question_terms(question, idf) if idf is not None else {}
    terms = [{t: w for t, w in wanted.items() if t in held} for held in (set(stems(u.text)) for u in us)] \
        if wanted else [{} for _ in us]
    prior = 1 - np.array([u.passage for u in us], dtype=float) / max(passages - 1, 1)
    voiced = None
    if wanted and said_by:
        names = {name: set(stems(name)) for name in set(said_by)}
        voiced = [{t: w for t, w in wanted.items() if t in names[name]} for name in said_by]
    return Sentences(vectors=vectors, similarity=vectors @ q, terms=terms, prior=prior, voiced=voiced)
