"""Answers on podcasts no rule was written for: eleven Changelog shows, each its own store, each with a question set
written by a helper who read only those transcripts (`bench/data/questions_changelog_*.jsonl`).

For each show the script copies its 12–13 transcripts from `../shared/corpora/changelog/<show>/` into a folder of
its own (the folder is the show: its regular voices host and co-host it), ingests that folder into a store beside
it (incremental: a second run re-reads nothing that did not change), and evaluates the set in-process with the
same rule as `../shared/eval/score.py`: recall@5 and MRR@10 of search; whether the answer cites a passage holding
a gold quote, whether its quoted text holds it, false abstentions and right abstentions. Prints a table and writes
`bench/results/shows.json`.

    .venv/bin/python bench/shows.py [--work /tmp/kb-shows] [--only rc tc] [--out bench/results/shows.json]
"""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from _env import RESULTS, SHARED, code_version, machine, wide_console, write_result  # noqa: E402  (repository first)
from api.evaluation import evaluate, load_questions
from core.knowledge_base import KnowledgeBase
from core.settings import Settings

CHANGELOG = SHARED / "corpora" / "changelog"
# set key -> (the show's folder in the Changelog corpus, the file names of the episodes its questions are about)
SHOWS: dict[str, tuple[str, list[str]]] = {
    "ft": ("founderstalk", [f"founders-talk-{n}.md" for n in (7, 38, 39, 40, *range(51, 60))]),
    "si": ("shipit", [f"ship-it-{n}.md" for n in range(20, 32)]),
    "gt": ("gotime", [f"go-time-{n}.md" for n in range(151, 163)]),
    "js": ("jsparty", [f"js-party-{n}.md" for n in range(200, 212)]),
    "pa": ("practicalai", [f"practical-ai-{n}.md" for n in range(150, 162)]),
    "tc": ("podcast", [f"the-changelog-{n}.md" for n in range(400, 413) if n != 404]),
    "rc": ("rfc", [f"request-for-commits-{n}.md" for n in range(1, 13)]),
    "bs": ("brainscience", [f"brain-science-{n}.md" for n in range(10, 22)]),
    "bt": ("bigtent", [*(f"big-tent-s1e{n}.md" for n in range(0, 11)), "big-tent-s2e1.md"]),
    "bk": ("backstage", [f"backstage-{n}.md" for n in range(1, 13)]),
    "sp": ("spotlight", [f"spotlight-{n}.md" for n in range(1, 13)]),
}


def store_for(key: str, work: Path) -> KnowledgeBase:
    """The show's store under `work/key`, ingested from its own folder of transcripts (`work/key/src`)."""
    show, names = SHOWS[key]
    src = work / key / "src"
    src.mkdir(parents=True, exist_ok=True)
    for name in names:
        if not (src / name).exists():
            shutil.copyfile(CHANGELOG / show / name, src / name)
    kb = KnowledgeBase(Settings(data_dir=work / key / "data", corpus_dirs=[src]))
    report = kb.ingest([src])
    print(f"{key}: {show}, {len(names)} episodes: added {len(report.added)}, updated {len(report.updated)}, "
          f"skipped {len(report.skipped)}")
    return kb


def figures(kb: KnowledgeBase, questions: Path) -> dict:
    report = evaluate(kb, load_questions(questions), k=10)
    rows = report["rows"]
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    overall = report["overall"]
    return {"questions": len(rows), "answerable": len(answerable), "unanswerable": len(unanswerable),
            "recall@5": overall.get("recall@5"), "mrr@10": overall.get("mrr@10"),
            "cites_gold": sum(bool(r["cited_gold"]) for r in answerable),
            "answer_holds_gold": sum(bool(r["quoted_gold"]) for r in answerable),
            "false_abstentions": sum(bool(r["abstained"]) for r in answerable),
            "abstains": sum(bool(r["abstained"]) for r in unanswerable)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/kb-shows"), help="where the shows' folders and stores go")
    ap.add_argument("--only", nargs="*", choices=sorted(SHOWS), help="these shows only (default: all)")
    ap.add_argument("--out", type=Path, default=RESULTS / "shows.json")
    args = ap.parse_args()
    keys = args.only or list(SHOWS)
    data = RESULTS.parent / "data"
    results = {key: figures(store_for(key, args.work), data / f"questions_changelog_{key}.jsonl") for key in keys}
    total = {f: sum(r[f] for r in results.values()) for f in ("questions", "answerable", "unanswerable", "cites_gold",
                                                            "answer_holds_gold", "false_abstentions", "abstains")}
    write_result(args.out, {"machine": machine(), "code": code_version(), "shows": {k: SHOWS[k][0] for k in keys},
                            "figures": results, "total": total})
    from rich.table import Table

    table = Table("set", "show", "recall@5", "MRR@10", "cites gold", "answer holds it", "false abst.", "abstains")
    for key, r in [*results.items(), ("all", total)]:
        table.add_row(key, SHOWS[key][0] if key in SHOWS else "", *(
            [f"{r['recall@5']:.3f}", f"{r['mrr@10']:.3f}"] if key in SHOWS else ["", ""]),
            f"{r['cites_gold']}/{r['answerable']}", f"{r['answer_holds_gold']}/{r['answerable']}",
            f"{r['false_abstentions']}/{r['answerable']}", f"{r['abstains']}/{r['unanswerable']}")
    wide_console().print(table)


if __name__ == "__main__":
    main()
