"""The reader: a small cross-encoder that scores how well a passage answers a question (issue 16).

Why: the fused dense + BM25 ranking compares a question with each passage separately; a cross-encoder reads the
question and the passage together, so it can tell an answer from a passage that merely shares the words. The
first reader trained here (MiniLM-L6 on Changelog host-question -> guest-answer pairs and SciFact, int8 ONNX, see
bench/README.md "A reader of our own") lost to the default ranking, so no weights ship and nothing in the product
imports this module; bench/reader.py and bench/reader_eval.py use it on an export under bench/results/cache. It
runs on onnxruntime and the `tokenizers` package only, so a query path using it would never import torch.

The file's sha256 is checked against reader.json before the model loads (a mismatch raises ReaderError), and
nothing loads until the first `score` call.
"""
from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import numpy as np

from search.onnx_encoder import cpu_session, padded_feed, truncating_tokenizer

DEFAULT_DIR = Path(__file__).resolve().parent / "weights" / "reader"


class ReaderError(RuntimeError):
    pass


class ReaderModel:
    """`score(question, passages)` -> one float per passage (the model's logit; higher = more relevant).

    Each (question, passage) pair is cut to the trained max length, the longer side first (as the model was
    trained). Passages run one at a time by default (`batch_size=1`): on CPU that is as fast as batching (no
    padding), and the int8 model's dynamic activation scales are then computed per pair, so a passage's score does
    not depend on which passages share its batch (with larger batches it moves by ~0.01). One intra-op thread by
    default: a search serves one query at a time, and the server has other requests to run."""

    def __init__(self, model_dir: Path | str = DEFAULT_DIR, threads: int = 1, batch_size: int = 1,
                 max_length: int | None = None):
        self.model_dir = Path(model_dir)
        self.threads = threads
        self.batch_size = batch_size
        self._max_length = max_length
        self._session = None
        self._tokenizer = None
        self._inputs: list[str] = []
        self._lock = threading.Lock()
        self.meta: dict = {}

    @property
    def loaded(self) -> bool:
        return self._session is not None

    @property
    def max_length(self) -> int:
        self._load()
        return self._max_length  # type: ignore[return-value]

    def _load(self) -> None:
        if self._session is not None:
            return
        with self._lock:
            if self._session is not None:
                return
            meta_path = self.model_dir / "reader.json"
            try:
                meta = json.loads(meta_path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ReaderError(f"{meta_path}: cannot read the reader's metadata: {exc}") from exc
            model_path = self.model_dir / meta.get("file", "model.onnx")
            try:
                blob = model_path.read_bytes()
            except OSError as exc:
                raise ReaderError(f"{model_path}: cannot read the reader model: {exc}") from exc
            digest = hashlib.sha256(blob).hexdigest()
            if digest != meta.get("sha256"):
                raise ReaderError(f"{model_path}: sha256 {digest} does not match {meta.get('sha256')} recorded in "
                                  f"{meta_path}; refusing to load (re-export the reader or restore the file)")
            max_length = self._max_length or int(meta["max_length"])
            tok = truncating_tokenizer(self.model_dir / meta.get("tokenizer", "tokenizer.json"), max_length)
            session = cpu_session(blob, self.threads)
            self._inputs = [i.name for i in session.get_inputs()]
            self._tokenizer, self._max_length, self.meta = tok, max_length, meta
            self._session = session

    def score(self, question: str, passages: list[str]) -> np.ndarray:
        """One float32 score per passage, in the passages' order (an empty list gives an empty array)."""
        if not passages:
            return np.zeros(0, dtype=np.float32)
        self._load()
        encs = self._tokenizer.encode_batch([(question, p) for p in passages])
        order = sorted(range(len(encs)), key=lambda i: len(encs[i].ids))
        out = np.empty(len(encs), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            logits = self._session.run(None, padded_feed([encs[i] for i in idx], self._inputs))[0]
            out[idx] = np.asarray(logits, dtype=np.float32).reshape(len(idx), -1)[:, 0]
        return out
