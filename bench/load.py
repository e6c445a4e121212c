"""Load benchmark: 16 concurrent clients on /search and /ask for 60 s against `kb serve` on loopback, while a
re-index of 50 episodes runs again and again (`kb ingest` in its own process: real contention for CPU, the
SQLite file and the FAISS index). Reports p50/p99 per endpoint and every error (there should be none), then
runs `kb check` on the store. Writes bench/results/load.json and prints a table.

    .venv/bin/python bench/load.py                     # the configured model (KB_MODEL), 16 clients, 60 s
    KB_MODEL=fake .venv/bin/python bench/load.py --duration 10   # a quick smoke run
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _env import REPO, RESULTS, code_version, kb_server, machine, relevant_settings, wide_console, write_result  # noqa: E402
from core.settings import Settings  # noqa: E402

KB = str(REPO / ".venv" / "bin" / "kb")
QUESTIONS = [
    "How do you build trust during a change?", "What did the guest say about hiring?",
    "How do small wins create momentum?", "What is the role of a CTO in a large company?",
    "How do you measure adoption of a practice?", "What advice is there about focus and deep work?",
    "How should a leader handle resistance to change?", "What did they say about open source communities?",
    "How do teams learn from failure?", "What makes a good engineering culture?",
    "How do you let go of control as a manager?", "What about remote work and communication?",
]


def write_episodes(folder: Path, n: int, round_no: int, vocabulary: list[str], seed: int = 7) -> None:
    """n WebVTT episodes of ~40 cues in the corpus's own words; `round_no` changes one cue per episode so
    every round really re-indexes all of them (new content hash, new chunk texts to embed)."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for e in range(n):
        lines = ["WEBVTT", ""]
        for c in range(40):
            who = ("Host", f"Guest{e}")[c % 2]
            words = " ".join(rng.choice(vocabulary) for _ in range(18))
            if c == 0:
                words = f"round {round_no} of episode {e}: {words}"
            lines += [f"00:{c // 2:02d}:{(c % 2) * 30:02d}.000 --> 00:{c // 2:02d}:{(c % 2) * 30 + 29:02d}.000",
                      f"<v {who}>{words.capitalize()}.", ""]
        (folder / f"load-episode-{e:02d}.vtt").write_text("\n".join(lines), encoding="utf-8")


def corpus_vocabulary() -> list[str]:
    words = re.findall(r"[a-z]{4,}", " ".join(p.read_text(errors="ignore").lower()
                                              for p in (REPO / "corpus").rglob("*") if p.is_file())[:2_000_000])
    return sorted(set(words)) or ["change", "trust", "team"]


class Reindexer(threading.Thread):
    """Re-index the 50 episodes in `kb ingest` subprocesses, round after round, until stopped."""

    def __init__(self, folder: Path, env: dict, vocabulary: list[str], episodes: int):
        super().__init__(daemon=True)
        self.folder, self.env, self.vocabulary, self.episodes = folder, env, vocabulary, episodes
        self.stop = threading.Event()
        self.rounds: list[dict] = []

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            write_episodes(self.folder, self.episodes, n, self.vocabulary)
            began = time.monotonic()
            done = subprocess.run([KB, "ingest", str(self.folder), "--json"], env=self.env, cwd=REPO,
                                  capture_output=True, text=True)
            row = {"round": n, "seconds": round(time.monotonic() - began, 2), "exit": done.returncode}
            try:
                report = json.loads(done.stdout)
                row |= {"added": len(report["added"]), "updated": len(report["updated"]),
                        "failed": len(report["failed"]), "embedded": report["chunks_embedded"],
                        "index_version": report["index_version"]}
            except ValueError:
                row["stderr"] = done.stderr[-500:]
            self.rounds.append(row)
            n += 1


def client(base: str, stop: threading.Event, seed: int, out: list) -> None:
    """One user: alternately searches and asks, as fast as answers come back."""
    rng = random.Random(seed)
    with httpx.Client(base_url=base, timeout=120) as http:
        i = 0
        while not stop.is_set():
            q = rng.choice(QUESTIONS)
            endpoint = "/search" if i % 2 == 0 else "/ask"
            began = time.perf_counter()
            try:
                if endpoint == "/search":
                    r = http.get("/search", params={"q": q, "k": rng.choice([5, 10, 20])})
                else:
                    r = http.post("/ask", json={"question": q, "k": 5})
                ok = r.status_code == 200 and bool(r.json())
                error = None if ok else f"HTTP {r.status_code}: {r.text[:200]}"
            except (httpx.HTTPError, ValueError) as exc:
                error = f"{type(exc).__name__}: {exc}"
            out.append((endpoint, (time.perf_counter() - began) * 1000, error))
            i += 1


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    ap.add_argument("--episodes", type=int, default=50, help="episodes in each re-index round")
    ap.add_argument("--out", type=Path, default=RESULTS / "load.json")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="kb-load-"))
    settings = Settings(data_dir=work / "data")
    env = {**os.environ, "KB_DATA_DIR": str(work / "data"), "HF_HUB_OFFLINE": "1"}
    try:
        print(f"model {settings.model}; building the base store from corpus/ ...", flush=True)
        began = time.monotonic()
        subprocess.run([KB, "ingest", str(REPO / "corpus"), "--json"], env=env, cwd=REPO, check=True,
                       capture_output=True)
        base_s = time.monotonic() - began
        with kb_server(env, [KB], log=work / "serve.log") as (base, _, _):
            httpx.post(base + "/ask", json={"question": QUESTIONS[0]}, timeout=120)  # warm: model, index
            version_before = httpx.get(base + "/health").json()["index_version"]

            vocabulary = corpus_vocabulary()
            reindexer = Reindexer(work / "reindex", env, vocabulary, args.episodes)
            stop = threading.Event()
            samples: list = []
            threads = [threading.Thread(target=client, args=(base, stop, i, samples), daemon=True)
                       for i in range(args.clients)]
            print(f"{args.clients} clients for {args.duration:.0f} s while re-indexing {args.episodes} episodes ...",
                  flush=True)
            load_began = time.monotonic()
            reindexer.start()
            for t in threads:
                t.start()
            time.sleep(args.duration)
            stop.set()
            reindexer.stop.set()
            for t in threads:
                t.join(timeout=180)
            elapsed = time.monotonic() - load_began
            reindexer.join(timeout=900)  # the round in flight finishes: a re-index is never cut off here
            health = httpx.get(base + "/health").json()
        server_err = (work / "serve.log").read_text(errors="replace")
        check = subprocess.run([KB, "check", "--json"], env=env, cwd=REPO, capture_output=True, text=True)
        check_report = json.loads(check.stdout) if check.stdout.strip() else {"ok": False, "error": check.stderr}
    finally:
        shutil.rmtree(work, ignore_errors=True)

    endpoints = {}
    for name in ("/search", "/ask"):
        lat = [ms for e, ms, err in samples if e == name and err is None]
        errors = [err for e, _, err in samples if e == name and err is not None]
        endpoints[name] = {"requests": len(lat) + len(errors), "errors": len(errors), "error_examples": errors[:5],
                           "p50_ms": round(pct(lat, 50), 1), "p90_ms": round(pct(lat, 90), 1),
                           "p99_ms": round(pct(lat, 99), 1), "max_ms": round(max(lat, default=float("nan")), 1),
                           "mean_ms": round(statistics.fmean(lat), 1) if lat else None,
                           "per_second": round((len(lat) + len(errors)) / elapsed, 2)}
    result = {
        "benchmark": "load", "clients": args.clients, "duration_s": round(elapsed, 1), "episodes_per_round": args.episodes,
        "base_corpus": "corpus/", "base_ingest_s": round(base_s, 1), "endpoints": endpoints,
        "errors": sum(e["errors"] for e in endpoints.values()),
        "reindex_rounds": reindexer.rounds,
        "index_version": {"before": version_before, "after": health["index_version"]},
        "episodes_after": health["episodes"], "check": check_report,
        "server_stderr_tail": server_err[-1000:] if server_err else "",
        "machine": machine(), "settings": relevant_settings(settings), "code": code_version(),
    }
    write_result(args.out, result)

    console = wide_console()
    table = Table("endpoint", "requests", "errors", "p50 ms", "p90 ms", "p99 ms", "max ms", "req/s",
                  title=f"{args.clients} clients, {elapsed:.0f} s, model {settings.model}, "
                        f"{len(reindexer.rounds)} re-index rounds of {args.episodes} episodes")
    for name, e in endpoints.items():
        table.add_row(name, str(e["requests"]), str(e["errors"]), str(e["p50_ms"]), str(e["p90_ms"]),
                      str(e["p99_ms"]), str(e["max_ms"]), str(e["per_second"]))
    console.print(table)
    for r in reindexer.rounds:
        console.print(f"re-index round {r['round']}: {r['seconds']} s, exit {r['exit']}, "
                      f"updated {r.get('updated', '?')} added {r.get('added', '?')}, embedded {r.get('embedded', '?')}")
    console.print(f"index version {version_before} -> {health['index_version']}; kb check: "
                  f"{'ok' if check_report.get('ok') else 'FAILED'}; errors: {result['errors']}; wrote {args.out}")
    if result["errors"] or not check_report.get("ok") or any(r["exit"] for r in reindexer.rounds):
        sys.exit(1)


if __name__ == "__main__":
    main()
