"""Scaling out (issue 17): insert throughput and /search p50/p99 of the two storage backends on synthetic stores
of N chunks, as ratios measured in one run on this machine.

    .venv/bin/python bench/scale.py --rows 100000 [--rows 1000000] [--queries 200] [--out bench/results/scale.json]
        [--reuse: only /search again, on the stores an earlier run left in bench/results/cache/scale-<N>/]

Per N:
  1. A synthetic SQLite store is written through the product's own write path (Store.replace_episode in one
     transaction, then the version bump), without parsing or encoding: N/100 episodes of 100 chunks of ~60 words
     drawn (Zipf) from a 30,000-word synthetic vocabulary, 3 speakers an episode, 0-2 of the taxonomy's themes a
     chunk (strongest first), and each chunk's vector the fake encoder's (hashed bag of words, 384-d), so a
     query's words really do find their chunks on both sides. No sentence windows (one vector per chunk).
     Timed as `store_write`: both backends pay it (SQLite stays the source of truth with KB_BACKEND=milvus).
  2. sqlite: the FAISS index is built from the stored vectors (`kb.index()`, HNSW from 50k vectors as the
     product chooses). milvus: a copy of the same store is published to a fresh milvus-lite (`kb.index()`:
     rows in batches of 500, flush, indexes). Each is timed as the backend's `index` step.
     insert rows/s = N / (store_write + index); the ratio is milvus / sqlite.
  3. /search over the HTTP app in-process (FastAPI TestClient, as `kb serve` builds it), one query at a time,
     alternating backends query by query so both see the same load: `--queries` plain queries (2-4 words from
     the vocabulary), then the same number with one theme filter, then with a speaker filter. p50/p99 in ms and
     the ratio milvus / sqlite. The top-10 overlap of the two backends on the plain queries is reported too.

milvus-lite is Milvus's in-process test engine (pure Python, FAISS inside), not the C++ server: its figures say
what kb's Milvus path costs on one small machine, not what a cluster does (see the sizing in bench/README.md).
Stores live in bench/results/cache/scale-<N>/ (gitignored) and are rebuilt on every run.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import time
from pathlib import Path

import numpy as np

from _env import RESULTS, copy_store, machine, write_result  # noqa: E402  (puts the repository first on sys.path)
from core.knowledge_base import KnowledgeBase  # noqa: E402
from core.models import Document, Kind, Segment  # noqa: E402
from core.models import Chunk as ChunkModel  # noqa: E402
from core.settings import Settings  # noqa: E402
from search import theme_store  # noqa: E402
from search.embedding import FakeEmbedder  # noqa: E402

CHUNKS_PER_EPISODE = 100
WORDS_PER_CHUNK = 60
VOCAB = 30_000
PEOPLE = [f"speaker{n}" for n in range(200)]
SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "vi", "so", "pe", "da", "zu", "fo", "gi", "ha", "be", "xo"]


def vocabulary(rng: random.Random) -> list[str]:
    words: set[str] = set()
    while len(words) < VOCAB:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def sampler(rng: np.random.Generator, n: int):
    """Zipf-like word ranks (s = 1.1) over the vocabulary."""
    p = 1.0 / np.arange(1, n + 1) ** 1.1
    p /= p.sum()
    return lambda size: rng.choice(n, size=size, p=p)


def write_store(data_dir: Path, rows: int, seed: int, themes: list[str]) -> dict:
    """A synthetic store of `rows` chunks through Store.replace_episode; returns what the queries need."""
    if data_dir.exists():
        shutil.rmtree(data_dir)
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    vocab = vocabulary(rng)
    draw = sampler(nrng, len(vocab))
    fake = FakeEmbedder()
    kb = KnowledgeBase(Settings(data_dir=data_dir, model="fake"))
    store = kb.store
    people = PEOPLE
    began = time.perf_counter()
    tags = []
    with store.transaction():
        for e in range(rows // CHUNKS_PER_EPISODE):
            eid = f"ep-{e:07d}"
            who = rng.sample(people, 3)
            doc = Document(id=eid, title=f"Show {e % 500}: episode {e}", source=f"synthetic/{eid}.vtt",
                           kind=Kind.transcript, segments=[Segment(text="x", char_start=0, char_end=1)],
                           speakers={w: w.title() + " Person" for w in who})
            chunks, hashes, texts = [], [], []
            pos = 0
            for o in range(CHUNKS_PER_EPISODE):
                text = " ".join(vocab[i] for i in draw(WORDS_PER_CHUNK))
                sp = who[o % 3]
                chunks.append(ChunkModel(episode_id=eid, episode_title=doc.title, ordinal=o, text=text, speaker=sp,
                                         speakers=[sp], start=o * 30.0, end=o * 30.0 + 30, char_start=pos,
                                         char_end=pos + len(text), source=doc.source, kind=Kind.transcript))
                pos += len(text) + 1
                hashes.append(f"{eid}:{o}")
                texts.append(text)
            vecs = fake.encode(texts)
            store.db.executemany("INSERT OR REPLACE INTO embeddings (hash, model, dim, vector) VALUES (?,?,?,?)",
                                 [(h, fake.name, 384, v.tobytes()) for h, v in zip(hashes, vecs)])
            store.replace_episode(doc, chunks, f"h{e}", doc.source, hashes, [doc.title] * len(chunks))
            tags.append(eid)
        ids = [r[0] for r in store.db.execute("SELECT id FROM chunks ORDER BY id")]
        rows_t = []
        for cid in ids:
            for j, t in enumerate(rng.sample(themes, rng.choice([0, 1, 1, 2]))):
                rows_t.append((cid, t, 0.9 - 0.1 * j, 0.5, "[]"))
        store.db.executemany("INSERT INTO chunk_themes (chunk_id, theme, score, similarity, matched) VALUES (?,?,?,?,?)",
                             rows_t)
        store.bump_version()
    theme_store.set_fingerprint(store, kb.taxonomy.fingerprint())
    seconds = time.perf_counter() - began
    store.close()
    return {"seconds": round(seconds, 2), "vocab": vocab, "people": people}


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))], 2)


def run(rows: int, queries: int, seed: int, save=lambda partial: None, reuse: dict | None = None) -> dict:
    """One store size; `save(partial)` is called after each stage so a long run that is cut short keeps its figures.
    `reuse`: the figures of an earlier run of this size whose stores are still in the cache: only /search is
    measured again (the stores are opened, not rebuilt; the same seed gives the same queries)."""
    from fastapi.testclient import TestClient

    from api.http import create_app

    base = RESULTS / "cache" / f"scale-{rows}"
    themes = KnowledgeBase(Settings(data_dir=base / "probe", model="fake")).taxonomy.names
    shutil.rmtree(base / "probe", ignore_errors=True)
    kbs = {}
    if reuse:  # the stores are current: kb.index() only opens them (milvus-lite loads its collections)
        made = {"vocab": vocabulary(random.Random(seed)), "people": PEOPLE}
        out = {k: v for k, v in reuse.items() if k not in ("search", "top10_overlap_plain", "complete")}
        out.update(search={}, reused_stores=True, reopen_s={})
        step = "reopen_s"
    else:
        print(f"[{rows}] writing the synthetic store...", flush=True)
        made = write_store(base / "sqlite", rows, seed, themes)
        shutil.rmtree(base / "milvus", ignore_errors=True)
        copy_store(base / "sqlite" / "kb.sqlite", base / "milvus")
        out = {"rows": rows, "store_write_s": made["seconds"], "index_s": {}, "insert_rows_per_s": {}, "search": {}}
        step = "index_s"
    for name in ("sqlite", "milvus"):
        kb = KnowledgeBase(Settings(data_dir=base / name, model="fake", backend=name))
        began = time.perf_counter()
        kb.index()
        out[step][name] = round(time.perf_counter() - began, 2)
        if not reuse:
            out["insert_rows_per_s"][name] = round(rows / (made["seconds"] + out["index_s"][name]), 1)
        print(f"[{rows}] {name}: {step[:-2]} {out[step][name]} s", flush=True)
        kbs[name] = kb
        save(out)
    if not reuse:
        out["insert_ratio_milvus_over_sqlite"] = round(
            out["insert_rows_per_s"]["milvus"] / out["insert_rows_per_s"]["sqlite"], 3)
        out["index_ratio_milvus_over_sqlite"] = round(out["index_s"]["milvus"] / max(out["index_s"]["sqlite"], 1e-9), 2)

    rng = random.Random(seed + 1)
    vocab, people = made["vocab"], made["people"]
    plain = [" ".join(rng.choice(vocab[:5000]) for _ in range(rng.randint(2, 4))) for _ in range(queries)]
    cases = {"plain": [{"q": q} for q in plain],
             "theme": [{"q": q, "theme": rng.choice(themes)} for q in plain],
             "speaker": [{"q": q, "speaker": rng.choice(people)} for q in plain]}
    clients = {name: TestClient(create_app(kb)) for name, kb in kbs.items()}
    for client in clients.values():  # warm-up: the first query loads collections and the index
        for q in plain[:5]:
            client.get("/search", params={"q": q, "k": 10})
    tops: dict[str, list[list[int]]] = {name: [] for name in clients}
    for case, params in cases.items():
        times: dict[str, list[float]] = {name: [] for name in clients}
        for p in params:
            for name, client in clients.items():
                began = time.perf_counter()
                r = client.get("/search", params={**p, "k": 10})
                times[name].append((time.perf_counter() - began) * 1000)
                assert r.status_code == 200, r.text
                if case == "plain":
                    tops[name].append([h["chunk_id"] for h in r.json()["results"]])
        out["search"][case] = {name: {"p50_ms": pct(t, 0.5), "p99_ms": pct(t, 0.99)} for name, t in times.items()}
        out["search"][case]["p50_ratio_milvus_over_sqlite"] = round(
            out["search"][case]["milvus"]["p50_ms"] / out["search"][case]["sqlite"]["p50_ms"], 2)
        out["search"][case]["p99_ratio_milvus_over_sqlite"] = round(
            out["search"][case]["milvus"]["p99_ms"] / out["search"][case]["sqlite"]["p99_ms"], 2)
        print(f"[{rows}] {case}: {json.dumps(out['search'][case])}", flush=True)
        save(out)
    overlap = [len(set(a) & set(b)) / max(len(a), 1) for a, b in zip(tops["sqlite"], tops["milvus"])]
    out["top10_overlap_plain"] = {"mean": round(statistics.mean(overlap), 4), "min": round(min(overlap), 4)}
    for kb in kbs.values():
        kb.backend.close()
        kb.store.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, action="append", help="chunks in the synthetic store (repeatable)")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--out", type=Path, default=RESULTS / "scale.json")
    ap.add_argument("--reuse", action="store_true", help="measure /search again on the stores an earlier run of "
                    "the same size left in the cache (its write and index figures are taken from --out)")
    args = ap.parse_args()
    earlier = {r["rows"]: r for r in json.loads(args.out.read_text())["runs"]} if args.reuse and args.out.exists() else {}
    import pymilvus
    import milvus_lite  # noqa: F401

    from importlib.metadata import version

    report = {**machine(), "pymilvus": pymilvus.__version__,
              "milvus_lite": version("milvus-lite"), "queries": args.queries,
              "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "runs": []}
    for rows in args.rows or [100_000]:
        def save(partial: dict, done: int = len(report["runs"])) -> None:
            write_result(args.out, {**report, "runs": report["runs"][:done] + [{**partial, "complete": False}]})
        if args.reuse and rows not in earlier:
            raise SystemExit(f"--reuse: {args.out} has no run of {rows} rows")
        report["runs"].append(run(rows, args.queries, args.seed, save, earlier.get(rows)))
        write_result(args.out, report)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
