"""How well each excerpt answers the question.

Three kinds of evidence, added with weights fitted on labelled answers (`bench/fit_excerpt_scorer.py`: logistic
regression over every candidate excerpt of the tuning questions, gold or not): how close the excerpt's sentences
are in meaning to the question (cosine, same encoder as search, averaged over the excerpt), how much of the
question's vocabulary the excerpt covers (weighted by rarity: the words that make the question specific), and how
far its passage's search score is behind the best passage's (the ranking also weighs BM25, sentence windows and
neighbouring passages, which one sentence cannot see; a score gap says more than a rank, since the fused scores
are in standard deviations).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from search.answer.excerpts import Excerpt, Unit
from search.query import query_terms
from text.stems import stem_words, stems

# fitted by bench/fit_excerpt_scorer.py (bench/results/excerpt_scorer.json), relative to the weight of meaning
LEXICAL_WEIGHT = 0.58  # per unit of IDF-weighted question-word coverage (0 to 1)
PASSAGE_WEIGHT = 0.14  # per standard deviation the passage's fused search score is behind the best passage's
KIND_WEIGHT = 0.13  # when the excerpt holds the kind of answer the question asks for (a number, a date, a name…)

Encode = Callable[[list[str]], np.ndarray]


@dataclass
class Sentences:
    """Per unit: its vector, its cosine to the question, the question words it holds (IDF-weighted shares)."""

    vectors: np.ndarray
    similarity: np.ndarray
    terms: list[dict[str, float]]
    behind: np.ndarray  # how far its passage's search score is behind the best passage's (>= 0)
    voiced: list[dict[str, float]] | None = None  # question words in the name of who says it (see score_sentences)
    holds: np.ndarray | None = None  # whether it holds the kind of answer the question asks for, if it asks for one

    def coverage(self, ids: range) -> float:
        held: dict[str, float] = {}
        for i in ids:
            held.update(self.terms[i])
            if self.voiced:
                held.update(self.voiced[i])
        return sum(held.values())

    def answers(self, ex: Excerpt) -> bool:
        """Whether the excerpt holds the kind of answer the question asks for (True if it asks for none)."""
        return self.holds is None or bool(self.holds[ex.first:ex.last + 1].any())

    def features(self, ex: Excerpt) -> tuple[float, float, float, float]:
        """(meaning, coverage, behind, kind): the evidence `total` weighs, apart (bench/fit_excerpt_scorer.py fits
        on it). `kind` is 1 for an excerpt that holds the kind of answer the question asks for, else 0."""
        ids = range(ex.first, ex.last + 1)
        kind = float(self.holds is not None and self.answers(ex))
        return float(self.similarity[ids.start:ids.stop].mean()), self.coverage(ids), float(self.behind[ex.key]), kind

    def total(self, ex: Excerpt) -> float:
        meaning, coverage, behind, kind = self.features(ex)
        return meaning + LEXICAL_WEIGHT * coverage - PASSAGE_WEIGHT * behind + KIND_WEIGHT * kind


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


def score_sentences(question: str, us: list[Unit], passage_scores: list[float], encode: Encode,
                    idf: Callable[[str], float] | None = None, said_by: list[str] | None = None,
                    ignore_names: bool = False, holds: list[bool] | None = None) -> Sentences:
    """Every unit encoded once, with the question, in one batch. `passage_scores`: the search score of each
    passage the units come from.

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
    if holds is not None and wanted:
        # a number or a name answers only in a sentence about what is asked (it says one of the question's words):
        # "Audible" in a line about audiobooks is no band's name, though it is a name
        holds = [h and bool(t) for h, t in zip(holds, terms)]
    best = max(passage_scores, default=0.0)
    behind = np.array([best - passage_scores[u.passage] for u in us], dtype=float)
    voiced = None
    if wanted and said_by:
        names = {name: set(stems(name)) for name in set(said_by)}
        voiced = [{t: w for t, w in wanted.items() if t in names[name]} for name in said_by]
    return Sentences(vectors=vectors, similarity=vectors @ q, terms=terms, behind=behind, voiced=voiced,
                     holds=None if holds is None else np.array(holds, dtype=bool))
