"""The reader (issue 16) against kb's default ranking, on sets it never saw: prints the figures and writes
bench/results/reader.json.

What is compared, per question: kb's fused list as shipped (`kb.search(q, 50)`, KB_READER off) against the same
list with its top N (30 and 50) re-ordered by the reader alone, and by z(fused) + w * z(reader) (z-scores within the
top N; the rest of the list keeps its order below).

Question sets. None was used to train the reader or pick its checkpoint (that used Changelog episodes and SciFact
train claims only, bench/data/reader_split.json). They split in two:
- "tuning": ../shared/eval/dev.jsonl and the non-fresh bench/data/questions_*.jsonl. kb's own fusion was tuned on them, and the
  interpolation weight w is chosen here (best pooled MRR@10), so their interpolation figures are optimistic.
- "fresh": bench/data/questions_fresh_*.jsonl (never used to tune kb's retrieval nor this work): retrieval metrics
  only, reported apart, with the w chosen on "tuning". This is the set that decides.
Metrics: MRR@10, recall@5, recall@10, paraphrase recall@10 (questions of category `paraphrase`), gold matched with
the product's score.py rule (api/evaluation.py). Abstention (tuning sets only): AUC of the reader's top score over
the top 30 for answerable vs unanswerable questions, beside the AUC of the top fused score; and the share of
unanswerable questions refused at the threshold that refuses at most 5 % of answerable ones.

SciFact: the BEIR test judgments are held out from this machine, so the held-out claims are the reader's own 20 % of
the train judgments (bench/data/reader_split.json: never trained on, never used to pick a checkpoint). The
product's hybrid list over the store bench/scifact.py builds (bench/results/cache/scifact-<model>[-nowin]: run
`KB_SENTENCE_VECTORS=false bench/scifact.py` once first, or bench/scifact.py and pass --scifact-windows),
documents in the order of their best chunk, the top 50 documents re-scored by the reader on that chunk's text;
nDCG@10 through bench/scifact.py's evaluate.

Latency: per question of the tuning sets, alternating order, wall time of `kb.search(q, 10)` (what /search runs
without the reader) and of `kb.search(q, 50)` + the reader over the top N + re-sort (what /search would run with
it); p50 of each and their ratio, same process, same run, one reader thread.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/reader.py [--reader DIR] [--data-dir DIR] [--skip scifact]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from _env import FRESH_SETS, REPO, RESULTS, TUNING_SETS, code_version, machine, write_result
from reader_eval import auc, z  # noqa: E402

WEIGHTS = [0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0]
DEPTHS = (30, 50)
TUNING = TUNING_SETS
FRESH = FRESH_SETS
DEFAULT_READER = RESULTS / "cache" / "reader" / "onnx"


def refusal_at(pos: list[float], neg: list[float], max_false: float = 0.05) -> dict | None:
    """The highest threshold that refuses at most `max_false` of answerable questions (score < threshold refuses),
    and the share of unanswerable questions it refuses."""
    if not pos or not neg:
        return None
    allowed = int(max_false * len(pos))
    thr = sorted(pos)[allowed]  # refusing below the (allowed+1)-th lowest answerable score
    return {"threshold": round(float(thr), 4), "false_abstain": round(sum(p < thr for p in pos) / len(pos), 4),
            "unanswerable_refused": round(sum(q < thr for q in neg) / len(neg), 4)}


def metrics(rows: list[tuple[str, int | None]]) -> dict:
    """rows: (category, rank of the first gold hit in the top 10 or None) for answerable questions."""
    n = len(rows)
    para = [r for c, r in rows if c == "paraphrase"]
    out = {"n": n,
           "mrr@10": round(sum(1 / r for _, r in rows if r and r <= 10) / n, 4) if n else None,
           "recall@5": round(sum(1 for _, r in rows if r and r <= 5) / n, 4) if n else None,
           "recall@10": round(sum(1 for _, r in rows if r and r <= 10) / n, 4) if n else None,
           "paraphrase_n": len(para),
           "paraphrase_recall@10": round(sum(1 for r in para if r and r <= 10) / len(para), 4) if para else None}
    return out


def orders_for(fused: np.ndarray, scores: np.ndarray | None, rng: np.random.Generator) -> dict[str, list[int]]:
    """Every ordering compared, as index lists into the shipped list; "random topN" (a seeded shuffle of the top N)
    is the floor a reader that learned nothing would sit on."""
    n_all = len(fused)
    orders = {"shipped": list(range(n_all))}
    if scores is None:
        return orders
    for n in DEPTHS:
        m = min(n, n_all)
        rest = list(range(m, n_all))
        orders[f"random top{n}"] = [int(i) for i in rng.permutation(m)] + rest
        orders[f"reader top{n}"] = [int(i) for i in np.argsort(-scores[:m], kind="stable")] + rest
        for w in WEIGHTS:
            comb = z(fused[:m]) + w * z(scores[:m])
            orders[f"z(fused)+{w}z(reader) top{n}"] = [int(i) for i in np.argsort(-comb, kind="stable")] + rest
    return orders


def podcast(kb, reader, log=print) -> dict:
    from api.evaluation import first_hit, load_questions

    per_set: dict[str, dict[str, list]] = {}
    group_rows: dict[str, dict[str, list]] = {"tuning": {}, "fresh": {}}
    abst = {"reader_ans": [], "reader_unans": [], "fused_ans": [], "fused_unans": []}
    rng = np.random.default_rng(16)
    for group, paths in (("tuning", TUNING), ("fresh", FRESH)):
        for path in paths:
            if not path.exists():
                log(f"missing {path}: skipped")
                continue
            name = path.stem
            t0 = time.time()
            for q in load_questions(path):
                hits = kb.search(q.question, max(DEPTHS))
                fused = np.array([h.score for h in hits], dtype=np.float64)
                scores = reader.score(q.question, [h.text for h in hits]) if hits else None
                for key, order in orders_for(fused, scores, rng).items():
                    if q.answerable and q.gold:
                        rank, _ = first_hit(q, [hits[i] for i in order[:10]])
                        per_set.setdefault(name, {}).setdefault(key, []).append((q.category, rank))
                        group_rows[group].setdefault(key, []).append((q.category, rank))
                if group == "tuning" and hits:
                    tag = "ans" if q.answerable else "unans"
                    abst[f"fused_{tag}"].append(float(fused[0]))
                    abst[f"reader_{tag}"].append(float(np.max(scores[:30])))
            log(f"  {name}: {time.time() - t0:.0f} s")
    out: dict = {"sets": {name: {k: metrics(v) for k, v in d.items()} for name, d in per_set.items()},
                 "groups": {g: {k: metrics(v) for k, v in d.items()} for g, d in group_rows.items() if d}}
    best = {}
    for n in DEPTHS:
        cand = {w: out["groups"]["tuning"][f"z(fused)+{w}z(reader) top{n}"]["mrr@10"] for w in WEIGHTS}
        w = max(cand, key=lambda k: (cand[k], -k))
        best[f"top{n}"] = {"weight": w, "tuning_mrr@10": cand[w]}
    out["weight_chosen_on_tuning"] = best
    out["abstention_tuning_sets"] = {
        "n_answerable": len(abst["fused_ans"]), "n_unanswerable": len(abst["fused_unans"]),
        "auc_top_reader_score": auc(abst["reader_ans"], abst["reader_unans"]),
        "auc_top_fused_score": auc(abst["fused_ans"], abst["fused_unans"]),
        "reader_refusal_at_5pct_false": refusal_at(abst["reader_ans"], abst["reader_unans"]),
        "fused_refusal_at_5pct_false": refusal_at(abst["fused_ans"], abst["fused_unans"])}
    return out


def latency(kb, reader, n_questions: int, log=print) -> dict:
    from api.evaluation import load_questions

    qs = [q.question for path in TUNING if path.exists() for q in load_questions(path)][:n_questions]
    times: dict[str, list[float]] = {"off": [], **{f"on top{n}": [] for n in DEPTHS}}

    def off(q):
        kb.search(q, 10)

    def on(n):
        def run(q):
            hits = kb.search(q, max(n, 10))
            s = reader.score(q, [h.text for h in hits[:n]])
            order = np.argsort(-s, kind="stable")
            return [hits[i] for i in order][:10]
        return run

    fns = {"off": off, **{f"on top{n}": on(n) for n in DEPTHS}}
    for q in qs[:3]:  # warm caches (the encoder, FAISS, the reader session)
        for fn in fns.values():
            fn(q)
    for i, q in enumerate(qs):
        keys = list(fns) if i % 2 == 0 else list(reversed(fns))
        for key in keys:
            t0 = time.perf_counter()
            fns[key](q)
            times[key].append((time.perf_counter() - t0) * 1000)
    out = {k: {"p50_ms": round(statistics.median(v), 1), "p90_ms": round(float(np.percentile(v, 90)), 1)}
           for k, v in times.items()}
    for n in DEPTHS:
        out[f"ratio_p50_on_top{n}_vs_off"] = round(out[f"on top{n}"]["p50_ms"] / out["off"]["p50_ms"], 2)
    out["questions"] = len(qs)
    out["reader_threads"] = reader.threads
    out["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return out


def scifact(reader, depth: int, windows: bool, log=print) -> dict:
    import re

    from core.knowledge_base import KnowledgeBase
    from core.settings import Settings
    from scifact import SCIFACT, evaluate, load_qrels

    base = Settings().model_copy(update={"sentence_vectors": windows})
    model_tag = re.sub(r"[^\w.-]+", "_", base.model)
    data_dir = RESULTS / "cache" / f"scifact-{model_tag}{'' if windows else '-nowin'}"
    kb = KnowledgeBase(base.model_copy(update={"data_dir": data_dir}))
    if kb.store.counts()[0] == 0:
        raise SystemExit(f"no SciFact store in {data_dir}: run bench/scifact.py first")
    # the test judgments are held out from this machine (../shared/eval/scifact/README.md): the reader's own
    # held-out 20 % of the train claims (bench/data/reader_split.json), never trained on nor used to choose
    split = json.loads((REPO / "bench" / "data" / "reader_split.json").read_text(encoding="utf-8"))
    held_out = set(split["scifact"]["test_qids"])
    qrels = {q: r for q, r in load_qrels(SCIFACT / "qrels" / "train.tsv").items() if q in held_out}
    queries = {}
    for line in (SCIFACT / "queries.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            queries[str(d["_id"])] = d["text"]
    judged = [q for q in qrels if q in queries]
    qrels = {q: qrels[q] for q in judged}
    runs: dict[str, dict[str, list[str]]] = {}
    rng = np.random.default_rng(16)
    t0 = time.time()
    for qid in judged:
        hits = kb.search(queries[qid], k=2 * kb.settings.candidates)
        best: dict[str, tuple[str, float]] = {}
        for h in hits:  # a document is its best (first) chunk
            best.setdefault(h.episode.id, (h.text, h.score))
        docs = list(best)[:100]
        fused = np.array([best[d][1] for d in docs], dtype=np.float64)
        m = min(depth, len(docs))
        scores = reader.score(queries[qid], [best[d][0] for d in docs[:m]])
        runs.setdefault("shipped (hybrid)", {})[qid] = docs
        runs.setdefault(f"random top{depth}", {})[qid] = [docs[i] for i in rng.permutation(m)] + docs[m:]
        order = np.argsort(-scores, kind="stable")
        runs.setdefault(f"reader top{depth}", {})[qid] = [docs[i] for i in order] + docs[m:]
        for w in WEIGHTS:
            comb = z(fused[:m]) + w * z(scores)
            order = np.argsort(-comb, kind="stable")
            runs.setdefault(f"z(fused)+{w}z(reader) top{depth}", {})[qid] = [docs[i] for i in order] + docs[m:]
    out = {"sentence_vectors": base.sentence_vectors, "store": data_dir.name, "queries": len(judged),
           "qrels": "qrels/train.tsv, held-out claims of bench/data/reader_split.json", "depth": depth,
           "seconds": round(time.time() - t0),
           "runs": {k: evaluate(qrels, v) for k, v in runs.items()}}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reader", type=Path, default=DEFAULT_READER, help="reader folder (model.onnx, reader.json)")
    ap.add_argument("--data-dir", type=Path, default=RESULTS / "cache" / "kb-default",
                    help="kb index over corpus/ (built there on first use)")
    ap.add_argument("--latency-questions", type=int, default=60)
    ap.add_argument("--scifact-windows", action="store_true",
                    help="use the SciFact store with sentence windows (bench/scifact.py's default; 42+ min to build "
                         "on 2 shared cores) instead of the chunk-vectors-only one (KB_SENTENCE_VECTORS=false, 14 min)")
    ap.add_argument("--skip", default="", help="comma list: podcast,latency,scifact")
    ap.add_argument("--out", type=Path, default=RESULTS / "reader.json")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    skip = {s for s in args.skip.split(",") if s}

    from core.knowledge_base import KnowledgeBase
    from core.settings import Settings
    from search.reader_model import ReaderModel

    def log(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)

    reader = ReaderModel(args.reader, threads=1)
    reader.score("warm up?", ["the reader loads here"])
    settings = Settings().model_copy(update={"data_dir": args.data_dir})
    kb = KnowledgeBase(settings)
    if kb.store.counts()[0] == 0:
        kb.ingest()
    kb.warm_up()
    result: dict = {"reader": {"dir": str(args.reader), **{k: reader.meta.get(k) for k in ("sha256", "bytes",
                                                                                          "max_length")}},
                    "machine": machine(), "code": code_version(),
                    "settings": {"search_mode": settings.search_mode, "dense_weight": settings.dense_weight,
                                 "context_weight": settings.context_weight, "candidates": settings.candidates}}
    if "podcast" not in skip:
        log("podcast question sets")
        result["podcast"] = podcast(kb, reader, log)
        for group, d in result["podcast"]["groups"].items():
            w30 = result["podcast"]["weight_chosen_on_tuning"]["top30"]["weight"]
            w50 = result["podcast"]["weight_chosen_on_tuning"]["top50"]["weight"]
            for key in ("shipped", "random top30", "reader top30", "reader top50", f"z(fused)+{w30}z(reader) top30",
                        f"z(fused)+{w50}z(reader) top50"):
                m = d[key]
                log(f"  {group:6s} {key:32s} n={m['n']:3d} MRR@10 {m['mrr@10']:.3f} R@5 {m['recall@5']:.3f} "
                    f"R@10 {m['recall@10']:.3f} para R@10 {m['paraphrase_recall@10']}")
        log(f"  abstention: {json.dumps(result['podcast']['abstention_tuning_sets'])}")
    if "latency" not in skip:
        log("latency")
        result["latency_search"] = latency(kb, reader, args.latency_questions, log)
        log(f"  {json.dumps(result['latency_search'])}")
    if "scifact" not in skip:
        log("SciFact held-out claims")
        result["scifact_heldout"] = scifact(reader, 50, args.scifact_windows, log)
        for k, v in result["scifact_heldout"]["runs"].items():
            log(f"  {k:32s} nDCG@10 {v['ndcg@10']:.4f} R@10 {v['recall@10']:.4f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_result(args.out, result)
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
