"""Themes through the reader (issue 16, item 4): each theme of the taxonomy asked as a question of every labelled
passage, scored by the trained cross-encoder, against the shipped tagger on the same held-out labels.

Why it might help: the tagger compares a passage's vector with the theme's description and exemplars; a reader
reads the question and the passage together. The questions come from the taxonomy itself (so a user's own themes
get them too): "Is this about <label>? <description>" and the description alone. A passage's score for a theme
is the higher of the two logits. Per theme, the threshold is fitted on the TRAIN split of
bench/data/themes_labels.jsonl only (F1-optimal; for trust, risk and letting go the best F1 among thresholds with
train precision >= 0.9 when one reaches it, as the shipped tagger's were), then scored on the held-out split.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/themes_reader.py --reader bench/results/cache/reader-mnrl/onnx \
        [--data-dir bench/results/cache/kb-default] [--out bench/results/themes_reader.json]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from _env import RESULTS, code_version, machine  # noqa: E402  (puts the repository first on sys.path)
from themes import PRECISION_FLOOR, evaluate, load_labels, locate, pick_threshold  # noqa: E402

from core.knowledge_base import KnowledgeBase  # noqa: E402
from core.settings import Settings  # noqa: E402


def questions(label: str, description: str) -> list[str]:
    return [f"Is this about {label.lower()}? {description}", description]


def fit_threshold(scores: list[float], gold: list[bool], floor: float) -> float:
    """The train-split threshold (a passage carries the theme when its score >= it): best F1, preferring those
    that meet the precision floor, then higher precision, then the higher threshold."""
    return pick_threshold([(s, True) for s in scores], gold, floor, sorted(set(scores)) + [max(scores) + 1.0])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reader", type=Path, required=True, help="reader folder (model.onnx, reader.json)")
    ap.add_argument("--data-dir", type=Path, default=RESULTS / "cache" / "kb-default")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=RESULTS / "themes_reader.json")
    args = ap.parse_args()
    from search.reader_model import ReaderModel

    kb = KnowledgeBase(Settings(data_dir=args.data_dir))
    kb.ensure_ingested()
    labels = load_labels()
    where = locate(kb, labels)
    labels = [lab for lab in labels if lab["id"] in where]
    texts = {cid: c.text for cid, c in kb.backend.reader.chunks(sorted(set(where.values()))).items()}
    reader = ReaderModel(args.reader, threads=args.threads)
    themes = kb.taxonomy.theme
    began = time.perf_counter()
    scores: dict[str, list[float]] = {}
    for t in themes:
        per_q = [reader.score(q, [texts[where[lab["id"]]] for lab in labels]) for q in questions(t.label or t.name, t.description)]
        scores[t.name] = [float(max(col)) for col in zip(*per_q)]
    seconds = time.perf_counter() - began
    train = [i for i, lab in enumerate(labels) if lab["split"] == "train"]
    held = [i for i, lab in enumerate(labels) if lab["split"] == "heldout"]
    thresholds = {t.name: fit_threshold([scores[t.name][i] for i in train], [t.name in labels[i]["themes"] for i in train],
                                        PRECISION_FLOOR.get(t.name, 0.0)) for t in themes}

    def predicted(idx: list[int]) -> dict[str, set[str]]:
        return {labels[i]["id"]: {t.name for t in themes if scores[t.name][i] >= thresholds[t.name]} for i in idx}

    names = [t.name for t in themes]
    result = {
        "reader": {"dir": str(args.reader), **{k: reader.meta.get(k) for k in ("sha256", "max_length", "loss")}},
        "machine": machine(), "code": code_version(), "questions_per_theme": 2,
        "pairs_scored": len(labels) * 2 * len(themes), "seconds": round(seconds, 1), "thresholds": thresholds,
        "train": evaluate([labels[i] for i in train], predicted(train), names),
        "heldout": evaluate([labels[i] for i in held], predicted(held), names),
    }
    shipped = json.loads((RESULTS / "themes.json").read_text()) if (RESULTS / "themes.json").exists() else {}
    for split in ("train", "heldout"):
        r = result[split]
        line = f"{split:8s} reader macro P/R/F1 {r['macro']['precision']:.3f}/{r['macro']['recall']:.3f}/{r['macro']['f1']:.3f}"
        if split in shipped:
            m = shipped[split]["macro"]
            line += f"   shipped tagger {m['precision']:.3f}/{m['recall']:.3f}/{m['f1']:.3f}"
        print(line)
    for name in ("trust", "risk", "letting-go"):
        r = result["heldout"]["themes"][name]
        print(f"  held-out {name:10s} reader P {r['precision']:.3f} R {r['recall']:.3f} F1 {r['f1']:.3f}"
              + (f"   tagger P {shipped['heldout']['themes'][name]['precision']:.3f} "
                 f"R {shipped['heldout']['themes'][name]['recall']:.3f}" if "heldout" in shipped else ""))
    print(f"{result['pairs_scored']} pairs in {seconds:.0f} s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
