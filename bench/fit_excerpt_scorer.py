"""Fit the weights of the excerpt scorer (search/answer/score.py) on labelled answers.

Every candidate excerpt of every answerable tuning question (`dev.jsonl` and the non-fresh `bench/data` sets) is a
row: its four features (`Sentences.features`: mean cosine of its sentences to the question, IDF-weighted
question-word coverage, how far its passage's fused search score is behind the best passage's, whether it holds
the kind of answer the question asks for: a number, a date, a name…) and whether it holds a gold quote. A logistic regression (scikit-learn, balanced classes) fits them; the weights are reported
relative to the weight of meaning, the form `score.py` uses. Figures: how often the best-scored candidate holds
the gold, and how often one of the two best from different passages does (an answer has at most two points),
for the shipped weights, the fitted ones (5-fold cross-validation on tuning) and on the held-out fresh sets,
which the fit never sees.

    .venv/bin/python bench/fit_excerpt_scorer.py [--data-dir .kb] [--out bench/results/excerpt_scorer.json]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from _env import FRESH_SETS, RESULTS, TUNING_SETS, code_version, machine, write_result  # noqa: E402
from api.evaluation import load_questions, quote_hits
from core.knowledge_base import KnowledgeBase
from core.settings import Settings
from search.answer import candidates
from search.answer.score import KIND_WEIGHT, LEXICAL_WEIGHT, PASSAGE_WEIGHT

FEATURES = ("meaning", "coverage", "behind", "kind")
SHIPPED = np.array([1.0, LEXICAL_WEIGHT, -PASSAGE_WEIGHT, KIND_WEIGHT])


def rows(kb: KnowledgeBase, paths: list[Path]) -> list[dict]:
    """Per answerable question whose gold some candidate holds: features, labels and passages of its candidates."""
    speakers = kb.speakers()
    out = []
    for path in paths:
        for q in load_questions(path):
            if not q.answerable:
                continue
            hits, chunks = kb.answer_passages(q.question)
            c = candidates(q.question, hits, chunks, kb.encode_texts, speakers, kb.store.idf)
            if not c.excerpts:
                continue
            gold = [any(quote_hits(g.quote, x.quote) for g in q.gold) for x in c.excerpts]
            if any(gold):
                out.append({"x": np.array([c.scored.features(x) for x in c.excerpts]), "y": np.array(gold),
                            "passage": [x.passage for x in c.excerpts]})
    return out


def hit_rates(data: list[dict], w: np.ndarray) -> dict:
    """Share of questions whose best candidate holds the gold, and whose two best from different passages do."""
    first = two = 0
    for q in data:
        order = np.argsort(-(q["x"] @ w), kind="stable")
        first += bool(q["y"][order[0]])
        seen: list[int] = []
        for i in order:
            if q["passage"][i] in seen:
                continue
            seen.append(q["passage"][i])
            if q["y"][i]:
                two += 1
                break
            if len(seen) == 2:
                break
    n = max(len(data), 1)
    return {"questions": len(data), "gold_first": round(first / n, 3), "gold_in_two": round(two / n, 3)}


def fit(data: list[dict]) -> tuple[float, np.ndarray]:
    """(log-odds per unit of `total`, weights relative to meaning): a gap of d in `total` between two excerpts
    is a factor exp(scale * d) in their odds of holding the answer (compose.KEEP_WITHIN reads it that way)."""
    x = np.vstack([q["x"] for q in data])
    y = np.concatenate([q["y"] for q in data])
    coef = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced").fit(x, y).coef_[0]
    return float(coef[0]), coef / coef[0]


def cross_validated(data: list[dict], folds: int = 5, seed: int = 15) -> dict:
    order = np.random.default_rng(seed).permutation(len(data))
    parts = np.array_split(order, folds)
    first = two = 0.0
    for part in parts:
        held = set(part.tolist())
        r = hit_rates([data[i] for i in part], fit([q for i, q in enumerate(data) if i not in held])[1])
        first += r["gold_first"] * len(part)
        two += r["gold_in_two"] * len(part)
    return {"gold_first": round(first / len(data), 3), "gold_in_two": round(two / len(data), 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path, help="an existing store (default: KB_DATA_DIR)")
    ap.add_argument("--out", type=Path, default=RESULTS / "excerpt_scorer.json")
    args = ap.parse_args()
    kb = KnowledgeBase(Settings(data_dir=args.data_dir) if args.data_dir else Settings())
    tuning, fresh = rows(kb, TUNING_SETS), rows(kb, FRESH_SETS)
    scale, fitted = fit(tuning)
    meaning_only = np.array([1.0, 0.0, 0.0, 0.0])
    result = {
        "machine": machine(), "code": code_version(), "features": FEATURES,
        "fitted": {f: round(float(w), 3) for f, w in zip(FEATURES, fitted)},
        "logit_per_unit_total": round(scale, 3),
        "shipped": {f: round(float(w), 3) for f, w in zip(FEATURES, SHIPPED)},
        "tuning": {"sets": [p.name for p in TUNING_SETS], "meaning_only": hit_rates(tuning, meaning_only),
                   "shipped": hit_rates(tuning, SHIPPED), "fitted_5fold": cross_validated(tuning)},
        "fresh": {"sets": [p.name for p in FRESH_SETS], "meaning_only": hit_rates(fresh, meaning_only),
                  "shipped": hit_rates(fresh, SHIPPED), "fitted": hit_rates(fresh, fitted)},
    }
    write_result(args.out, result)
    for k in ("fitted", "logit_per_unit_total", "shipped", "tuning", "fresh"):
        print(k, result[k])


if __name__ == "__main__":
    main()
