"""The reader (search/reader_model.py, issue 16): refuses a file whose hash is not the recorded one, loads lazily,
never imports torch, scores deterministically and independently of batching, truncates long inputs.

Most tests run on a tiny stand-in model the test writes itself (tests/tiny_onnx.py: word-overlap scoring behind
the same ONNX interface), so they need neither the trained weights nor the network. The trained reader is not
shipped (it lost to the default ranking, see bench/README.md); the tests marked `weights` run on it only when a
folder holding it is named by KB_TEST_READER_DIR (e.g. bench/results/cache/reader/onnx after
bench/export_reader.py) or when search/weights/reader exists."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("tokenizers")

from search.reader_model import DEFAULT_DIR, ReaderError, ReaderModel  # noqa: E402
from tests.tiny_onnx import write_tiny_reader  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
WEIGHTS = Path(os.environ.get("KB_TEST_READER_DIR") or DEFAULT_DIR)
needs_weights = pytest.mark.skipif(not (WEIGHTS / "model.onnx").exists(), reason="trained reader weights not present")

CASES = [
    ("How do you keep a remote team aligned when people work in different time zones?",
     "We write everything down. Decisions go into a shared document first, so someone in another time zone can "
     "catch up the next morning without a meeting, and we keep one hour of overlap for the things that need a call.",
     "I started programming when I was twelve, on my dad's old computer, mostly making small games in BASIC and "
     "copying listings out of magazines."),
    ("Why did you choose Go for the command-line tool instead of Python?",
     "Mostly distribution. With Go we ship a single static binary, so users don't need the right Python version "
     "or a virtual environment, and it starts instantly, which matters for a CLI you run a hundred times a day.",
     "The conference was great this year, we had about four hundred people and the hallway track was the best "
     "part, lots of good conversations over coffee."),
    ("What is the main cause of flaky tests in your experience?",
     "Shared state, almost always. Tests that depend on the order they run in, on a database row another test "
     "left behind, or on the clock. Once we isolated the state, most of the flakiness went away.",
     "We moved the office last spring, and the new place has a lot more light and a proper kitchen, which the "
     "team really appreciates."),
    ("Does vitamin D supplementation reduce the risk of fractures in older adults?",
     "In a randomized trial of 2,000 adults over 70, daily vitamin D supplementation reduced the incidence of "
     "hip and non-vertebral fractures compared with placebo.",
     "The solar panel efficiency improved by 4 % after a new coating was applied to the silicon cells in the "
     "laboratory tests."),
]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    texts = [t for c in CASES for t in c]
    return write_tiny_reader(tmp_path_factory.mktemp("reader") / "tiny", texts)


@pytest.fixture(scope="module")
def tiny(tiny_dir):
    return ReaderModel(tiny_dir)


def test_nothing_loads_before_the_first_score(tiny_dir):
    fresh = ReaderModel(tiny_dir)
    assert not fresh.loaded
    fresh.score("a question?", ["a passage"])
    assert fresh.loaded
    assert fresh.max_length == json.loads((tiny_dir / "reader.json").read_text())["max_length"]


def test_scoring_does_not_import_torch(tiny_dir):
    code = ("import sys; from search.reader_model import ReaderModel; "
            f"ReaderModel({str(tiny_dir)!r}).score('why?', ['because']); "
            "print('torch' in sys.modules, 'transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=str(REPO))
    assert out.stdout.strip() == "False False"


def test_hash_mismatch_is_refused_with_a_clear_error(tiny_dir, tmp_path):
    shutil.copytree(tiny_dir, tmp_path / "reader")
    meta_path = tmp_path / "reader" / "reader.json"
    meta = json.loads(meta_path.read_text())
    meta["sha256"] = "0" * 64
    meta_path.write_text(json.dumps(meta))
    bad = ReaderModel(tmp_path / "reader")  # constructing is fine: nothing loads yet
    with pytest.raises(ReaderError, match="sha256 .* does not match 0{64}.*refusing to load"):
        bad.score("q?", ["p"])
    assert not bad.loaded


def test_a_changed_file_is_refused(tiny_dir, tmp_path):
    shutil.copytree(tiny_dir, tmp_path / "reader")
    with open(tmp_path / "reader" / "model.onnx", "ab") as f:
        f.write(b"\0")
    with pytest.raises(ReaderError, match="does not match"):
        ReaderModel(tmp_path / "reader").score("q?", ["p"])


def test_missing_metadata_is_a_reader_error(tmp_path):
    with pytest.raises(ReaderError, match="metadata"):
        ReaderModel(tmp_path).score("q?", ["p"])


def test_scores_are_deterministic_and_independent_of_batching(tiny, tiny_dir):
    q = CASES[0][0]
    passages = [p for c in CASES for p in c[1:]]
    a = tiny.score(q, passages)
    assert a.dtype == np.float32 and a.shape == (len(passages),)
    assert np.array_equal(a, tiny.score(q, passages))
    one_by_one = np.array([tiny.score(q, [p])[0] for p in passages])
    assert np.array_equal(a, one_by_one)  # a passage's score does not depend on the others (batch_size 1)
    np.testing.assert_allclose(a, ReaderModel(tiny_dir, batch_size=8).score(q, passages), atol=1e-4)
    assert tiny.score(q, []).shape == (0,)


@pytest.mark.parametrize("question,answer,other", CASES)
def test_the_passage_sharing_the_question_scores_above_an_unrelated_one(tiny, question, answer, other):
    s = tiny.score(question, [other, answer])
    assert s[1] > s[0]


def test_long_passages_are_truncated(tiny):
    s = tiny.score(CASES[0][0], [CASES[0][1] + " word" * 2000])
    assert np.isfinite(s).all()
    enc = tiny._tokenizer.encode(CASES[0][0], CASES[0][1] + " word" * 2000)
    assert len(enc.ids) == tiny.max_length


@pytest.fixture(scope="module")
def trained():
    return ReaderModel(WEIGHTS)


@needs_weights
def test_trained_reader_loads_its_checked_file(trained):
    trained.score("a question?", ["a passage"])
    assert trained.meta["sha256"] == json.loads((WEIGHTS / "reader.json").read_text())["sha256"]


@needs_weights
@pytest.mark.parametrize("question,answer,other", CASES)
def test_trained_reader_orders_the_answer_above_an_unrelated_passage(trained, question, answer, other):
    s = trained.score(question, [other, answer])
    assert s[1] > s[0]
