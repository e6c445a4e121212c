"""Themes through the reader (bench/themes_reader.py, issue 16 item 4): questions come from the taxonomy, and the
train-split threshold honours the precision floor before F1."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def tr(bench_module):
    return bench_module("themes_reader", "_env", "themes")


def test_questions_come_from_the_theme_itself(tr):
    qs = tr.questions("Letting go", "handing work and decisions to others")
    assert qs == ["Is this about letting go? handing work and decisions to others",
                  "handing work and decisions to others"]


def test_threshold_prefers_the_precision_floor(tr):
    scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
    gold = [True, True, False, True, True, False]
    # without a floor, 0.5 keeps all four positives and one false one (F1 0.889)
    assert tr.fit_threshold(scores, gold, 0.0) == 0.5
    # with precision >= 0.9 required, only 0.8 (two of two right) qualifies among the best
    assert tr.fit_threshold(scores, gold, 0.9) == 0.8


def test_threshold_above_every_score_when_nothing_is_positive(tr):
    assert tr.fit_threshold([0.2, 0.1], [False, False], 0.0) > 0.2
