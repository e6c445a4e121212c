"""Blind judging of answers, two versions side by side (../shared/eval/judging.md).

Why: recall and "cites gold" say whether the right passage was found, not whether a person would accept the
answer. A judge who never saw the system reads each question with two answers in random order, unlabelled, and
scores each (correct 0-2, useful 1-5, noise sentences); this script prepares what the judge reads and turns the
verdicts back into figures per version.

    # 1. answers from each version: bench/quality.py QUESTIONS --answers-out A.jsonl (one run per version)
    .venv/bin/python bench/judging.py pair A.jsonl B.jsonl --names old new --out pairs.jsonl --key key.json
    # 2. a judge writes verdicts.jsonl: {"id", "X": {"correct", "useful", "noise", "why"}, "Y": {...}} a line
    .venv/bin/python bench/judging.py report pairs.jsonl verdicts.jsonl --key key.json --out bench/results/judged.json
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
from pathlib import Path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def render(reply: dict) -> str:
    """What a person reads: the answer text, then each citation with who, where and when, and its passage."""
    lines = [reply.get("answer") or ""]
    if reply.get("abstained"):
        closest = reply.get("closest") or []
        if closest:
            lines.append("\nClosest passages shown:")
        for h in closest[:3]:
            when = f" at {h['start']}" if h.get("start") else ""
            lines.append(f"- {h.get('speaker') or h.get('kind')}, “{h['episode']['title']}”{when}: {h['text'][:400]}")
        return "\n".join(lines)
    cites = reply.get("citations") or []
    if cites:
        lines.append("\nSources:")
    for c in cites:
        who = c.get("speaker_name") or c.get("speaker") or "notes"
        when = f" at {c.get('at') or c.get('start')}" if (c.get("at") or c.get("start")) else ""
        lines.append(f"[{c['n']}] {who}, “{c['episode']['title']}”{when}. Passage: {c['text']}")
    return "\n".join(lines)


def pair(a_path: Path, b_path: Path, names: list[str], out: Path, key_path: Path, seed: int) -> None:
    a = {r["id"]: r for r in read_jsonl(a_path)}
    b = {r["id"]: r for r in read_jsonl(b_path)}
    rng = random.Random(seed)
    key, rows = {}, []
    for qid in [i for i in a if i in b]:
        first, second = (a, b) if rng.random() < 0.5 else (b, a)
        key[qid] = {"X": names[0] if first is a else names[1], "Y": names[1] if first is a else names[0]}
        q = a[qid]
        rows.append({"id": qid, "question": q["question"], "answerable": q["answerable"],
                     "gold": [g["quote"] for g in q["gold"]],
                     "X": render(first[qid]["reply"]), "Y": render(second[qid]["reply"])})
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    key_path.write_text(json.dumps(key, indent=1))
    print(f"{len(rows)} pairs -> {out} (key: {key_path})")


def retrieved_in_top(score_path: Path, k: int = 5) -> set[str]:
    """Answerable questions whose gold passage /search ranked in the top k (score.py's --json rows): where the
    answer's composition, not retrieval, decides what the judge sees."""
    rows = json.loads(score_path.read_text())["rows"]
    return {r["id"] for r in rows if r.get("answerable") and r.get("rank") and r["rank"] <= k}


def figures(rows: list[dict], wins: int) -> dict:
    ans = [r for r in rows if r["answerable"]]
    un = [r for r in rows if not r["answerable"]]

    def mean(rs: list[dict], field: str) -> float | None:
        return round(statistics.mean(r[field] for r in rs), 2) if rs else None

    return {"n": len(rows), "answerable": len(ans), "unanswerable": len(un),
            "correct_answerable": mean(ans, "correct"), "useful_answerable": mean(ans, "useful"),
            "correct_unanswerable": mean(un, "correct"), "useful_unanswerable": mean(un, "useful"),
            "useful_4_or_more": round(sum(r["useful"] >= 4 for r in rows) / len(rows), 3) if rows else None,
            "useful_4_or_more_answerable": round(sum(r["useful"] >= 4 for r in ans) / len(ans), 3) if ans else None,
            "noise_per_answer": mean(rows, "noise"), "more_useful_than_the_other": wins}


def report(pairs_path: Path, verdicts_path: Path, key_path: Path, retrieved: set[str] | None = None) -> dict:
    pairs = {r["id"]: r for r in read_jsonl(pairs_path)}
    key = json.loads(key_path.read_text())
    per: dict[str, list[dict]] = {}
    wins: dict[str, int] = {}
    for v in read_jsonl(verdicts_path):
        if v["id"] not in key:
            continue
        scored = {}
        for slot in ("X", "Y"):
            name = key[v["id"]][slot]
            scored[name] = v[slot]
            per.setdefault(name, []).append({**v[slot], "id": v["id"], "answerable": pairs[v["id"]]["answerable"]})
        (x, sx), (y, sy) = scored.items()
        if sx["useful"] != sy["useful"]:
            winner = x if sx["useful"] > sy["useful"] else y
            wins[winner] = wins.get(winner, 0) + 1
    out = {}
    for name, rows in per.items():
        out[name] = figures(rows, wins.get(name, 0))
        if retrieved is not None:
            out[name]["gold_in_top_5"] = figures([r for r in rows if r["id"] in retrieved], 0)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pair", help="blind pairs of two versions' answers")
    p.add_argument("a", type=Path)
    p.add_argument("b", type=Path)
    p.add_argument("--names", nargs=2, default=["a", "b"])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--key", type=Path, required=True)
    p.add_argument("--seed", type=int, default=7)
    r = sub.add_parser("report", help="figures per version from a judge's verdicts")
    r.add_argument("pairs", type=Path)
    r.add_argument("verdicts", type=Path)
    r.add_argument("--key", type=Path, required=True)
    r.add_argument("--out", type=Path)
    r.add_argument("--retrieved", type=Path, help="score.py --json output: also report the answerable questions "
                   "whose gold passage /search ranked in the top 5")
    args = ap.parse_args()
    if args.cmd == "pair":
        pair(args.a, args.b, args.names, args.out, args.key, args.seed)
        return 0
    retrieved = retrieved_in_top(args.retrieved) if args.retrieved else None
    result = report(args.pairs, args.verdicts, args.key, retrieved)
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
