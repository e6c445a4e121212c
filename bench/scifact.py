"""BEIR SciFact through the product's own ingest, store, index and retrieval, scored like BEIR (trec_eval).

Why: published baselines (BM25 nDCG@10 0.665-0.679, all-MiniLM-L6-v2 0.645 on the test split) tell whether
the keyword and dense halves of the product work as well as they should, independently of our small dev set.

Each abstract becomes one Document with one Segment holding `title + " " + text` (as BEIR indexes it) and an
EMPTY document title: the product prefixes every chunk's embedding text and FTS context column with the
episode title, so a real title there would be counted twice (and repeated on every chunk of a split abstract).
Abstracts longer than KB_MAX_CHUNK_WORDS become several chunks; a document scores as its best chunk (documents
are ranked by their first chunk in the product's result list).

The store lives in bench/results/cache/scifact-<model> (gitignored); unchanged chunks are never re-embedded.

    .venv/bin/python bench/scifact.py [--qrels qrels/train.tsv] [--candidates N] [--limit N]
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

from rich.table import Table
from tqdm import tqdm

from _env import REPO, RESULTS, code_version, machine, relevant_settings, wide_console, write_result
from core.knowledge_base import KnowledgeBase
from core.models import Document, Kind, Segment
from core.settings import get_settings
from ingest.pipeline import ingest_documents
from search.retrieval import Mode

SCIFACT = REPO.parent / "shared" / "eval" / "scifact"
PUBLISHED = {"bm25 (BEIR paper)": 0.665, "bm25 (Anserini flat)": 0.679, "all-MiniLM-L6-v2 (MTEB)": 0.645}
console = wide_console()


def load_corpus(path: Path) -> list[tuple[Document, str, str]]:
    """(Document, source text, path) triples for `ingest_documents`; all share the corpus path, like a
    multi-episode file, so a document dropped from the corpus is dropped from the store."""
    batch = []
    abspath = str(path.resolve())
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            d = json.loads(line)
            text = f"{d['title']} {d['text']}".strip()
            seg = Segment(text=text, char_start=0, char_end=len(text), kind=Kind.note)
            batch.append((Document(id=str(d["_id"]), title="", source="scifact", kind=Kind.note, segments=[seg]),
                          text, abspath))
    return batch


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    """query id -> {doc id: graded relevance}, from a BEIR `query-id corpus-id score` TSV with a header."""
    qrels: dict[str, dict[str, int]] = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f):
            parts = line.rstrip("\n").split("\t")
            if n == 0 and not parts[-1].lstrip("-").isdigit():
                continue
            qid, did, score = parts
            qrels.setdefault(qid, {})[did] = int(score)
    return qrels


def evaluate(qrels: dict[str, dict[str, int]], run: dict[str, list[str]]) -> dict[str, float]:
    """Mean nDCG@10, recall@10, recall@100 over every judged query (a query with no results scores 0).

    trec_eval via pytrec_eval, as BEIR does; ranks are turned into descending scores so trec_eval keeps our
    order instead of re-breaking ties by doc id."""
    try:
        import pytrec_eval
    except ImportError:  # pragma: no cover - install problem
        sys.exit("pytrec_eval is missing: install the test extras (pip install -e '.[test]')")
    scored = {q: {d: float(len(docs) - i) for i, d in enumerate(docs)} for q, docs in run.items() if docs}
    per_query = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "recall.10,100"}).evaluate(scored)
    names = {"ndcg@10": "ndcg_cut_10", "recall@10": "recall_10", "recall@100": "recall_100"}
    return {name: round(sum(per_query.get(q, {}).get(key, 0.0) for q in qrels) / len(qrels), 4)
            for name, key in names.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scifact", type=Path, default=SCIFACT, help="BEIR SciFact folder")
    ap.add_argument("--qrels", default="qrels/train.tsv", help="judgments, relative to --scifact or absolute")
    ap.add_argument("--candidates", type=int, help="override KB_CANDIDATES (depth of each ranked list)")
    ap.add_argument("--limit", type=int, help="only the first N judged queries (quick check)")
    ap.add_argument("--out", type=Path, default=RESULTS / "scifact.json")
    args = ap.parse_args()

    base = get_settings()
    model_tag = re.sub(r"[^\w.-]+", "_", base.model)
    overrides = {"data_dir": RESULTS / "cache" / f"scifact-{model_tag}{'' if base.sentence_vectors else '-nowin'}"}
    if args.candidates:
        overrides["candidates"] = args.candidates
    settings = base.model_copy(update=overrides)
    kb = KnowledgeBase(settings)

    batch = load_corpus(args.scifact / "corpus.jsonl")
    t0 = time.perf_counter()
    report = ingest_documents(kb.store, kb.embedder, batch, max_words=settings.max_chunk_words,
                              min_words=settings.min_chunk_words, sentence_vectors=settings.sentence_vectors,
                              batch_size=settings.batch_size, progress=True)
    kb.index()
    docs, chunks, _ = kb.store.counts()
    console.print(f"index: {docs} docs, {chunks} chunks in {settings.data_dir} ({report.chunks_embedded} embedded, "
                  f"{time.perf_counter() - t0:.0f} s)")

    qrels_path = Path(args.qrels) if Path(args.qrels).is_absolute() else args.scifact / args.qrels
    qrels = load_qrels(qrels_path)
    queries = {}
    with open(args.scifact / "queries.jsonl", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                q = json.loads(line)
                queries[str(q["_id"])] = q["text"]
    judged = [q for q in qrels if q in queries]
    if args.limit:
        judged = judged[: args.limit]
    qrels = {q: qrels[q] for q in judged}

    depth = 2 * settings.candidates  # every candidate the fused list can hold, so recall@100 sees all of them
    results: dict[str, dict[str, float]] = {}
    timing: dict[str, dict[str, float]] = {}
    for mode in Mode:
        run: dict[str, list[str]] = {}
        times = []
        for qid in tqdm(judged, desc=f"{mode.value} queries", unit="query"):
            t = time.perf_counter()
            hits = kb.search(queries[qid], k=depth, mode=mode)
            times.append(time.perf_counter() - t)
            run[qid] = list(dict.fromkeys(h.episode.id for h in hits))[:100]  # doc = its best chunk
        results[mode.value] = evaluate(qrels, run)
        timing[mode.value] = {"ms_per_query_p50": round(statistics.median(times) * 1000, 1),
                              "docs_returned_mean": round(statistics.mean(len(v) for v in run.values()), 1)}

    table = Table("mode", "nDCG@10", "recall@10", "recall@100", "docs returned", "ms/query",
                  title=f"SciFact {qrels_path.name}: {len(judged)} queries, {docs} docs, {chunks} chunks, {kb.embedder.name}")
    for mode, m in results.items():
        star = " (default)" if mode == settings.search_mode else ""
        table.add_row(mode + star, f"{m['ndcg@10']:.3f}", f"{m['recall@10']:.3f}", f"{m['recall@100']:.3f}",
                      str(timing[mode]["docs_returned_mean"]), str(timing[mode]["ms_per_query_p50"]))
    console.print(table)
    console.print("published nDCG@10 (test split): " + ", ".join(f"{k} {v}" for k, v in PUBLISHED.items()))

    out = {"default_mode": settings.search_mode, "modes": results, "qrels": str(qrels_path), "queries": len(judged),
           "corpus": {"docs": docs, "chunks": chunks}, "model": kb.embedder.name, "machine": machine(), "code": code_version(),
           "settings": relevant_settings(settings, kb.embedder.name), "timing": timing,
           "published_ndcg@10_test": PUBLISHED}
    write_result(args.out, out)
    console.print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
