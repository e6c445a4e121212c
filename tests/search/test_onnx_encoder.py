"""The onnxruntime encoder: the real export agrees with PyTorch (model tests), and the parts around it (manifest,
refusal, fallback, threads, precision) behave (unit tests on the tiny stand-in)."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from search import onnx_encoder as ox
from search.embedding import (PACKAGED_MODEL, PACKAGED_SHA256, ModelError, OnnxEmbedder, SentenceTransformerEmbedder,
                              get_embedder, resolve_precision)
from tests.conftest import REPO
from tests.tiny_onnx import DIM, write_tiny_model

QUERIES = [json.loads(line)["question"] for line in (REPO.parent / "shared" / "eval" / "dev.jsonl").read_text().splitlines()
           if line.strip()] if (REPO.parent / "shared" / "eval" / "dev.jsonl").exists() else []
QUERIES += ["how to lead change at scale", "What is a good recipe for sourdough bread?", "trust", "Stellafai",
            "what did the guest say about hiring their first manager", "who said leadership is a contested term?"]


def corpus_passages(limit: int = 240) -> list[str]:
    """Paragraphs of the default corpus: documents of every length the encoder sees, some past 256 tokens."""
    out = []
    for path in sorted((REPO / "corpus").glob("*.*")):
        if path.name != "README.md":
            out += [p.strip() for p in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")) if len(p.split()) >= 8]
    step = max(1, len(out) // limit)
    return out[::step][:limit]


# --- the real model ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The packaged model exported once for the module, next to its PyTorch fp32 twin."""
    torch_fp32 = SentenceTransformerEmbedder(PACKAGED_MODEL, "fp32")
    onnx = OnnxEmbedder(tmp_path_factory.mktemp("onnx-data"), PACKAGED_MODEL)
    manifest = onnx.export(corpus_passages(32))
    return torch_fp32, onnx, manifest


@pytest.mark.model
def test_export_is_checked_and_recorded(exported):
    _, onnx, manifest = exported
    assert manifest["passed"] and manifest["check"]["min_cosine"] >= ox.MIN_COSINE
    assert manifest["weights_sha256"] == PACKAGED_SHA256 and manifest["max_seq_length"] == 256
    assert ox.usable(onnx.folder, PACKAGED_SHA256) and ox.verify(onnx.folder) == []
    assert onnx.ready() is not None and onnx.runtime == "onnxruntime" and onnx.name == PACKAGED_MODEL


@pytest.mark.model
def test_onnx_vectors_agree_with_torch(exported):
    torch_fp32, onnx, _ = exported
    texts = corpus_passages() + QUERIES + ["", "word " * 600]
    a, b = torch_fp32.encode(texts), onnx.encode(texts)
    assert a.shape == b.shape == (len(texts), 384) and b.dtype == np.float32
    cos = (a * b).sum(1)
    assert cos.min() >= 0.999, texts[int(cos.argmin())]
    assert np.abs(np.linalg.norm(b, axis=1) - 1).max() < 1e-5
    for q in QUERIES[:5]:  # the one-query path gives the batched vector
        assert np.abs(onnx.encode_query(q) - b[texts.index(q)]).max() < 1e-5


@pytest.mark.model
def test_queries_rank_passages_identically(exported):
    """Against the same (PyTorch) document vectors, ONNX and PyTorch query vectors give the same top 10, in order."""
    torch_fp32, onnx, _ = exported
    docs = torch_fp32.encode(corpus_passages())
    onnx.set_threads(1)
    for q in QUERIES:
        by_torch = np.argsort(-(docs @ torch_fp32.encode_query(q)), kind="stable")[:10]
        by_onnx = np.argsort(-(docs @ onnx.encode_query(q)), kind="stable")[:10]
        assert by_torch.tolist() == by_onnx.tolist(), q


# --- around it, on the tiny stand-in ----------------------------------------------------------------------------
def test_the_tiny_export_encodes_like_the_real_interface(tmp_path):
    write_tiny_model(tmp_path, ["trust and letting go", "focus"])
    embedder = get_embedder(PACKAGED_MODEL, "fp32", tmp_path)
    assert isinstance(embedder, OnnxEmbedder) and embedder.name == PACKAGED_MODEL
    vecs = embedder.encode(["trust and letting go", "focus", "trust"])
    assert vecs.shape == (3, DIM) and embedder.runtime == "onnxruntime" and embedder.dim == DIM
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1, atol=1e-5)
    assert np.allclose(embedder.encode_query("focus"), vecs[1], atol=1e-6)
    assert np.allclose(embedder.encode(["focus"] * 40, batch_size=16), vecs[1], atol=1e-6)  # batches, any order


def test_threads_reach_the_session(tmp_path):
    write_tiny_model(tmp_path, ["trust"])
    embedder = OnnxEmbedder(tmp_path, PACKAGED_MODEL)
    embedder.encode_query("trust")
    runtime = embedder.ready()
    assert runtime.session.get_session_options().intra_op_num_threads >= 1
    embedder.set_threads(1)
    embedder.encode_query("trust")
    options = runtime.session.get_session_options()
    assert options.intra_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_a_refused_export_keeps_pytorch(tmp_path):
    """A manifest that records a failed check (same weights, format and package versions) is not redone, and the
    encoder is PyTorch fp32 under the same name (same vectors)."""
    folder = ox.export_dir(tmp_path, PACKAGED_MODEL, PACKAGED_SHA256)
    folder.mkdir(parents=True)
    (folder / ox.MANIFEST).write_text(json.dumps({"format": ox.FORMAT, "weights_sha256": PACKAGED_SHA256,
                                                  "versions": ox._versions(), "passed": False,
                                                  "check": {"min_cosine": 0.5}}))
    embedder = OnnxEmbedder(tmp_path, PACKAGED_MODEL)
    assert isinstance(embedder.ready(), SentenceTransformerEmbedder) and embedder.runtime == "torch"
    assert embedder.ready().name == embedder.name == PACKAGED_MODEL
    assert embedder.ready()._model is None  # nothing loaded yet: PyTorch loads on the first encode


def test_a_damaged_export_is_not_used(tmp_path):
    folder = write_tiny_model(tmp_path, ["trust"])
    assert ox.usable(folder, PACKAGED_SHA256)
    with open(folder / "model.onnx", "ab") as f:
        f.write(b"\0")
    assert not ox.usable(folder, PACKAGED_SHA256)
    assert not ox.usable(write_tiny_model(tmp_path / "other", ["trust"]), "0" * 64)  # other weights


def test_precision_auto_keeps_what_the_store_holds():
    assert resolve_precision("auto", PACKAGED_MODEL, lambda: []) == "fp32"  # a new store
    assert resolve_precision("auto", PACKAGED_MODEL, lambda: [f"{PACKAGED_MODEL}@bf16"]) == "bf16"
    assert resolve_precision("auto", PACKAGED_MODEL, lambda: [f"{PACKAGED_MODEL}@bf16", PACKAGED_MODEL]) == "fp32"
    assert resolve_precision("auto", PACKAGED_MODEL, lambda: ["fake"]) == "fp32"
    assert resolve_precision("bf16", PACKAGED_MODEL, lambda: [PACKAGED_MODEL]) == "bf16"  # explicit wins
    with pytest.raises(ModelError):
        resolve_precision("int8", PACKAGED_MODEL)


def test_which_runtime_each_setting_gets(tmp_path):
    assert isinstance(get_embedder(PACKAGED_MODEL, "fp32", tmp_path), OnnxEmbedder)
    assert isinstance(get_embedder(PACKAGED_MODEL, "fp32", tmp_path, False), SentenceTransformerEmbedder)  # KB_ONNX=false
    bf16 = get_embedder(PACKAGED_MODEL, "bf16", tmp_path)
    assert isinstance(bf16, SentenceTransformerEmbedder) and bf16.name == f"{PACKAGED_MODEL}@bf16"
    assert isinstance(get_embedder(PACKAGED_MODEL, "fp32"), SentenceTransformerEmbedder)  # no data dir: no export


def test_the_knowledge_base_picks_the_store_precision(tmp_path):
    """A store embedded in bf16 keeps its bf16 query encoder under KB_PRECISION=auto (its rankings do not change);
    a new store is fp32 on onnxruntime."""
    from core.knowledge_base import KnowledgeBase
    from core.settings import Settings

    kb = KnowledgeBase(Settings(data_dir=tmp_path / "new", model=PACKAGED_MODEL))
    assert isinstance(kb.embedder, OnnxEmbedder)
    old = KnowledgeBase(Settings(data_dir=tmp_path / "old", model=PACKAGED_MODEL))
    with old.store.transaction():
        old.store.db.execute("INSERT INTO episodes VALUES ('e','t','s','p','transcript','h','{}','{}','now')")
        old.store.db.execute("INSERT INTO chunks (id, episode_id, ordinal, text, char_start, char_end, kind, embed_hash)"
                             " VALUES (1, 'e', 0, 'x', 0, 1, 'transcript', 'H')")
        old.store.db.execute("INSERT INTO embeddings VALUES ('H', ?, 1, X'00000000')", (f"{PACKAGED_MODEL}@bf16",))
    assert old.embedder.name == f"{PACKAGED_MODEL}@bf16" and isinstance(old.embedder, SentenceTransformerEmbedder)
