"""Theme tagging: each passage gets a score per theme from (a) embedding similarity of its stored vector to the
theme's description and exemplars and (b) lemma matches of the theme's seed phrases; the matches are kept as the
reason a passage carries a theme. Passage vectors are never recomputed here, only the few theme prototypes."""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from search.embedding import Embedder
from search.lemmas import PhraseMatcher, lemma_texts
from search.taxonomy import Taxonomy, Theme

KEY_WEIGHT = 3  # a key phrase ("delegate" for letting go) is worth three ordinary seed occurrences


@dataclass
class ThemeScore:
    theme: str
    score: float
    similarity: float
    matched: Counter[str] = field(default_factory=Counter)

    def reasons(self) -> list[str]:
        """Matched seed phrases, most frequent first: what a user sees as "why"."""
        return [p for p, _ in self.matched.most_common()]


class ThemeTagger:
    """Scores texts against a taxonomy; theme prototypes are embedded once per tagger with the passage encoder."""

    def __init__(self, taxonomy: Taxonomy, embedder: Embedder):
        self.taxonomy, self.embedder = taxonomy, embedder
        self.matchers = {t.name: PhraseMatcher([*t.key_phrases, *t.seeds]) for t in taxonomy.theme}
        self.key = {t.name: set(t.key_phrases) for t in taxonomy.theme}
        self._protos: dict[str, tuple[np.ndarray, np.ndarray]] | None = None

    def prototypes(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """theme -> (prototype matrix, normalised centroid) from the description and exemplars."""
        if self._protos is None:
            texts = [[t.description, *t.exemplars] for t in self.taxonomy.theme]
            flat = self.embedder.encode([x for group in texts for x in group])
            self._protos, i = {}, 0
            for t, group in zip(self.taxonomy.theme, texts, strict=True):
                mat = flat[i:i + len(group)]
                i += len(group)
                centroid = mat.mean(axis=0)
                self._protos[t.name] = (mat, centroid / (np.linalg.norm(centroid) or 1.0))
        return self._protos

    def _weights(self, t: Theme) -> tuple[float, float]:
        s = self.taxonomy.scoring
        return (s.embed_weight if t.embed_weight is None else t.embed_weight,
                s.phrase_weight if t.phrase_weight is None else t.phrase_weight)

    def score(self, texts: list[str], vectors: np.ndarray,
              windows: list[np.ndarray | None] | None = None) -> list[list[ThemeScore]]:
        """Every theme's score for every text (vectors: the texts' stored, L2-normalised embeddings; windows: each
        text's stored sentence-window vectors, or None, so a theme carried by one part of a long passage counts)."""
        if not texts:
            return []
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)
        all_lemmas = lemma_texts(texts)
        sat = self.taxonomy.scoring.phrase_saturation
        out: list[list[ThemeScore]] = [[] for _ in texts]
        scoring = self.taxonomy.scoring
        sim = {name: self._blend(_similarity(vectors, mat, centroid), windows, mat, centroid, scoring.window_weight)
               for name, (mat, centroid) in self.prototypes().items()}
        offset = scoring.contrast * (np.mean(list(sim.values()), axis=0) - scoring.contrast_center)
        for t in self.taxonomy.theme:
            sims = sim[t.name]
            w_embed, w_phrase = self._weights(t)
            for i, lem in enumerate(all_lemmas):
                matched = self.matchers[t.name].match(lem)
                hits = sum(n * (KEY_WEIGHT if p in self.key[t.name] else 1) for p, n in matched.items())
                phrase = 1.0 - math.exp(-hits / sat)
                score = w_embed * (sims[i] - offset[i]) + w_phrase * phrase
                out[i].append(ThemeScore(t.name, float(score), float(sims[i]), matched))
        return out

    @staticmethod
    def _blend(sims: np.ndarray, windows: list[np.ndarray | None] | None, mat: np.ndarray, centroid: np.ndarray,
               weight: float) -> np.ndarray:
        """Mix each passage's own similarity with the mean of its two best sentence windows: a whole-passage
        vector dilutes a theme that one or two sentences carry. Passages without windows keep their own."""
        if not windows or weight <= 0:
            return sims
        out = sims.copy()
        for i, win in enumerate(windows):
            if win is not None and len(win):
                best = np.sort(_similarity(np.asarray(win, dtype=np.float32), mat, centroid))[::-1][:2]
                out[i] = (1.0 - weight) * sims[i] + weight * float(best.mean())
        return out

    def tag(self, texts: list[str], vectors: np.ndarray,
            windows: list[np.ndarray | None] | None = None) -> list[list[ThemeScore]]:
        """Only the themes each text carries (score at or above the theme's threshold), strongest first."""
        return [sorted((s for s in row if self.carries(s)), key=lambda s: -s.score)
                for row in self.score(texts, vectors, windows)]

    def carries(self, s: ThemeScore) -> bool:
        """A passage carries a theme when its score clears the threshold and enough seed phrases occur in it."""
        t = self.taxonomy.get(s.theme)
        return s.score >= self.taxonomy.threshold(t) and sum(s.matched.values()) >= self.taxonomy.min_matches(t)


def _similarity(vectors: np.ndarray, mat: np.ndarray, centroid: np.ndarray) -> np.ndarray:
    """Mean of the best single-prototype cosine and the centroid cosine: one close exemplar counts, but so does
    being near the theme as a whole."""
    return 0.5 * ((vectors @ mat.T).max(axis=1) + vectors @ centroid)
