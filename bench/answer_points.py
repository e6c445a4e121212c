"""Where the gold is in an answer's points: the proxy used while building the answer stages (issue 15).

score.py says whether a citation or the answer text holds the gold quote; this says where: in the first point, in
any point, how many points and sentences an answer has. In-process, on an existing store, over the tuning question
sets, and with `--fresh` also over the held-out fresh sets, reported apart:

    .venv/bin/python bench/answer_points.py [--data-dir .kb] [--fresh] [--out bench/results/answer_points.json]
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

from _env import FRESH_SETS, RESULTS, TUNING_SETS, code_version, machine, write_result  # noqa: E402  (repository first on sys.path)
from api.evaluation import load_questions, quote_hits
from core.knowledge_base import KnowledgeBase
from core.settings import Settings

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def figures(kb: KnowledgeBase, paths: list[Path]) -> dict:
    first = anywhere = points = sentences = answered = answerable = false_abstain = 0
    unanswerable = abstained = 0
    for path in paths:
        for q in load_questions(path):
            answer = kb.ask(q.question)
            if not q.answerable:
                unanswerable += 1
                abstained += answer.abstained
                continue
            answerable += 1
            if answer.abstained:
                false_abstain += 1
                continue
            answered += 1
            gold = [any(quote_hits(g.quote, p.citation.quote) for g in q.gold) for p in answer.points]
            first += bool(gold and gold[0])
            anywhere += any(gold)
            points += len(answer.points)
            sentences += sum(len(_SENTENCE_END.split(p.text)) for p in answer.points)
    return {"answerable": answerable, "gold_in_first_point": round(first / answerable, 3),
            "gold_in_any_point": round(anywhere / answerable, 3),
            "points_per_answer": round(points / max(answered, 1), 2),
            "sentences_per_answer": round(sentences / max(answered, 1), 1),
            "false_abstentions": f"{false_abstain}/{answerable}", "abstains_on_unanswerable": f"{abstained}/{unanswerable}"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path, help="an existing store (default: KB_DATA_DIR)")
    ap.add_argument("--fresh", action="store_true", help="also the held-out fresh sets, reported apart")
    ap.add_argument("--out", type=Path, default=RESULTS / "answer_points.json")
    args = ap.parse_args()
    settings = Settings(data_dir=args.data_dir) if args.data_dir else Settings()
    kb = KnowledgeBase(settings)
    result = {"machine": machine(), "code": code_version(), "sets": [p.name for p in TUNING_SETS],
              "figures": figures(kb, TUNING_SETS)}
    print("tuning", result["figures"])
    if args.fresh:
        result |= {"fresh_sets": [p.name for p in FRESH_SETS], "fresh": figures(kb, FRESH_SETS)}
        print("fresh", result["fresh"])
    write_result(args.out, result)


if __name__ == "__main__":
    main()
