"""End-to-end quality on the dev questions: a real `kb serve` over corpus/, scored by the shared score.py.

Why a real server: score.py is the judge everyone uses, and it scores the HTTP API (search and ask), so this
measures exactly what a user gets, including answer abstention and latencies.

    .venv/bin/python bench/quality.py [QUESTIONS.jsonl] [--data-dir DIR] [--k 10] [--no-ask]

Without --data-dir the index is built in a temporary folder (about 20 s of embedding) and removed afterwards;
with --data-dir it is built there once and reused on later runs.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.table import Table

from _env import REPO, RESULTS, code_version, kb_server, machine, relevant_settings, wide_console, write_result
from core.settings import Settings
from search.embedding import embedder_name, resolve_precision

EVAL = REPO.parent / "shared" / "eval"
HEADLINE = ["recall@1", "recall@5", "recall@10", "mrr@10", "coverage@k", "speaker_ok", "time_ok", "ask_cites_gold",
            "ask_false_abstain", "ask_abstain_when_unanswerable", "errors"]
console = wide_console()


def resolved_model(settings: Settings) -> str:
    """The embedder name the server uses (precision=auto: what the store holds, fp32 for a new one), without
    loading it."""
    if settings.model == "fake":
        return "fake"
    from search.store import Store

    store = Store(settings.db_path)
    try:
        precision = resolve_precision(settings.precision, settings.model, store.embedded_models)
    finally:
        store.close()
    return embedder_name(settings.model, precision)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("questions", nargs="?", type=Path, default=EVAL / "dev.jsonl")
    ap.add_argument("--data-dir", type=Path, help="index folder to build once and reuse (default: a temporary one)")
    ap.add_argument("--score", type=Path, default=EVAL / "score.py", help="the scorer")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--no-ask", action="store_true", help="score /search only")
    ap.add_argument("--timeout", type=float, default=900, help="seconds to wait for the server to come up")
    ap.add_argument("--out", type=Path, default=RESULTS / "quality.json")
    ap.add_argument("--answers-out", type=Path, help="keep every /ask reply beside its question (score.py's "
                                                     "--answers-out), the input of bench/judging.py")
    args = ap.parse_args()

    tmp = None if args.data_dir else Path(tempfile.mkdtemp(prefix="kb-quality-"))
    data_dir = (args.data_dir or tmp).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "KB_DATA_DIR": str(data_dir)}
    settings = Settings(data_dir=data_dir)
    work = Path(tempfile.mkdtemp(prefix="kb-quality-work-"))  # server log and raw scores, removed at the end
    log_path = work / "serve.log"
    try:
        t0 = time.perf_counter()
        try:
            with kb_server(env, log=log_path, timeout=args.timeout) as (url, _, health):
                startup = time.perf_counter() - t0
                console.print(f"server up in {startup:.1f} s on {url}: {health['episodes']} "
                              f"episodes, {health['chunks']} chunks (data dir {data_dir})")
                scored = work / "score-out.json"
                cmd = [sys.executable, str(args.score), "--questions", str(args.questions), "--url", url,
                       "--k", str(args.k), "--json", str(scored)] + (["--no-ask"] if args.no_ask else [])
                if args.answers_out:
                    cmd += ["--answers-out", str(args.answers_out.resolve())]
                done = subprocess.run(cmd, capture_output=True, text=True)
        except RuntimeError as exc:
            console.print(f"[red]{exc}[/red]\n{log_path.read_text()[-3000:]}")
            return 1
        if done.returncode != 0 or not scored.exists():
            console.print(f"[red]score.py failed ({done.returncode})[/red]\n{done.stderr[-3000:]}")
            return 1
        result = json.loads(scored.read_text())
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)

    report = result["report"]
    overall = report["overall"]
    table = Table("figure", "overall", *report["by_category"],
                  title=f"{args.questions.name}: {overall['n']} questions, k={args.k}")
    for name in HEADLINE:
        if name in overall or any(name in c for c in report["by_category"].values()):
            cells = [overall.get(name, "")] + [c.get(name, "") for c in report["by_category"].values()]
            table.add_row(name, *(f"{v}" for v in cells))
    console.print(table)
    for name in ("search_latency_ms", "ask_latency_ms"):
        if name in report:
            console.print(f"{name}: p50 {report[name]['p50']}  max {report[name]['max']}")
    console.print(f"missed at {args.k}: {', '.join(report['missed_at_10']) or 'none'}")

    out = {"questions": str(args.questions), "k": args.k, "report": report, "rows": result["rows"],
           "server": {"startup_s": round(startup, 1), "episodes": health["episodes"], "chunks": health["chunks"],
                      "reused_data_dir": bool(args.data_dir)},
           "model": resolved_model(settings), "machine": machine(), "code": code_version(), "settings": relevant_settings(settings)}
    write_result(args.out, out)
    console.print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
