"""Batch ingest at scale over the Changelog transcripts: what the pipeline adds on top of the encoder, what a
re-run and a small new batch cost, /search latency and `kb serve` memory, flat vs HNSW, fp32 vs bf16.

Every speed is a ratio against a baseline measured in the same run on this machine (others share its cores, so
absolute figures drift between runs). Subsets are spread over all shows (every k-th file, sorted by path).

  1. pipeline vs encoder: a fresh store ingests N files (sentence windows on, then off); the encoder alone then
     encodes exactly the texts the pipeline embedded. ratio = encoder-alone time / pipeline time.
  2. re-run on the unchanged folder: time as a fraction of the first run (nothing is embedded or committed).
  3. +10 new episodes on that index: ingest time (real encoding) / encoding their texts alone, and whether the
     FAISS index was patched (not rebuilt from every vector).
  4. `kb serve` on that store: /search p50/p99 over real HTTP, peak RSS (VmHWM).
  5. flat vs HNSW: p50 per query and recall@10 of HNSW against flat, on the store's real vectors and on larger
     synthetic sets (real vectors plus small noise, renormalised), with the product's search (k=100 candidates).
  6. precision: fp32 vs bf16 encoder throughput and cosine agreement on a sample of chunk texts.

Stores live in bench/results/cache/ingest-<N>/ (gitignored); their embeddings table is the product's own
content-hash cache (step 2 shows nothing is re-encoded). Steps 1 and 3 start from stores without those vectors
on purpose: they measure encoding.

    .venv/bin/python bench/ingest.py [--files 20] [--add 10] [--queries 200]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import faiss
import numpy as np
from rich.table import Table

# this file is named like the `ingest` package: the repo root goes first, so `ingest` is the package
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _env import REPO, RESULTS, code_version, machine, relevant_settings, wide_console, write_result
from core.knowledge_base import KnowledgeBase
from core.settings import get_settings
from search import vector_index as vi
from search.embedding import Embedder, get_embedder

CORPUS = REPO.parent / "shared" / "corpora" / "changelog"
CACHE = RESULTS / "cache"
console = wide_console()


class Recording(Embedder):
    """Wraps the encoder: records what the pipeline asked it to encode and the time spent inside it."""

    def __init__(self, inner: Embedder):
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.texts: list[str] = []
        self.seconds = 0.0

    def encode(self, texts: list[str], batch_size: int = 16, progress: bool = False) -> np.ndarray:
        t = time.perf_counter()
        out = self.inner.encode(texts, batch_size)
        self.seconds += time.perf_counter() - t
        self.texts += texts
        return out


def subset(n: int, extra: int) -> tuple[list[Path], list[Path]]:
    """n base files and `extra` new ones, spread over every show (every k-th transcript by path)."""
    files = sorted(p for p in CORPUS.rglob("*.md") if p.parent != CORPUS)
    step = max(1, len(files) // (n + extra))
    picked = files[::step][: n + extra]
    return picked[:n], picked[n:]


def link_folder(folder: Path, files: list[Path]) -> Path:
    """A folder of symlinks (the corpus is never copied into the repo)."""
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:
        dst = folder / f.parent.name / f.name
        dst.parent.mkdir(exist_ok=True)
        if not dst.exists():
            dst.symlink_to(f)
    return folder


def fresh_kb(data_dir: Path, embedder: Embedder, **overrides) -> KnowledgeBase:
    shutil.rmtree(data_dir, ignore_errors=True)
    return KnowledgeBase(get_settings().model_copy(update={"data_dir": data_dir, **overrides}), embedder=embedder)


def timed_encode(embedder: Embedder, texts: list[str], batch_size: int, step: int) -> float:
    """Encode in the same slices the pipeline uses; seconds."""
    t = time.perf_counter()
    for i in range(0, len(texts), step):
        embedder.encode(texts[i:i + step], batch_size=batch_size)
    return time.perf_counter() - t


def phase_pipeline(inner: Embedder, folder: Path, windows: bool, work: Path) -> dict:
    rec = Recording(inner)
    kb = fresh_kb(work / f"fresh-{'win' if windows else 'nowin'}", rec, sentence_vectors=windows)
    t = time.perf_counter()
    report = kb.ingest([folder], progress=True)
    total = time.perf_counter() - t
    e, c, v = kb.store.counts()
    ids, _ = kb.store.vectors(rec.name)
    out = {"sentence_vectors": windows, "episodes": e, "chunks": c, "encoded_texts": report.chunks_embedded,
           "encoder_calls_texts": len(rec.texts), "index_vectors": int(len(ids)), "pipeline_s": round(total, 2),
           "in_pipeline_encode_s": round(rec.seconds, 2), "failed": len(report.failed)}
    kb.store.close()
    return out | {"_texts": rec.texts}


def phase_serve(data_dir: Path, queries: list[str], overrides: dict) -> dict:
    """`kb serve` in its own process; /search over HTTP; peak RSS from /proc."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "KB_DATA_DIR": str(data_dir), **{f"KB_{k.upper()}": str(v) for k, v in overrides.items()}}
    proc = subprocess.Popen([str(REPO / ".venv" / "bin" / "kb"), "serve", "--port", str(port)], env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                health = json.loads(urllib.request.urlopen(f"{base}/health", timeout=2).read())
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("kb serve did not start")
        for q in queries[:5]:  # warm-up: loads the encoder and the FAISS index
            urllib.request.urlopen(f"{base}/search?{urllib.parse.urlencode({'q': q})}", timeout=120).read()
        lat = []
        for q in queries:
            t = time.perf_counter()
            urllib.request.urlopen(f"{base}/search?{urllib.parse.urlencode({'q': q, 'k': 10})}", timeout=120).read()
            lat.append((time.perf_counter() - t) * 1000)
        status = Path(f"/proc/{proc.pid}/status").read_text()
        hwm = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
    finally:
        proc.terminate()
        proc.wait(30)
    lat.sort()
    return {"queries": len(lat), "p50_ms": round(lat[len(lat) // 2], 1), "p99_ms": round(lat[int(len(lat) * 0.99) - 1], 1),
            "peak_rss_mb": round(hwm / 1024, 1), "health": health}


def phase_index(vectors: np.ndarray, sizes: list[int], n_queries: int = 100, k_candidates: int = 100) -> list[dict]:
    """Flat vs HNSW at several sizes: p50 ms per query and recall@10 (pooled chunk ids) against flat."""
    rng = np.random.default_rng(0)
    rows = []
    for n in sizes:
        if n <= len(vectors):
            x = vectors[:n]
        else:  # real vectors plus noise, so the set keeps the real clusters (uniform random is the hard case)
            base = vectors[rng.integers(0, len(vectors), n)]
            x = base + rng.standard_normal(base.shape).astype(np.float32) * (0.15 / np.sqrt(base.shape[1]))
            x /= np.linalg.norm(x, axis=1, keepdims=True)
        ids = np.arange(n, dtype=np.int64) // 3  # three vectors per chunk, like sentence windows
        qi = rng.choice(n, n_queries, replace=False)
        queries = x[qi] + rng.standard_normal((n_queries, x.shape[1])).astype(np.float32) * (0.5 / np.sqrt(x.shape[1]))
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        row = {"vectors": n, "synthetic": n > len(vectors)}
        results = {}
        for kind in ("flat", "hnsw"):
            t = time.perf_counter()
            index = vi.make_index(x.shape[1], n, kind)
            index.add(ids, x)
            row[f"{kind}_build_s"] = round(time.perf_counter() - t, 2)
            lat, res = [], []
            for q in queries:
                t = time.perf_counter()
                res.append([i for i, _ in index.search(q, k_candidates)])
                lat.append((time.perf_counter() - t) * 1000)
            row[f"{kind}_p50_ms"] = round(statistics.median(lat), 2)
            results[kind] = res
            del index
        row["hnsw_recall@10"] = round(float(np.mean([len(set(a[:10]) & set(b[:10])) / 10
                                                      for a, b in zip(results["flat"], results["hnsw"])])), 4)
        row["hnsw_recall@100"] = round(float(np.mean([len(set(a) & set(b)) / max(1, len(a))
                                                       for a, b in zip(results["flat"], results["hnsw"])])), 4)
        rows.append(row)
        console.print(row)
    return rows


def phase_precision(texts: list[str], batch_size: int) -> dict:
    fp32, bf16 = get_embedder(get_settings().model, "fp32"), get_embedder(get_settings().model, "bf16")
    fp32.encode(texts[:16]), bf16.encode(texts[:16])  # warm-up
    t = time.perf_counter()
    a = fp32.encode(texts, batch_size=batch_size)
    t32 = time.perf_counter() - t
    t = time.perf_counter()
    b = bf16.encode(texts, batch_size=batch_size)
    t16 = time.perf_counter() - t
    cos = np.sum(a * b, axis=1)
    return {"texts": len(texts), "fp32_per_s": round(len(texts) / t32, 1), "bf16_per_s": round(len(texts) / t16, 1),
            "bf16_speedup": round(t32 / t16, 2), "cosine_mean": round(float(cos.mean()), 5),
            "cosine_min": round(float(cos.min()), 5)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=20, help="transcripts in the base batch")
    ap.add_argument("--add", type=int, default=10, help="new episodes added to the indexed base batch")
    ap.add_argument("--queries", type=int, default=200, help="/search requests for the latency figures")
    ap.add_argument("--sizes", default="100000,250000", help="vector counts for flat vs HNSW")
    ap.add_argument("--precision-texts", type=int, default=256)
    ap.add_argument("--out", type=Path, default=RESULTS / "ingest.json")
    args = ap.parse_args()

    settings = get_settings()
    inner = get_embedder(settings.model, settings.precision)
    work = CACHE / f"ingest-{args.files}"
    shutil.rmtree(work, ignore_errors=True)
    base_files, new_files = subset(args.files, args.add)
    folder = link_folder(work / "corpus", base_files)
    words = sum(len(f.read_text(encoding="utf-8").split()) for f in base_files)
    console.print(f"[bold]{len(base_files)} files, {words:,} words[/bold] from {CORPUS}; +{len(new_files)} new; "
                  f"encoder {inner.name}; {machine()}")
    out: dict = {"subset": {"files": len(base_files), "words": words, "new_files": len(new_files),
                            "spread": "every k-th transcript sorted by path (all shows)"},
                 "machine": machine(), "code": code_version(), "settings": relevant_settings(settings, inner.name)}
    step = max(settings.batch_size * 16, 64)

    # 1. pipeline vs encoder alone, windows on and off
    pipe = {}
    for windows in (True, False):
        r = phase_pipeline(inner, folder, windows, work)
        texts = r.pop("_texts")
        alone = timed_encode(inner, texts, settings.batch_size, step)
        r |= {"encoder_alone_s": round(alone, 2), "ratio_encoder_over_pipeline": round(alone / r["pipeline_s"], 3),
              "pipeline_texts_per_s": round(r["encoded_texts"] / r["pipeline_s"], 1),
              "encoder_texts_per_s": round(len(texts) / alone, 1),
              "pipeline_chunks_per_s": round(r["chunks"] / r["pipeline_s"], 1),
              "encoder_chunks_per_s_equiv": round(r["chunks"] / alone, 1),
              "overhead_outside_encoder_s": round(r["pipeline_s"] - r["in_pipeline_encode_s"], 2)}
        pipe["windows_on" if windows else "windows_off"] = r
        console.print(r)
    out["pipeline_vs_encoder"] = pipe
    first_s = pipe["windows_on"]["pipeline_s"]

    # 2. re-run on the unchanged folder (the windows-on store)
    rec = Recording(inner)
    kb = KnowledgeBase(settings.model_copy(update={"data_dir": work / "fresh-win"}), embedder=rec)
    kb.index()
    t = time.perf_counter()
    rep = kb.ingest([folder])
    rerun = time.perf_counter() - t
    out["rerun_unchanged"] = {"seconds": round(rerun, 3), "fraction_of_first_run": round(rerun / first_s, 4),
                              "skipped": len(rep.skipped), "embedded": rep.chunks_embedded,
                              "version_unchanged": rep.index_version == kb.store.version()}
    console.print(out["rerun_unchanged"])

    # 3. +N new episodes: real encoding, index patched?
    builds = {"n": 0}
    real_build = vi.build_index

    def counting_build(*a, **k):
        builds["n"] += 1
        return real_build(*a, **k)

    vi.build_index = counting_build
    link_folder(folder, new_files)
    rec.texts, rec.seconds = [], 0.0
    before_vectors = kb.index().live
    t = time.perf_counter()
    rep = kb.ingest([folder])
    add_s = time.perf_counter() - t
    vi.build_index = real_build
    alone = timed_encode(inner, rec.texts, settings.batch_size, step)
    index = kb.index()
    e, c, _ = kb.store.counts()
    out["add_new_episodes"] = {"added": len(rep.added), "encoded_texts": rep.chunks_embedded, "ingest_s": round(add_s, 2),
                               "encode_alone_s": round(alone, 2), "cost_ratio": round(add_s / alone, 3),
                               "index_rebuilt_from_all_vectors": builds["n"] > 0, "index_kind": index.kind,
                               "vectors_before": before_vectors, "vectors_after": index.live,
                               "episodes": e, "chunks": c}
    console.print(out["add_new_episodes"])
    ids, vectors = kb.store.vectors(inner.name)
    sample = random.Random(0).sample(range(c), min(args.queries, c))
    chunk_texts = [r[0] for r in kb.store.db.execute("SELECT text FROM chunks ORDER BY id")]
    queries = [" ".join(chunk_texts[i].split()[5:13]) or "kubernetes" for i in sample]
    kb.store.close()

    # 4. kb serve: /search latency and peak RSS at this size
    out["serve"] = {"chunks": c, "vectors": int(len(ids)), "episodes": e,
                    **phase_serve(work / "fresh-win", queries, {"model": settings.model, "precision": settings.precision})}
    console.print(out["serve"])

    # 5. flat vs HNSW
    sizes = [len(vectors)] + [int(s) for s in args.sizes.split(",") if s]
    out["index_types"] = {"threshold_hnsw_from": vi.HNSW_FROM, "k_candidates": 100, "hnsw": {
        "M": vi.HNSW_M, "efConstruction": vi.HNSW_EF_CONSTRUCTION, "efSearch": "max(128, 8k)"},
        "faiss_threads": faiss.omp_get_max_threads(), "rows": phase_index(vectors, sizes)}

    # 6. precision
    out["precision"] = phase_precision(random.Random(1).sample(chunk_texts, min(args.precision_texts, c)),
                                       settings.batch_size)
    console.print(out["precision"])

    write_result(args.out, out)
    report(out)


def report(out: dict) -> None:
    t = Table(title=f"ingest at scale — {out['subset']['files']} files, {out['subset']['words']:,} words; "
                    f"{out['machine']['cpu']} ({out['machine']['cores']} cores), {out['settings']['embedder']}")
    t.add_column("measure")
    t.add_column("value", justify="right")
    t.add_column("baseline / note")
    for key, r in out["pipeline_vs_encoder"].items():
        t.add_row(f"pipeline vs encoder ({key})", f"{r['ratio_encoder_over_pipeline']:.3f}",
                  f"{r['chunks']} chunks, {r['encoded_texts']} texts; pipeline {r['pipeline_texts_per_s']} texts/s "
                  f"({r['pipeline_chunks_per_s']} chunks/s), encoder alone {r['encoder_texts_per_s']} texts/s")
    r = out["rerun_unchanged"]
    t.add_row("re-run unchanged / first run", f"{r['fraction_of_first_run']:.4f}", f"{r['seconds']} s, embedded {r['embedded']}")
    r = out["add_new_episodes"]
    t.add_row(f"+{r['added']} episodes / encoding them alone", f"{r['cost_ratio']:.3f}",
              f"{r['encoded_texts']} texts; index {r['index_kind']}, rebuilt from all vectors: {r['index_rebuilt_from_all_vectors']}")
    r = out["serve"]
    t.add_row("/search p50 / p99 (ms)", f"{r['p50_ms']} / {r['p99_ms']}", f"{r['chunks']} chunks, {r['vectors']} vectors")
    t.add_row("kb serve peak RSS (MB)", f"{r['peak_rss_mb']}", "VmHWM")
    for row in out["index_types"]["rows"]:
        t.add_row(f"flat vs hnsw @ {row['vectors']:,}{' (synthetic)' if row['synthetic'] else ''}",
                  f"{row['flat_p50_ms']} / {row['hnsw_p50_ms']} ms", f"hnsw recall@10 {row['hnsw_recall@10']}, "
                  f"build {row['flat_build_s']} / {row['hnsw_build_s']} s")
    r = out["precision"]
    t.add_row("bf16 / fp32 encoder speed", f"{r['bf16_speedup']}", f"cosine mean {r['cosine_mean']}, min {r['cosine_min']}")
    console.print(t)


if __name__ == "__main__":
    sys.exit(main())
