"""Batch ingest at scale over the Changelog transcripts: what the pipeline adds on top of the encoder, what a
re-run and a small new batch cost, /search latency and `kb serve` memory, flat vs HNSW, fp32 vs bf16.

Every speed is a ratio against a baseline measured in the same run on this machine (others share its cores, so
absolute figures drift between runs). Subsets are spread over all shows (every k-th file, sorted by path).

  1. pipeline vs encoder: a dry run of the product (no encoding) gives the exact encoder calls a real ingest of
     N files makes; after one warm-up encode over a length-spread sample, the encoder alone runs those calls,
     then a fresh store ingests the N files for real, then the encoder alone runs the calls it made again
     (sentence windows on, then off). ratio = mean(encoder alone before, after) / pipeline time; both are kept.
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

Full size (--full-serve): every Changelog transcript into bench/results/cache/full-<win|nowin>/ (kept between
runs, so only the first run encodes), then `kb serve` on it: /search p50/p99 over HTTP, VmHWM, and the keyword
(FTS5 BM25) and dense (FAISS) sides timed in-process. KB_SENTENCE_VECTORS decides windows:

    KB_SENTENCE_VECTORS=false .venv/bin/python bench/ingest.py --full-serve --queries 300

+N episodes at full size (--full-add N): on a throwaway copy of the --full-store store (the cache is never
written), untimed: a theme re-tag if the store's tags are stale for the current taxonomy, one ingest of the
unchanged folder so every file has a key for the current code, then N spread episodes and their now-unused
vectors removed through the store API and FAISS synced. Timed: `kb.ingest` over all Changelog transcripts plus
`kb.index()` with the real encoder (the N come back, every other file is skipped unparsed), against the encoder
alone twice on the same calls; ratio = total / their mean. Updates `full_add` in bench/results/ingest.json:

    .venv/bin/python bench/ingest.py --full-add 10 [--full-store bench/results/cache/full-nowin-pooled2048]

/search latency (--search-latency): `kb serve` on the default corpus (a store built once under
bench/results/cache/search-corpus) and on the full-size store a `--full-serve --real-vectors N` run left in the
cache (read as it is: nothing is ingested). Per store: /search p50/p99 over HTTP, and in-process on the same
queries: kb.search total and per stage (query encode, keyword side, FAISS, chunk vectors,
neighbour context, chunk and theme fetch, collapse, response JSON). With --baseline-code, each store is also
served from another source tree (a git worktree of an earlier commit) on the same queries: a before/after in one
run. Writes bench/results/search-latency.json:

    git worktree add --detach /tmp/kb-before b2fca49   # the commit before the serve thread fix
    .venv/bin/python bench/ingest.py --search-latency [--queries 200] [--full-store DIR] [--baseline-code /tmp/kb-before]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import faiss
import numpy as np
from rich.table import Table

# this file is named like the `ingest` package: the repo root goes first, so `ingest` is the package
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _env import REPO, RESULTS, code_version, kb_server, machine, relevant_settings, wide_console, write_result
from core.knowledge_base import KnowledgeBase
from core.settings import get_settings
from search import vector_index as vi
from search.embedding import Embedder, get_embedder

CORPUS = REPO.parent / "shared" / "corpora" / "changelog"
CACHE = RESULTS / "cache"
console = wide_console()


class Recording(Embedder):
    """Wraps the encoder: records each call the pipeline made (its texts, in its slices) and the time inside it.
    `dry`: no encoding at all (random unit vectors), to learn what a real run will ask for before it runs."""

    def __init__(self, inner: Embedder, keep: bool = True, dry: bool = False):
        self.inner, self.name, self.dim, self.keep, self.dry = inner, inner.name, inner.dim, keep, dry
        self.slices: list[list[str]] = []
        self.calls = 0
        self.seconds = 0.0

    @property
    def texts(self) -> list[str]:
        return [t for part in self.slices for t in part]

    def encode(self, texts: list[str], batch_size: int = 16, progress: bool = False) -> np.ndarray:
        t = time.perf_counter()
        if self.dry:
            out = np.random.default_rng(len(texts)).standard_normal((len(texts), self.dim)).astype(np.float32)
            out /= np.linalg.norm(out, axis=1, keepdims=True)
        else:
            out = self.inner.encode(texts, batch_size)
        self.seconds += time.perf_counter() - t
        self.calls += len(texts)
        if self.keep:
            self.slices.append(list(texts))
        return out


class Pooled(Embedder):
    """Full-size latency when encoding every text is out of reach on the shared cores: the first `real` texts
    it is asked for are encoded for real; every later text gets a mix of two of those real vectors (chosen by
    the text's hash) plus noise, renormalised, so the index holds that many vectors spread like real ones.
    Only for a throwaway store (full-<tag>-pooled<N>), never a cache a real run reads."""

    def __init__(self, inner: Embedder, real: int):
        self.inner, self.name, self.dim, self.budget = inner, inner.name, inner.dim, real
        self.pool: list[np.ndarray] = []
        self.real = self.synthetic = 0
        self.seconds = 0.0

    def encode(self, texts: list[str], batch_size: int = 16, progress: bool = False) -> np.ndarray:
        n_real = max(0, min(len(texts), self.budget - self.real))
        parts = []
        if n_real:
            t = time.perf_counter()
            parts.append(self.inner.encode(texts[:n_real], batch_size))
            self.seconds += time.perf_counter() - t
            self.pool.append(parts[-1])
            self.real += n_real
        rest = texts[n_real:]
        if rest:
            pool = np.concatenate(self.pool)
            seeds = np.array([int.from_bytes(hashlib.blake2b(x.encode(), digest_size=8).digest(), "little") >> 1
                              for x in rest], dtype=np.int64)
            rng = np.random.default_rng(int(seeds[0]))
            a, b = pool[seeds % len(pool)], pool[(seeds // len(pool)) % len(pool)]
            w = rng.uniform(0.5, 1.0, (len(rest), 1)).astype(np.float32)
            x = w * a + (1 - w) * b + rng.standard_normal(a.shape).astype(np.float32) * (0.3 / np.sqrt(self.dim))
            parts.append(x / np.linalg.norm(x, axis=1, keepdims=True))
            self.synthetic += len(rest)
        return np.concatenate(parts) if parts else np.zeros((0, self.dim), dtype=np.float32)


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


@contextmanager
def watching(owner: object, name: str, seen: Callable[[tuple, float], None]) -> Iterator[None]:
    """Reports every call to `owner.name` while the block runs to `seen` (its arguments, seconds inside it): where a
    query's time goes is measured, and what a step must not do (a full FAISS rebuild, parsing an unchanged file, a
    re-tag) is checked, not assumed."""
    real, own = getattr(owner, name), name in vars(owner)  # not own: a method the instance inherits

    def wrapper(*a, **k):
        t = time.perf_counter()
        try:
            return real(*a, **k)
        finally:
            seen(a, time.perf_counter() - t)

    setattr(owner, name, wrapper)
    try:
        yield
    finally:
        if own:
            setattr(owner, name, real)
        else:
            delattr(owner, name)


@contextmanager
def counting(owner: object, name: str) -> Iterator[list]:
    """The calls to `owner.name` while the block runs, each recorded by its first argument."""
    calls: list = []
    with watching(owner, name, lambda a, _: calls.append(a[0] if a else None)):
        yield calls


def timed_encode(embedder: Embedder, slices: list[list[str]], batch_size: int) -> float:
    """The encoder alone over exactly the calls the pipeline made (same texts, same slices, same order); seconds."""
    t = time.perf_counter()
    for part in slices:
        embedder.encode(part, batch_size=batch_size)
    return time.perf_counter() - t


def warm_up(embedder: Embedder, texts: list[str], batch_size: int, n: int = 512) -> float:
    """Encode n texts spread evenly over the length range before anything is timed: the first encodes pay for
    oneDNN/torch kernel creation per (batch, sequence length) shape and for allocator growth, and whichever
    phase runs first would otherwise carry that cost alone."""
    by_len = sorted(texts, key=len)
    sample = [by_len[i * len(by_len) // n] for i in range(min(n, len(by_len)))]
    t = time.perf_counter()
    embedder.encode(sample, batch_size=batch_size)
    return time.perf_counter() - t


def phase_pipeline(inner: Embedder, folder: Path, windows: bool, work: Path, batch_size: int,
                   warm: bool) -> dict:
    """Encoder alone before, the pipeline, encoder alone after, all on the same calls. A dry run of the product
    (no encoding) first gives the exact calls a real run makes, so the baseline can also run before it."""
    tag = "win" if windows else "nowin"
    dry = Recording(inner, dry=True)
    kb = fresh_kb(work / f"dry-{tag}", dry, sentence_vectors=windows)
    kb.ingest([folder])
    kb.store.close()
    shutil.rmtree(work / f"dry-{tag}", ignore_errors=True)
    warm_s = warm_up(inner, dry.texts, batch_size) if warm else None
    before = timed_encode(inner, dry.slices, batch_size)

    rec = Recording(inner)
    kb = fresh_kb(work / f"fresh-{tag}", rec, sentence_vectors=windows)
    t = time.perf_counter()
    report = kb.ingest([folder], progress=True)
    total = time.perf_counter() - t
    after = timed_encode(inner, rec.slices, batch_size)
    e, c, v = kb.store.counts()
    ids, _ = kb.store.vectors(rec.name)
    kb.store.close()
    alone = (before + after) / 2
    return {"sentence_vectors": windows, "episodes": e, "chunks": c, "encoded_texts": report.chunks_embedded,
            "encoder_calls_texts": rec.calls, "encoder_calls": len(rec.slices), "index_vectors": int(len(ids)),
            "failed": len(report.failed), "same_calls_as_dry_run": rec.slices == dry.slices,
            "warm_up_s": None if warm_s is None else round(warm_s, 2),
            "encoder_alone_before_s": round(before, 2), "pipeline_s": round(total, 2),
            "in_pipeline_encode_s": round(rec.seconds, 2), "encoder_alone_after_s": round(after, 2),
            "encoder_alone_s": round(alone, 2), "ratio_encoder_over_pipeline": round(alone / total, 3),
            "ratio_before": round(before / total, 3), "ratio_after": round(after / total, 3),
            "pipeline_texts_per_s": round(report.chunks_embedded / total, 1),
            "encoder_texts_per_s": round(rec.calls / alone, 1),
            "pipeline_chunks_per_s": round(c / total, 1), "encoder_chunks_per_s_equiv": round(c / alone, 1),
            "overhead_outside_encoder_s": round(total - rec.seconds, 2)}


def phase_serve(data_dir: Path, queries: list[str], overrides: dict, code: Path | None = None) -> dict:
    """`kb serve` in its own process; /search over HTTP (a new connection per request, k=10, each query sent
    once after 5 warm-up ones); peak RSS from /proc. `overrides` become KB_* variables of the server; `code` is
    another source tree to serve from (a git worktree of an earlier commit), for a before/after in one run."""
    env = {**os.environ, "KB_DATA_DIR": str(data_dir), **{f"KB_{k.upper()}": str(v) for k, v in overrides.items()}}
    began = time.perf_counter()
    command = None if code is None else [
        sys.executable, "-c", f"import sys; sys.path.insert(0, {str(code)!r}); from api.cli import app; app()"]
    with kb_server(env, command, cwd=code or REPO) as (base, proc, health):
        ready_s = time.perf_counter() - began
        for q in ("warm-up " + q for q in queries[:5]):  # the queries themselves stay unseen (no cached encode)
            urllib.request.urlopen(f"{base}/search?{urllib.parse.urlencode({'q': q})}", timeout=120).read()
        lat = []
        for q in queries:
            t = time.perf_counter()
            urllib.request.urlopen(f"{base}/search?{urllib.parse.urlencode({'q': q, 'k': 10})}", timeout=120).read()
            lat.append((time.perf_counter() - t) * 1000)
        status = Path(f"/proc/{proc.pid}/status").read_text()
        hwm = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
    return {"queries": len(lat), **percentiles(lat), "peak_rss_mb": round(hwm / 1024, 1), "health": health,
            "ready_s": round(ready_s, 1)}


def percentiles(ms: list[float]) -> dict:
    ms = sorted(ms)
    return {"p50_ms": round(ms[len(ms) // 2], 1), "p99_ms": round(ms[max(0, int(len(ms) * 0.99) - 1)], 1)}


def search_stages(kb: KnowledgeBase, queries: list[str]) -> dict:
    """kb.search in-process on each query (its encode not cached), with every stage timed, then the response
    JSON built as /search builds it."""
    from api.http import SearchResponse
    from search import retrieval

    stages: dict[str, list[float]] = {}
    acc: dict[str, float] = {}

    def add(label: str) -> Callable[[tuple, float], None]:
        return lambda _, seconds: acc.__setitem__(label, acc.get(label, 0.0) + seconds * 1000)

    total: list[float] = []
    with ExitStack() as patches:
        for owner, name, label in [
                (kb.embedder, "encode_query", "query encode"), (kb.store, "keyword_search", "keyword side (FTS5 BM25)"),
                (type(kb.index()), "search", "FAISS search"), (kb.store, "chunk_vectors", "chunk vectors (dense mix)"),
                (kb.store, "positions", "neighbour context"), (retrieval, "in_context", "neighbour context"),
                (kb.store, "chunks", "chunk + theme fetch"), (retrieval, "collapse", "collapse near-duplicates"),
                (retrieval.Retriever, "_transcript_links", "write-up -> transcript links"),
                (retrieval, "to_hit", "hits")]:
            patches.enter_context(watching(owner, name, add(label)))
        for q in queries:
            kb._encode_query.cache_clear()
            acc.clear()
            t = time.perf_counter()
            hits = kb.search(q, 10)
            total.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            SearchResponse(results=hits).model_dump_json()
            acc["response JSON"] = (time.perf_counter() - t) * 1000
            for label, ms in acc.items():
                stages.setdefault(label, []).append(ms)
    return {"kb_search": percentiles(total),
            "stages_p50_ms": {k: round(statistics.median(v + [0.0] * (len(queries) - len(v))), 2)
                              for k, v in stages.items()},
            "stages_mean_ms": {k: round(sum(v) / len(queries), 2) for k, v in stages.items()},
            "stage_note": "wall time per query inside each stage; the keyword side runs in a thread beside the "
                          "query encode and FAISS, so stages overlap; the rest of kb.search is fusion, ranking and "
                          "Python between the stages"}


def search_latency_store(data_dir: Path, settings, queries: list[str], baseline: Path | None) -> dict:
    """One store: HTTP (and HTTP from the baseline source tree), then in-process stages on the same queries."""
    import torch

    for f in (data_dir / "kb.sqlite", data_dir / "index.faiss"):  # into the page cache: the first server is not
        with open(f, "rb") as fh:                                   # the only one reading from disk
            while fh.read(1 << 24):
                pass
    kb = KnowledgeBase(settings.model_copy(update={"data_dir": data_dir}))
    e, c, _ = kb.store.counts()
    kb.store.close()
    out: dict = {"data_dir": str(data_dir.relative_to(REPO) if data_dir.is_relative_to(REPO) else data_dir),
                 "episodes": e, "chunks": c, "queries": len(queries)}
    base = {"model": settings.model, "precision": settings.precision}
    out["serve"] = phase_serve(data_dir, queries, base)  # KB_SERVE_THREADS default: 1
    console.print({"serve": out["serve"]})
    if baseline is not None:
        out["serve_baseline"] = phase_serve(data_dir, queries, base, code=baseline)
        out["serve_baseline"]["code"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=baseline,
                                                       capture_output=True, text=True).stdout.strip()
        console.print({"serve, baseline code": out["serve_baseline"]})
    kb = KnowledgeBase(settings.model_copy(update={"data_dir": data_dir}))
    kb.warm_up()
    torch.set_num_threads(settings.serve_threads)  # as `kb serve` runs it
    index = kb.index()
    out["index"] = {"kind": index.kind, "vectors": index.live}
    out["in_process"] = search_stages(kb, queries)
    out["http_over_in_process_p50"] = round(out["serve"]["p50_ms"] / out["in_process"]["kb_search"]["p50_ms"], 2)
    kb.store.close()
    console.print(out["in_process"])
    return out


def phase_search_latency(settings, n_queries: int, full_store: Path, baseline: Path | None = None) -> dict:
    """/search latency on the default corpus and at full size (see the module docstring)."""
    out: dict = {"machine": machine(), "code": code_version(), "settings": relevant_settings(settings),
                 "load_before": os.getloadavg()}
    small = CACHE / "search-corpus"
    kb = KnowledgeBase(settings.model_copy(update={"data_dir": small}))
    kb.ingest([REPO / "corpus"])  # once; later runs find every file unchanged
    queries = dev_questions() + sample_queries(kb, n_queries)
    kb.store.close()
    out["default_corpus"] = search_latency_store(small, settings, queries[:n_queries], baseline)
    if (full_store / "kb.sqlite").exists():
        kb = KnowledgeBase(settings.model_copy(update={"data_dir": full_store}))
        queries = sample_queries(kb, n_queries)
        kb.store.close()
        out["full_size"] = search_latency_store(full_store, settings, queries, baseline)
        note = full_store / "pooled.json"
        out["full_size"]["vectors"] = ("pooled: mostly synthetic vectors (see --full-serve --real-vectors), so "
                                       "latency and memory only" if note.exists() else "real")
    else:
        console.print(f"[yellow]no full-size store at {full_store}: run --full-serve --real-vectors 2048 first[/yellow]")
    out["load_after"] = os.getloadavg()
    return out


def dev_questions() -> list[str]:
    dev = REPO.parent / "shared" / "eval" / "dev.jsonl"
    return [json.loads(line)["question"] for line in dev.read_text().splitlines() if line.strip()] if dev.exists() else []


def sample_queries(kb: KnowledgeBase, n: int) -> list[str]:
    """8 words from inside n random chunks: what someone half-remembering a remark would type."""
    ids = [r[0] for r in kb.store.db.execute("SELECT id FROM chunks ORDER BY id")]
    picked = random.Random(0).sample(ids, min(n, len(ids)))
    texts = kb.store.chunks(picked)
    return [" ".join(texts[i].text.split()[5:13]) or "kubernetes" for i in picked]


def pooled_note(data_dir: Path, rec: Pooled) -> str:
    """How many vectors of a pooled store are real: written when the store is filled, read on re-runs."""
    note = data_dir / "pooled.json"
    if rec.real or rec.synthetic:
        note.write_text(json.dumps({"real": rec.real, "synthetic": rec.synthetic}))
    n = json.loads(note.read_text()) if note.exists() else {"real": "?", "synthetic": "?"}
    return (f"{n['real']} texts encoded for real, {n['synthetic']} given synthetic vectors (pairwise mixes of the "
            f"real ones plus noise): encoding all of them on the shared 2 cores was out of reach in the session")


def phase_full(settings, inner: Embedder, n_queries: int, real_vectors: int | None) -> dict:
    """The whole Changelog folder into a cached store (its embeddings table is the content-hash cache, so a
    re-run only re-reads and re-chunks), then `kb serve` on it: /search p50/p99 over HTTP and VmHWM, plus the
    keyword (FTS5 BM25) and dense (FAISS) sides timed in-process on the same queries. With `real_vectors`, only
    that many texts are encoded and the rest get synthetic vectors (see Pooled): chunks, FTS5 index and vector
    count are the full-size ones, the vectors' values are not."""
    files = sorted(p for p in CORPUS.rglob("*.md") if p.parent != CORPUS)
    tag = "win" if settings.sentence_vectors else "nowin"
    folder = link_folder(CACHE / "full-corpus", files)
    data_dir = CACHE / (f"full-{tag}" if real_vectors is None else f"full-{tag}-pooled{real_vectors}")
    rec = Recording(inner, keep=False) if real_vectors is None else Pooled(inner, real_vectors)
    kb = KnowledgeBase(settings.model_copy(update={"data_dir": data_dir}), embedder=rec)
    t = time.perf_counter()
    rep = kb.ingest([folder], progress=True)
    ingest_s = time.perf_counter() - t
    e, c, v = kb.store.counts()
    t = time.perf_counter()
    index = kb.index()
    out: dict = {"files": len(files), "sentence_vectors": settings.sentence_vectors, "episodes": e, "chunks": c,
                 "index_vectors": index.live, "index_kind": index.kind,
                 "vectors": "real" if real_vectors is None else pooled_note(data_dir, rec),
                 "this_run": {"seconds": round(ingest_s, 1), "added": len(rep.added), "skipped": len(rep.skipped),
                              "failed": len(rep.failed), "encoded_texts": rep.chunks_embedded,
                              "encode_s": round(rec.seconds, 1), "index_load_s": round(time.perf_counter() - t, 1)}}
    console.print(out)
    kb._embedder = inner  # queries are always encoded for real
    queries = sample_queries(kb, n_queries)
    retriever = kb.retriever()
    for q in queries[:5]:
        retriever.dense(q, settings.candidates, None), retriever.keyword(q, settings.candidates, None)
    sides: dict[str, list[float]] = {"keyword": [], "dense": []}
    for q in queries:
        kb._encode_query(q)  # encoded once, as a repeated query would be: the dense side is the index + lookups
        for side in sides:
            t = time.perf_counter()
            getattr(retriever, side)(q, settings.candidates, None)
            sides[side].append((time.perf_counter() - t) * 1000)
    out["in_process"] = {f"{side}_side": percentiles(ms) for side, ms in sides.items()}
    kb.store.close()
    del kb, retriever, index
    out["serve"] = phase_serve(data_dir, queries, {"model": settings.model, "precision": settings.precision,
                                                  "sentence_vectors": settings.sentence_vectors})
    console.print(out)
    return out


def phase_full_add(settings, inner: Embedder, n: int, store: Path) -> dict:
    """+n episodes on the full-size store (see the module docstring): on a throwaway copy of `store`, n spread
    episodes and their vectors come out through the store API and FAISS is synced, untimed; then `kb.ingest` over
    the whole Changelog folder with the real encoder, plus `kb.index()`, is timed against the encoder alone on
    the calls it made. Untimed preparation first: a re-tag if the store's theme tags are stale for the current
    taxonomy, and one ingest of the unchanged folder, so every file has a key for the current code and the timed
    run skips all but the n files unparsed (as a second `kb ingest` does in use)."""
    from ingest import pipeline

    if not (store / "kb.sqlite").exists():
        raise SystemExit(f"no full-size store at {store}: run --full-serve --real-vectors 2048 first")
    files = sorted(p for p in CORPUS.rglob("*.md") if p.parent != CORPUS)
    folder = link_folder(CACHE / "full-corpus", files)  # the transcripts, as --full-serve read them (no README)
    out: dict = {"store": str(store.relative_to(REPO) if store.is_relative_to(REPO) else store),
                 "load_before": os.getloadavg()}
    tmp = Path(tempfile.mkdtemp(prefix="kb-full-add-"))
    data_dir = tmp / "store"
    try:
        t = time.perf_counter()
        shutil.copytree(store, data_dir, ignore=shutil.ignore_patterns("ingest.lock"))  # the cache is never written
        out["copy_s"] = round(time.perf_counter() - t, 1)
        probe = KnowledgeBase(settings.model_copy(update={"data_dir": data_dir}), embedder=inner)
        windows = probe.store.db.execute("SELECT EXISTS (SELECT 1 FROM windows)").fetchone()[0] == 1
        probe.store.close()
        s = settings.model_copy(update={"data_dir": data_dir, "sentence_vectors": windows})  # the store's own
        kb = KnowledgeBase(s, embedder=inner)
        e0, c0, _ = kb.store.counts()
        console.print(f"copied {store} ({e0:,} episodes, {c0:,} chunks, sentence windows "
                      f"{'on' if windows else 'off'}) in {out['copy_s']} s")

        # untimed: theme tags for the current taxonomy, then file keys for the current code
        out["retag_untimed_s"] = None
        if kb.themes_stale():
            console.print("theme tags are stale for the current taxonomy: re-tagging once (untimed) ...")
            t = time.perf_counter()
            kb.retag_themes()
            out["retag_untimed_s"] = round(time.perf_counter() - t, 1)
            console.print(f"re-tagged in {out['retag_untimed_s']} s (untimed)")
        dry = Recording(inner, keep=False, dry=True)  # anything it has to encode gets a random vector
        kb._embedder = dry
        t = time.perf_counter()
        rep = kb.ingest([folder])
        out["prepare_untimed"] = {"seconds": round(time.perf_counter() - t, 1), "skipped": len(rep.skipped),
                                  "added": len(rep.added), "updated": len(rep.updated), "failed": len(rep.failed),
                                  "texts_given_random_vectors": dry.calls}
        console.print(f"file keys recorded (untimed): {out['prepare_untimed']}")
        if rep.added or rep.updated or dry.calls:
            console.print("[yellow]the cached store was not current for this code: the copy was brought up to date "
                          "with random vectors for the texts it lacked[/yellow]")

        # untimed: n spread episodes (all episodes of n files) and their now-unused vectors out, FAISS synced
        state = kb.store.episode_state()
        paths = sorted({path for _, path in state.values()})
        gone_paths = set(paths[:: max(1, len(paths) // n)][:n])
        victims = [eid for eid, (_, path) in state.items() if path in gone_paths]
        texts = [c.text for eid in victims for c in kb.store.episode_chunks(eid)]
        with kb.store.transaction():
            for eid in victims:
                kb.store.delete_episode(eid)
            pruned = kb.store.prune_embeddings()
            kb.store.bump_version()
        kb._embedder = inner
        with counting(vi, "build_index") as builds:
            t = time.perf_counter()
            kb.index()
            out["removed"] = {"files": len(gone_paths), "episodes": len(victims), "chunks": len(texts),
                              "vectors_pruned": pruned, "faiss_sync_untimed_s": round(time.perf_counter() - t, 1),
                              "faiss_rebuilt": bool(builds)}
            console.print(f"removed (untimed): {out['removed']}")
            kb.store.close()
            if texts:  # kernel shapes of these lengths, before anything is timed
                warm_up(inner, texts, s.batch_size, n=min(128, len(texts)))

            # timed: the n episodes come back through the product; every other file is skipped unparsed
            rec = Recording(inner)
            kb = KnowledgeBase(s, embedder=rec)
            stale = kb.themes_stale()  # the taxonomy changed since the re-tag: the timed run re-tags too
            builds.clear()
            out["load_timed_start"] = os.getloadavg()  # others share the cores: the figures drift with their load
            with counting(pipeline, "parse_text") as parsed, counting(kb, "retag_themes") as retags:
                t = time.perf_counter()
                report = kb.ingest([folder])
                ingest_s = time.perf_counter() - t
                kb.index()
                total = time.perf_counter() - t
        index = kb.index()
        e, c, _ = kb.store.counts()
        kb.store.close()
        alone = [timed_encode(inner, rec.slices, s.batch_size) for _ in range(2)]
        mean_alone = sum(alone) / len(alone)
        unparsed = len(report.skipped) == e0 - len(victims) and len(parsed) == len(gone_paths)
        out.update({
            "episodes_added": len(report.added), "updated": len(report.updated), "failed": len(report.failed),
            "skipped": len(report.skipped), "files_parsed": len(parsed), "all_other_files_skipped_unparsed": unparsed,
            "texts_encoded": rec.calls, "chunk_texts_embedded": report.chunks_embedded, "encoder_calls": len(rec.slices),
            "ingest_s": round(ingest_s, 1), "total_s": round(total, 1), "encoder_inside_s": round(rec.seconds, 1),
            "encoder_alone_s": [round(a, 1) for a in alone], "ratio": round(total / mean_alone, 3),
            "ratio_note": "total (kb.ingest + kb.index, real encoder) / mean of two encoder-alone runs on the same calls",
            "faiss_rebuilt": bool(builds), "index_kind": index.kind, "index_vectors": index.live,
            "episodes": e, "chunks": c, "themes_stale_at_start": stale, "retagged_in_timed_run": bool(retags),
            "load_after": os.getloadavg()})
        if not unparsed or len(report.added) != len(victims) or retags:
            console.print(f"[red]not a clean +{n}: added {len(report.added)} of {len(victims)}, skipped "
                          f"{len(report.skipped)} of {e0 - len(victims)}, parsed {len(parsed)} files, "
                          f"re-tagged {bool(retags)}[/red]")
        console.print(f"+{len(report.added)} episodes on {e0:,}: {rec.calls} texts encoded, {len(report.skipped):,} "
                      f"skipped unparsed, {total:.1f} s in all ({rec.seconds:.1f} s inside the encoder), encoder "
                      f"alone {' / '.join(f'{a:.1f}' for a in alone)} s: ratio {out['ratio']}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


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
    ap.add_argument("--real-vectors", type=int, default=None,
                    help="with --full-serve: encode only this many texts, synthetic vectors for the rest (latency only)")
    ap.add_argument("--search-latency", action="store_true",
                    help="only: /search latency through `kb serve` on the default corpus and the cached full-size "
                         "store, with the in-process path per stage; writes bench/results/search-latency.json")
    ap.add_argument("--full-store", type=Path, default=CACHE / "full-nowin-pooled2048",
                    help="with --search-latency or --full-add: the full-size store (as left by --full-serve)")
    ap.add_argument("--baseline-code", type=Path, default=None,
                    help="with --search-latency: also serve each store from this source tree (e.g. `git worktree add "
                         "/tmp/kb-before <commit>`), same queries, same run")
    ap.add_argument("--full-serve", action="store_true",
                    help="only: ingest every Changelog transcript into bench/results/cache/full-<win|nowin> (cached) "
                         "and measure `kb serve` on it; KB_SENTENCE_VECTORS decides windows. Updates `full_serve`")
    ap.add_argument("--full-add", type=int, default=None, metavar="N",
                    help="only: on a copy of --full-store, remove N spread episodes, then time `kb.ingest` bringing "
                         "them back (real encoder) against the encoder alone on the same calls. Updates `full_add`")
    args = ap.parse_args()

    settings = get_settings()
    inner = get_embedder(settings.model, settings.precision)
    if args.search_latency:
        out_path = args.out if args.out != RESULTS / "ingest.json" else RESULTS / "search-latency.json"
        result = phase_search_latency(settings, args.queries, args.full_store, args.baseline_code)
        write_result(out_path, result)
        report_latency(result, out_path)
        return
    previous = json.loads(args.out.read_text()) if args.out.exists() else {}
    if args.full_serve:
        key = ("windows_on" if settings.sentence_vectors else "windows_off") + \
            ("" if args.real_vectors is None else "_pooled_vectors")
        full = previous.get("full_serve", {})
        full[key] = {"machine": machine(), "code": code_version(), "settings": relevant_settings(settings, inner.name),
                     **phase_full(settings, inner, args.queries, args.real_vectors)}
        write_result(args.out, previous | {"full_serve": full})
        return
    if args.full_add is not None:
        result = {"machine": machine(), "code": code_version(), "settings": relevant_settings(settings, inner.name),
                  **phase_full_add(settings, inner, args.full_add, args.full_store)}
        write_result(args.out, previous | {"full_add": result})
        console.print(f"wrote full_add to {args.out}")
        return
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
    # 1. pipeline vs encoder alone, windows on and off (one warm-up before the first timed encode)
    pipe = {}
    for windows in (True, False):
        r = phase_pipeline(inner, folder, windows, work, settings.batch_size, warm=not pipe)
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
    link_folder(folder, new_files)
    rec.slices, rec.seconds = [], 0.0
    before_vectors = kb.index().live
    with counting(vi, "build_index") as builds:
        t = time.perf_counter()
        rep = kb.ingest([folder])
        add_s = time.perf_counter() - t
    alone = timed_encode(inner, rec.slices, settings.batch_size)
    index = kb.index()
    e, c, _ = kb.store.counts()
    out["add_new_episodes"] = {"added": len(rep.added), "encoded_texts": rep.chunks_embedded, "ingest_s": round(add_s, 2),
                               "in_pipeline_encode_s": round(rec.seconds, 2), "encode_alone_s": round(alone, 2),
                               "cost_ratio": round(add_s / alone, 3),
                               "index_rebuilt_from_all_vectors": bool(builds), "index_kind": index.kind,
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

    for key in ("full_serve", "full_add"):  # measured by --full-serve / --full-add runs, kept
        if key in previous:
            out[key] = previous[key]
    write_result(args.out, out)
    report(out)


def report_latency(out: dict, path: Path) -> None:
    m = out["machine"]
    t = Table(title=f"/search latency — {m['cpu']} ({m['cores']} cores); load average before "
                    f"{', '.join(f'{x:.2f}' for x in out['load_before'])}, after "
                    f"{', '.join(f'{x:.2f}' for x in out['load_after'])}")
    t.add_column("measure")
    for key in ("default_corpus", "full_size"):
        if key in out:
            t.add_column(f"{key.replace('_', ' ')} ({out[key]['chunks']:,} chunks)", justify="right")
    rows = [r for r in (out.get("default_corpus"), out.get("full_size")) if r]
    t.add_row(f"kb serve /search p50 / p99 ms ({out['code']['commit']})", *[f"{r['serve']['p50_ms']} / {r['serve']['p99_ms']}" for r in rows])
    if all("serve_baseline" in r for r in rows):
        t.add_row(f"… served from the baseline tree ({rows[0]['serve_baseline']['code']})",
                  *[f"{r['serve_baseline']['p50_ms']} / {r['serve_baseline']['p99_ms']}" for r in rows])
    t.add_row("in-process kb.search p50 / p99 ms",
              *[f"{r['in_process']['kb_search']['p50_ms']} / {r['in_process']['kb_search']['p99_ms']}" for r in rows])
    t.add_row("HTTP p50 / in-process p50", *[str(r["http_over_in_process_p50"]) for r in rows])
    for stage in rows[0]["in_process"]["stages_p50_ms"]:
        t.add_row(f"  stage p50 (mean) ms: {stage}", *[f"{r['in_process']['stages_p50_ms'].get(stage, 0)} "
                                                       f"({r['in_process']['stages_mean_ms'].get(stage, 0)})" for r in rows])
    t.add_row("kb serve peak RSS MB / ready after s", *[f"{r['serve']['peak_rss_mb']} / {r['serve']['ready_s']}" for r in rows])
    console.print(t)
    console.print(f"wrote {path}")


def report(out: dict) -> None:
    t = Table(title=f"ingest at scale — {out['subset']['files']} files, {out['subset']['words']:,} words; "
                    f"{out['machine']['cpu']} ({out['machine']['cores']} cores), {out['settings']['embedder']}")
    t.add_column("measure")
    t.add_column("value", justify="right")
    t.add_column("baseline / note")
    for key, r in out["pipeline_vs_encoder"].items():
        t.add_row(f"pipeline vs encoder ({key})", f"{r['ratio_encoder_over_pipeline']:.3f}",
                  f"{r['chunks']} chunks, {r['encoded_texts']} texts; pipeline {r['pipeline_texts_per_s']} texts/s "
                  f"({r['pipeline_chunks_per_s']} chunks/s), encoder alone {r['encoder_texts_per_s']} texts/s; "
                  f"encoder alone before/after {r['encoder_alone_before_s']} / {r['encoder_alone_after_s']} s, "
                  f"in pipeline {r['in_pipeline_encode_s']} s")
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
    for key, r in out.get("full_serve", {}).items():
        t.add_row(f"full size ({key}): /search p50 / p99 (ms)", f"{r['serve']['p50_ms']} / {r['serve']['p99_ms']}",
                  f"{r['files']} files, {r['chunks']:,} chunks, {r['index_vectors']:,} vectors ({r['index_kind']}); "
                  f"in-process keyword p50 {r['in_process']['keyword_side']['p50_ms']} ms, dense p50 "
                  f"{r['in_process']['dense_side']['p50_ms']} ms")
        t.add_row(f"full size ({key}): kb serve peak RSS (MB)", f"{r['serve']['peak_rss_mb']}", "VmHWM")
    r = out["precision"]
    t.add_row("bf16 / fp32 encoder speed", f"{r['bf16_speedup']}", f"cosine mean {r['cosine_mean']}, min {r['cosine_min']}")
    console.print(t)


if __name__ == "__main__":
    sys.exit(main())
