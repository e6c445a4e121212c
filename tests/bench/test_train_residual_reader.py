"""The third reader's dev figures (bench/train_residual_reader.py): MRR@10 and binary nDCG@10 over lists of
positives and negatives, the numbers that pick its checkpoint."""
from __future__ import annotations

import math

import pytest


@pytest.fixture(scope="module")
def trr(bench_module):
    return bench_module("train_residual_reader")


LISTS = [
    {"query": "q1", "positive": ["right"], "negative": ["a", "b"]},
    {"query": "q2", "positive": ["right", "also right"], "negative": ["c"]},
]


def test_a_positive_ranked_second_scores_half(trr):
    scores = {"a": 3.0, "right": 2.0, "b": 1.0, "also right": 0.5, "c": 1.0}
    got = trr.dev_figures(lambda q, ps: [scores[p] for p in ps], LISTS)
    # q1: the positive is 2nd -> RR 1/2, nDCG 1/log2(3); q2: 1st is "right" -> RR 1, "c" beats "also right"
    ndcg_q2 = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert got["mrr@10"] == pytest.approx((0.5 + 1.0) / 2, abs=1e-4)
    assert got["ndcg@10"] == pytest.approx((1 / math.log2(3) + ndcg_q2) / 2, abs=1e-4)


def test_a_tie_goes_against_the_positive_and_a_missing_positive_scores_zero(trr):
    flat = trr.dev_figures(lambda q, ps: [0.0] * len(ps), LISTS)
    assert flat["mrr@10"] == pytest.approx((1 / 3 + 1 / 2) / 2, abs=1e-4)  # a constant scorer is not perfect
    assert trr.dev_figures(lambda q, ps: [0.0] * len(ps), [{"query": "q", "positive": [], "negative": ["x"]}]) \
        == {"mrr@10": 0.0, "ndcg@10": 0.0}
