"""How held-out passages p223-p382 of bench/data/themes_labels.jsonl were drawn (the rule is in bench/themes.py's
docstring): prints the three seeded samples of stored chunks, without any tagger output, for labelling by reading.
With --rest it prints the fourth draw instead: every candidate chunk left after the three samples, in corpus order
(labelled by reading as train passages p383-, so thresholds and weights are fitted on passages that no exemplar
was written from).

    .venv/bin/python bench/themes_sample.py --data-dir DIR > samples.json

DIR is an index of the default corpus (as built by bench/themes.py --data-dir DIR); chunk spans depend on the
chunker, so another chunker draws other passages. Only labels p001-p222 are excluded, so the draw is reproducible.
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sqlite3
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LABELS = REPO / "bench" / "data" / "themes_labels.jsonl"
THIN = re.compile(r"\b(trust|risk|uncertain|fail|bet|delegat|control|let go|letting go|step back|stepping back|"
                  r"hands-on|change|transform|feedback|critique|influenc|persua|buy-in|stakeholder)", re.I)
RISK = re.compile(r"\b(risk|uncertain|fail|bet|bets|experiment|gamble|safe|danger|mistake)", re.I)


def runs(text: str, n: int = 10) -> set[tuple[str, ...]]:
    w = re.findall(r"\w+", text.lower())
    return {tuple(w[i:i + n]) for i in range(max(0, len(w) - n + 1))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--rest", action="store_true",
                    help="print only the fourth draw: every remaining candidate chunk (the train passages p383-)")
    args = ap.parse_args()
    first = [json.loads(l) for l in LABELS.read_text(encoding="utf-8").splitlines() if l.strip()][:222]
    db = sqlite3.connect(args.data_dir / "kb.sqlite")
    rows = db.execute("SELECT c.id, e.source, c.char_start, c.char_end, c.text FROM chunks c "
                      "JOIN episodes e ON e.id = c.episode_id ORDER BY e.source, c.ordinal").fetchall()
    seen: set[tuple[str, ...]] = set()
    for l in first:
        seen |= runs((REPO / "corpus" / l["source"]).read_text(encoding="utf-8")[l["char_start"]:l["char_end"]])
    cand = [r for r in rows if len(r[4]) >= 150 and not runs(r[4]) & seen and not any(
        l["source"] == r[1] and min(l["char_end"], r[3]) > max(l["char_start"], r[2]) for l in first)]
    taken: set[int] = set()
    out = []
    for name, seed, size, keep in (("random", 20261201, 110, None), ("thin themes", 20261202, 34, THIN),
                                   ("risk", 20261203, 24, RISK)):
        pool = [r for r in cand if r[0] not in taken and (keep is None or keep.search(r[4]))]
        for r in sorted(random.Random(seed).sample(pool, min(size, len(pool))), key=lambda r: (r[1], r[2])):
            if runs(r[4]) & seen:  # near-duplicate of a passage already drawn
                continue
            seen |= runs(r[4])
            taken.add(r[0])
            out.append({"sample": name, "source": r[1], "char_start": r[2], "char_end": r[3], "text": r[4]})
    rest = []
    for r in cand:  # in corpus order; no randomness left to add
        if r[0] in taken or runs(r[4]) & seen:
            continue
        seen |= runs(r[4])
        rest.append({"sample": "rest", "source": r[1], "char_start": r[2], "char_end": r[3], "text": r[4]})
    out = rest if args.rest else out
    json.dump(out, sys.stdout, indent=1, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
