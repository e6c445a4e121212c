"""The bi-encoder benchmark's pooling (bench/biencoder.py, issue 16 part 3): MRR@10 and recalls over the answerable
questions of several sets, paraphrases apart."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load(name: str, file: str):
    spec = importlib.util.spec_from_file_location(name, BENCH / file)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def bi():
    # loaded by path (bench/ on sys.path would shadow the `ingest` package with bench/ingest.py); its `_env` too
    had = "_env" in sys.modules
    _load("_env", "_env.py")
    yield _load("biencoder_under_test", "biencoder.py")
    sys.modules.pop("biencoder_under_test", None)
    if not had:
        sys.modules.pop("_env", None)


def row(rank: int | None, category: str = "keyword", answerable: bool = True) -> dict:
    return {"rank": rank, "category": category, "answerable": answerable}


def test_pooled_counts_answerable_questions_only(bi):
    rows = [row(1), row(2, "paraphrase"), row(7, "paraphrase"), row(None, "paraphrase"), row(None, "offtopic", False)]
    out = bi.pooled(rows)
    assert out["n"] == 4
    assert out["mrr@10"] == round((1 + 1 / 2 + 1 / 7) / 4, 3)
    assert out["recall@5"] == 0.5 and out["recall@10"] == 0.75
    assert out["paraphrase_n"] == 3 and out["paraphrase_recall@10"] == round(2 / 3, 3)


def test_pooled_without_paraphrases_says_so(bi):
    out = bi.pooled([row(12), row(3)])
    assert out["mrr@10"] == round(1 / 3 / 2, 3)  # a rank past 10 counts nothing
    assert out["paraphrase_n"] == 0 and out["paraphrase_recall@10"] is None
