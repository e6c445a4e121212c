"""The packaged MiniLM on onnxruntime: the same vectors as sentence-transformers (fp32), without importing torch.

A query command (`kb search`, `kb ask`, `kb serve`, `kb eval`) spent ~5 s importing sentence-transformers and torch
before it could encode a dozen words. Here the model is exported once, from the verified packaged weights, to
`$KB_DATA_DIR/models/<model>-<weights sha8>/model.onnx` with the tokenizer beside it; the export is checked
against the torch encoder on sample texts (every cosine >= MIN_COSINE) and the check recorded in
`manifest.json`. Only a passing manifest makes the ONNX encoder usable; otherwise kb keeps encoding with torch.

What the graph computes is what sentence-transformers' modules.json asks for: BertModel, mean pooling over the
attention mask, L2 normalisation. Tokenization uses the `tokenizers` package on the model's own tokenizer.json,
truncated to sentence_bert_config.json's max_seq_length (256; tokenizer.json itself says 128), padded to the
longest text of a batch.

Nothing here imports torch, transformers or sentence-transformers except `export`, which is handed a loaded
torch model by its caller.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from search.embedding import file_sha256

if TYPE_CHECKING:  # pragma: no cover
    import onnxruntime

MIN_COSINE = 0.999  # every sample text's ONNX vector against the torch one, or the export is refused
OPSET = 17
MANIFEST = "manifest.json"
FORMAT = 1  # bump when the exported graph or the manifest changes: older exports are then redone
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
PAD_SHARE = 0.25  # a batch takes texts down to 75% of its longest text's tokens (see OnnxEncoder.encode)

# Checked on every export besides the caller's sample: edge cases of tokenization (empty, whitespace, accents,
# CJK, emoji) and truncation (a text far over max_seq_length).
CHECK_TEXTS = [
    "", "  ", "How do you build trust during a change?", "Stellafai", "what's it like to stop coding?",
    "Ünïcödé “quotes” — and 中文 😀", "word " * 600, "A\tB\nC  D", "don't won't can't I'm you're",
    "Tamar Bercovici, Box: so we, we run a relatively lean engineering team, I think, for the scale of the company.",
    "Episode: Engineering Leadership at Scale\nSpeaker: Tamar Bercovici (VP of Engineering at Box)\n"
    + "I think a lot of leadership is. Chain leading through change, right? You know, when you go through a large "
      "infrastructure migration, cloud adoption, evolving customer needs, none of these are static problems. " * 4,
    "Who is Michael Galloway's boss? How many engineers were on the team in 2019, and which cloud did Box move to?",
]


class OnnxExportError(RuntimeError):
    pass


def export_dir(data_dir: Path, model: str, weights_sha256: str) -> Path:
    return Path(data_dir) / "models" / f"{model}-{weights_sha256[:8]}"


def _versions() -> dict[str, str]:
    out = {}
    for name in ("onnxruntime", "onnx", "tokenizers", "torch"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = ""
    return out


def read_manifest(folder: Path) -> dict | None:
    try:
        return json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None


def usable(folder: Path, weights_sha256: str) -> bool:
    """A passing export of these weights, in this export format, whose files are there at their recorded size
    (hashing the 90 MB file would add ~0.5 s to every query command; `verify` does it)."""
    m = read_manifest(folder)
    if not (m and m.get("passed") and m.get("format") == FORMAT and m.get("weights_sha256") == weights_sha256):
        return False
    try:
        size = (folder / "model.onnx").stat().st_size
        return (folder / "tokenizer.json").is_file() and size == m.get("onnx_bytes", size)
    except OSError:
        return False


def verify(folder: Path) -> list[str]:
    """Problems with an export's files against the sha256 sums in its manifest (empty when it is intact)."""
    m = read_manifest(folder) or {}
    problems = []
    for name, key in (("model.onnx", "onnx_sha256"), ("tokenizer.json", "tokenizer_sha256")):
        try:
            if file_sha256(folder / name) != m.get(key):
                problems.append(f"{folder / name}: sha256 differs from {MANIFEST}")
        except OSError as exc:
            problems.append(f"{folder / name}: {exc}")
    return problems


def failed_before(folder: Path, weights_sha256: str) -> dict | None:
    """The manifest of a refused export with the same weights, format and package versions (not worth redoing)."""
    m = read_manifest(folder)
    if m and not m.get("passed") and m.get("format") == FORMAT and m.get("weights_sha256") == weights_sha256 \
            and m.get("versions") == _versions():
        return m
    return None


def cpu_session(model: Path | bytes, threads: int | None) -> onnxruntime.InferenceSession:
    """An onnxruntime CPU session with `threads` intra-op threads (None: every core), sequential."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or max(1, os.cpu_count() or 1)
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    if threads is not None:
        # a query is a dozen tokens: pool threads that spin while waiting only take a shared core from others
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model if isinstance(model, bytes) else str(model), opts,
                                providers=["CPUExecutionProvider"])


def truncating_tokenizer(path: Path, max_length: int) -> Any:
    """A `tokenizers` tokenizer that truncates (longest side first, for pairs) and never pads: a batch is padded
    to its own longest text by `padded_feed` (tokenizer.json files often pad every text to a fixed length)."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(path))
    tok.enable_truncation(max_length=max_length, strategy="longest_first")
    tok.no_padding()
    return tok


def padded_feed(encodings: list, names: tuple[str, ...] | list[str] = INPUTS) -> dict[str, np.ndarray]:
    """A batch of encodings as a BERT graph's inputs (those in `names`), zero-padded to the longest (padding is
    masked out of attention and pooling: it changes no output beyond float rounding, ~1e-7)."""
    width = max(len(e.ids) for e in encodings)
    feed = {name: np.zeros((len(encodings), width), dtype=np.int64) for name in INPUTS}
    for row, e in enumerate(encodings):
        n = len(e.ids)
        feed["input_ids"][row, :n] = e.ids
        feed["attention_mask"][row, :n] = e.attention_mask
        feed["token_type_ids"][row, :n] = e.type_ids
    return {name: feed[name] for name in INPUTS if name in names}


class OnnxEncoder:
    """Tokenize with `tokenizers`, run the exported graph with onnxruntime; L2-normalised float32 rows.

    The session is created on first use with `threads` intra-op threads (None: every core); `set_threads`
    recreates it when the count changes (a few hundred ms: done once per process, before queries)."""

    def __init__(self, folder: Path, max_seq_length: int = 256, threads: int | None = None, dim: int = 384):
        self.folder = Path(folder)
        self.max_seq_length = max_seq_length
        self.threads = threads
        self.dim = dim
        self._session: onnxruntime.InferenceSession | None = None
        self._session_threads: int | None = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    # --- loading ------------------------------------------------------------------------------------------
    @property
    def session(self) -> onnxruntime.InferenceSession:
        if self._session is None or self._session_threads != self.threads:
            with self._lock:
                if self._session is None or self._session_threads != self.threads:
                    self._session = cpu_session(self.folder / "model.onnx", self.threads)
                    self._session_threads = self.threads
        return self._session

    @property
    def tokenizer(self):
        """Truncating, not padding: `encode` pads each batch itself, to its longest text."""
        if self._tokenizer is None:
            self._tokenizer = truncating_tokenizer(self.folder / "tokenizer.json", self.max_seq_length)
        return self._tokenizer

    def set_threads(self, threads: int | None) -> None:
        self.threads = threads

    # --- encoding -----------------------------------------------------------------------------------------
    def _run(self, encodings: list) -> np.ndarray:
        """One batch through the graph, padded to its longest text (padding is masked out of attention and
        pooling: it changes no vector beyond float rounding, ~1e-7)."""
        return self.session.run(None, padded_feed(encodings))[0]

    def encode(self, texts: list[str], batch_size: int = 16) -> np.ndarray:
        """Rows in the order given. Texts go longest first (as sentence-transformers sorts them) in batches of
        at most `batch_size` whose texts are within PAD_SHARE of the batch's longest in tokens: a batch is padded
        to its longest text, and padding costs as much as text. The answer units of three `kb ask` questions
        (187 texts, 11-140 tokens, one thread on busy cores): 2.8 s in fixed batches of 16, 1.9 s like this;
        256 chunk texts on two threads: 23.5 s, 21.0 s."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        batch: list[int] = []
        for i in order:
            if batch and (len(batch) >= batch_size
                          or len(encodings[i].ids) < (1 - PAD_SHARE) * len(encodings[batch[0]].ids)):
                out[batch] = self._run([encodings[j] for j in batch])
                batch = []
            batch.append(i)
        out[batch] = self._run([encodings[j] for j in batch])
        return out

    def encode_query(self, text: str) -> np.ndarray:
        return np.asarray(self._run([self.tokenizer.encode(text)])[0], dtype=np.float32)


def export(st_model: Any, model_dir: Path, folder: Path, model: str, weights_sha256: str,
           sample: list[str], batch_size: int = 16) -> dict:
    """Export a loaded fp32 SentenceTransformer (Transformer -> mean Pooling -> Normalize) to `folder`, check it
    against that model on `sample` + CHECK_TEXTS, and write the manifest. Returns the manifest; raises
    OnnxExportError (after recording the refusal in the manifest) when the check fails. The folder is replaced
    atomically: a reader sees the old export or the new one, never half of one."""
    import torch

    started = time.perf_counter()
    _check_architecture(st_model)
    transformer = st_model[0]
    max_len = int(st_model.max_seq_length)
    bert = transformer.auto_model
    if next(bert.parameters()).dtype != torch.float32:
        raise OnnxExportError("the model to export must be fp32")

    class Pooled(torch.nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            tokens = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            mean = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2.0, dim=1)

    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        shutil.copy2(Path(model_dir) / "tokenizer.json", tmp / "tokenizer.json")
        wrapped = Pooled(bert).eval()
        example = st_model.preprocess(["an example to trace", "and a second, longer example to trace"])
        args = tuple(example[name] for name in INPUTS)
        dynamic = {name: {0: "batch", 1: "tokens"} for name in INPUTS} | {"sentence_embedding": {0: "batch"}}
        import warnings

        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer warnings
            torch.onnx.export(wrapped, args, str(tmp / "model.onnx"), input_names=list(INPUTS),
                              output_names=["sentence_embedding"], dynamic_axes=dynamic, opset_version=OPSET,
                              dynamo=False)
        texts = list(dict.fromkeys([*sample, *CHECK_TEXTS]))
        reference = np.asarray(st_model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                               convert_to_numpy=True, show_progress_bar=False), dtype=np.float32)
        encoder = OnnxEncoder(tmp, max_len)
        got = encoder.encode(texts, batch_size=batch_size)
        single = np.stack([encoder.encode_query(t) for t in texts[:8]])  # the one-text path too
        cos = np.concatenate([(reference * got).sum(1), (reference[:8] * single).sum(1)])
        manifest = {
            "format": FORMAT, "model": model, "weights_sha256": weights_sha256,
            "onnx_sha256": file_sha256(tmp / "model.onnx"), "onnx_bytes": (tmp / "model.onnx").stat().st_size,
            "tokenizer_sha256": file_sha256(tmp / "tokenizer.json"),
            "max_seq_length": max_len, "pooling": "mean", "normalize": True, "dim": int(got.shape[1]),
            "exporter": f"torch.onnx.export (TorchScript), opset {OPSET}", "versions": _versions(),
            "check": {"texts": len(texts), "min_cosine": float(cos.min()), "mean_cosine": float(cos.mean()),
                      "max_abs_diff": float(np.abs(reference - got).max()), "threshold": MIN_COSINE},
            "passed": bool(cos.min() >= MIN_COSINE), "seconds": round(time.perf_counter() - started, 1),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        encoder._session = None
        if not manifest["passed"]:
            (tmp / "model.onnx").unlink(missing_ok=True)  # only the record of the refusal is kept
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        _replace_dir(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if not manifest["passed"]:
        raise OnnxExportError(f"ONNX export of {model} refused: min cosine to torch {manifest['check']['min_cosine']:.6f}"
                              f" < {MIN_COSINE} on {len(texts)} texts (see {folder / MANIFEST})")
    return manifest


def _replace_dir(new: Path, folder: Path) -> None:
    old = None
    if folder.exists():
        old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
        os.replace(folder, old)
    os.replace(new, folder)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _check_architecture(st_model: Any) -> None:
    """Only what the graph reproduces: a BERT-like Transformer, mean pooling, normalisation."""
    names = [type(m).__name__ for m in st_model]
    if names != ["Transformer", "Pooling", "Normalize"]:
        raise OnnxExportError(f"cannot export modules {names}: expected Transformer, Pooling, Normalize")
    pooling = st_model[1]
    mode = getattr(pooling, "pooling_mode", None) or (
        "mean" if getattr(pooling, "pooling_mode_mean_tokens", False) else None)
    if mode != "mean":
        raise OnnxExportError(f"cannot export pooling {mode!r}: only mean pooling")
