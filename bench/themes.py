"""Theme tagging quality against hand-labelled passages of the default corpus (bench/data/themes_labels.jsonl).

Each label names a passage by source file, character span and a text prefix, so it survives re-chunking: it is
scored against the stored chunk that overlaps it most. Precision, recall and F1 per theme and macro, on the
train split (used to set thresholds in core/themes.toml) and on the held-out split (never used for tuning).

    .venv/bin/python bench/themes.py [--data-dir DIR] [--themes-file FILE] [--suggest]

Without --data-dir the index is built in a temporary folder with the real model and removed afterwards.
--suggest prints, per theme, the threshold that maximises F1 on the train split only (a tuning aid).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from rich.table import Table

from _env import REPO, RESULTS, machine, relevant_settings, wide_console
from core.knowledge_base import KnowledgeBase
from core.settings import Settings

LABELS = REPO / "bench" / "data" / "themes_labels.jsonl"
# themes whose passages are judged blind: a wrong tag costs more than a missed one, so precision comes first
PRECISION_FLOOR = {"trust": 0.9, "risk": 0.9, "letting-go": 0.9}
console = wide_console()


def load_labels(path: Path = LABELS) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def locate(kb: KnowledgeBase, labels: list[dict]) -> dict[str, int]:
    """Label id -> chunk id of the stored chunk overlapping the labelled span most (same source file)."""
    by_source: dict[str, list[tuple[int, int, int, str]]] = {}
    for cid, source, a, b, text in kb.store.db.execute(
            "SELECT c.id, e.source, c.char_start, c.char_end, c.text FROM chunks c JOIN episodes e ON e.id = c.episode_id"):
        by_source.setdefault(source, []).append((cid, a, b, text))
    out: dict[str, int] = {}
    for lab in labels:
        cands = by_source.get(lab["source"], [])
        best = max(cands, key=lambda c: min(c[2], lab["char_end"]) - max(c[1], lab["char_start"]), default=None)
        if best is None or min(best[2], lab["char_end"]) - max(best[1], lab["char_start"]) <= 0:
            console.print(f"[yellow]{lab['id']}: no chunk of {lab['source']} overlaps {lab['char_start']}-{lab['char_end']}[/yellow]")
            continue
        if not best[3].startswith(lab["prefix"][:30]):
            overlap = (min(best[2], lab["char_end"]) - max(best[1], lab["char_start"])) / (lab["char_end"] - lab["char_start"])
            if overlap < 0.5:
                console.print(f"[yellow]{lab['id']}: best chunk covers only {overlap:.0%} of the passage[/yellow]")
        out[lab["id"]] = best[0]
    return out


def prf(pred: list[bool], gold: list[bool]) -> dict:
    tp = sum(p and g for p, g in zip(pred, gold))
    fp = sum(p and not g for p, g in zip(pred, gold))
    fn = sum(g and not p for p, g in zip(pred, gold))
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": round(p, 3), "recall": round(r, 3), "f1": round(2 * p * r / (p + r) if p + r else 0.0, 3),
            "support": tp + fn, "predicted": tp + fp}


def evaluate(labels: list[dict], predicted: dict[str, set[str]], themes: list[str]) -> dict:
    per = {t: prf([t in predicted[l["id"]] for l in labels], [t in l["themes"] for l in labels]) for t in themes}
    macro = {k: round(sum(v[k] for v in per.values()) / len(per), 3) for k in ("precision", "recall", "f1")}
    return {"passages": len(labels), "themes": per, "macro": macro}


def suggest(kb: KnowledgeBase, labels: list[dict], where: dict[str, int]) -> dict[str, float]:
    """Per theme, the threshold that maximises train F1 (ties: higher precision, then higher threshold) among those
    meeting the theme's precision floor if any does, keeping min_matches as set."""
    import numpy as np

    ids = [where[l["id"]] for l in labels]
    rows = {r[0]: (r[1], np.frombuffer(r[2], dtype=np.float32)) for r in kb.store.db.execute(
        "SELECT c.id, c.text, e.vector FROM chunks c JOIN embeddings e ON e.hash = c.embed_hash AND e.model = ?",
        (kb.embedder.name,))}
    from search.theme_store import _windows

    tagger = kb.tagger()
    windows = _windows(kb.store, kb.embedder.name, ids) if kb.taxonomy.scoring.window_weight else None
    scores = tagger.score([rows[i][0] for i in ids], np.stack([rows[i][1] for i in ids]), windows)
    out = {}
    for t in kb.taxonomy.theme:
        need = kb.taxonomy.min_matches(t)
        s = [next(x for x in row if x.theme == t.name) for row in scores]
        gold = [t.name in l["themes"] for l in labels]
        floor = PRECISION_FLOOR.get(t.name, 0.0)
        results = [(prf([x.score >= thr and sum(x.matched.values()) >= need for x in s], gold), thr)
                   for thr in [round(0.3 + 0.005 * i, 3) for i in range(120)]]
        best = max((r["precision"] >= floor, r["f1"], r["precision"], thr) for r, thr in results)
        out[t.name] = best[3]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", type=Path, help="reuse (or build once) an index here instead of a temporary one")
    ap.add_argument("--themes-file", type=Path, help="taxonomy to evaluate (default: the shipped core/themes.toml)")
    ap.add_argument("--suggest", action="store_true", help="print train-split F1-optimal thresholds")
    args = ap.parse_args()
    tmp = None if args.data_dir else Path(tempfile.mkdtemp(prefix="kb-themes-"))
    try:
        settings = Settings(data_dir=args.data_dir or tmp, themes_file=args.themes_file)
        if settings.model == "fake":
            console.print("[yellow]KB_MODEL=fake: figures are not meaningful for the real model[/yellow]")
        kb = KnowledgeBase(settings)
        kb.ensure_ingested(progress=True)
        if kb.themes_stale():
            kb.retag_themes()
        labels = load_labels()
        where = locate(kb, labels)
        labels = [l for l in labels if l["id"] in where]
        chunks = kb.store.chunks(sorted(set(where.values())))
        predicted = {l["id"]: set(chunks[where[l["id"]]].themes) for l in labels}
        themes = kb.taxonomy.names
        splits = {name: evaluate([l for l in labels if l.get("split", "train") == name], predicted, themes)
                  for name in ("train", "heldout")}
        table = Table("theme", "train P", "train R", "train F1", "n", "held-out P", "held-out R", "held-out F1", "n",
                      title=f"theme tagging vs {len(labels)} labelled passages")
        for t in themes:
            a, b = splits["train"]["themes"][t], splits["heldout"]["themes"][t]
            table.add_row(t, *(f"{a[k]:.2f}" for k in ("precision", "recall", "f1")), str(a["support"]),
                          *(f"{b[k]:.2f}" for k in ("precision", "recall", "f1")), str(b["support"]))
        a, b = splits["train"]["macro"], splits["heldout"]["macro"]
        table.add_row("[bold]macro[/bold]", *(f"[bold]{a[k]:.2f}[/bold]" for k in ("precision", "recall", "f1")),
                      str(splits["train"]["passages"]), *(f"[bold]{b[k]:.2f}[/bold]" for k in ("precision", "recall", "f1")),
                      str(splits["heldout"]["passages"]))
        console.print(table)
        if args.suggest:
            train = [l for l in labels if l.get("split", "train") == "train"]
            console.print("train-optimal thresholds:", suggest(kb, train, where))
        tax_path = Path(kb.taxonomy.path or "")
        result = {"labels": str(LABELS.relative_to(REPO)),
                  "taxonomy": str(tax_path.relative_to(REPO)) if tax_path.is_relative_to(REPO) else str(tax_path),
                  "taxonomy_fingerprint": kb.taxonomy.fingerprint(), "machine": machine(),
                  "settings": relevant_settings(settings, kb.embedder.name), **splits}
        if not args.themes_file:  # only the shipped taxonomy's figures are the recorded result
            RESULTS.mkdir(parents=True, exist_ok=True)
            (RESULTS / "themes.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
            console.print(f"wrote {RESULTS / 'themes.json'}")
        return 0
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
