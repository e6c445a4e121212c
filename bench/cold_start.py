"""Cold start: `kb ask`, `kb search`, `kb stats` and `kb --help` as whole new processes, before and after.

Each command runs as a fresh `python -c "from api.cli import main; main()" ...` (what the `kb` script does) with
PYTHONPATH at a source tree and KB_DATA_DIR at a store of the default corpus: this tree against a baseline tree
(a git worktree of an earlier commit) with its own store, so each runs as it would for a user. The two take turns
(before, after, before, after ...) after one warm-up run each (the OS file cache), `--runs` counted runs; wall
time from fork to exit, CPU time and peak RSS from the kernel's accounting of the finished child (os.wait4).
Figures: medians, min and max; the after/before ratio of each pair of runs (other jobs share the cores, so only
same-run ratios compare); and each command's median over `kb --help`'s in the same tree (the issue's targets:
`kb ask` <= 6x, `kb stats` <= 3x).

Then `/search` in-process on one thread, PyTorch fp32 vs onnxruntime query encoding on the same fp32 store and
queries (the question sets), taking turns query by query: kb.search p50 and the query encode alone.

    git worktree add --detach /tmp/kb-base cc39888
    # the baseline's store: `kb ingest` with the baseline's code and its defaults (KB_DATA_DIR=/tmp/kb-base-data)
    .venv/bin/python bench/cold_start.py --baseline-code /tmp/kb-base --baseline-data /tmp/kb-base-data \\
        --data /tmp/kb-after-data [--runs 5]

Writes bench/results/cold_start.json.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _env import REPO, RESULTS, TUNING_SETS, code_version, machine, write_result  # noqa: E402

QUESTION = "how to lead change at scale"
COMMANDS = {"ask": ["ask", QUESTION], "search": ["search", QUESTION], "stats": ["stats"], "help": ["--help"]}
HEAVY = ("torch", "transformers", "sentence_transformers", "spacy", "faiss", "onnxruntime", "fastapi")
# what the process imported, on its last stderr line (the atexit hook runs after the command)
PROBE = ("import atexit, sys, json\n"
         f"atexit.register(lambda: print('\\nIMPORTED ' + json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)),"
         " file=sys.stderr))\n"
         "from api.cli import main\nmain()\n")


def run_once(code: Path, data: Path, args: list[str], env_extra: dict[str, str], probe: bool = False) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(PYTHONPATH=str(code), KB_DATA_DIR=str(data), HF_HUB_OFFLINE="1", **env_extra)
    script = PROBE if probe else "from api.cli import main\nmain()\n"
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", script, *args], cwd=code, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE if probe else subprocess.DEVNULL)
    err = proc.stderr.read().decode() if probe else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    out = {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "max_rss_mb": usage.ru_maxrss / 1024,
           "exit": os.waitstatus_to_exitcode(status)}
    if probe:
        out["imported"] = json.loads(err.rsplit("IMPORTED ", 1)[1]) if "IMPORTED " in err else None
    return out


def summary(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3), "max": round(max(values), 3)}


def cold_starts(sides: dict[str, tuple[Path, Path, dict]], runs: int) -> dict:
    results: dict = {name: {} for name in sides}
    for command, args in COMMANDS.items():
        for name, (code, data, extra) in sides.items():  # warm-up (file cache), and what it imports
            results[name][command] = {"warmup": run_once(code, data, args, extra, probe=True), "runs": []}
        for _ in range(runs):
            for name, (code, data, extra) in sides.items():
                results[name][command]["runs"].append(run_once(code, data, args, extra))
        line = "  ".join(f"{name} {statistics.median(r['wall_s'] for r in results[name][command]['runs']):.2f} s"
                         for name in sides)
        print(f"{command:7s} {line}", flush=True)
    out: dict = {}
    for name in sides:
        out[name] = {}
        for command in COMMANDS:
            runs_ = results[name][command]["runs"]
            out[name][command] = {
                "wall_s": summary([r["wall_s"] for r in runs_]), "cpu_s": summary([r["cpu_s"] for r in runs_]),
                "max_rss_mb": summary([r["max_rss_mb"] for r in runs_]),
                "exit_codes": sorted({r["exit"] for r in runs_}),
                "imported": results[name][command]["warmup"].get("imported")}
        help_runs = [r["wall_s"] for r in results[name]["help"]["runs"]]
        out[name]["over_help"] = {c: round(statistics.median(r["wall_s"] for r in results[name][c]["runs"])
                                           / statistics.median(help_runs), 2) for c in COMMANDS if c != "help"}
    if len(sides) == 2:
        before, after = sides
        out["ratio_after_over_before"] = {
            c: summary([a["wall_s"] / b["wall_s"] for a, b in zip(results[after][c]["runs"], results[before][c]["runs"])])
            for c in COMMANDS}
    return out


def questions() -> list[str]:
    return [json.loads(line)["question"] for f in TUNING_SETS if f.exists() for line in f.read_text().splitlines()
            if line.strip()]


def search_latency(data: Path, limit: int) -> dict:
    """kb.search and the query encode alone, one thread, PyTorch fp32 vs onnxruntime, query by query in turn."""
    from core.knowledge_base import KnowledgeBase
    from core.settings import Settings
    from search.embedding import PACKAGED_MODEL, OnnxEmbedder, SentenceTransformerEmbedder

    settings = Settings(data_dir=data, model=PACKAGED_MODEL, precision="fp32")
    encoders = {"torch fp32": SentenceTransformerEmbedder(PACKAGED_MODEL, "fp32", threads=1),
                "onnxruntime fp32": OnnxEmbedder(data, PACKAGED_MODEL, threads=1)}
    kbs = {name: KnowledgeBase(settings, embedder=enc) for name, enc in encoders.items()}
    for kb in kbs.values():
        kb.warm_up()
    if encoders["onnxruntime fp32"].runtime != "onnxruntime":
        raise SystemExit("the ONNX export is missing or refused in this data directory")
    qs = questions()[:limit]
    times: dict = {name: {"search_ms": [], "encode_ms": []} for name in kbs}
    for q in qs:
        for name, kb in kbs.items():
            t = time.perf_counter()
            encoders[name].encode_query(q + " ")  # not cached by the knowledge base: the encode alone
            times[name]["encode_ms"].append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            kb.search(q, 10)
            times[name]["search_ms"].append((time.perf_counter() - t) * 1000)
    out = {"queries": len(qs), "threads": 1}
    for name, t in times.items():
        out[name] = {k: {"p50": round(statistics.median(v), 2), "p90": round(sorted(v)[int(0.9 * len(v))], 2)}
                     for k, v in t.items()}
    out["p50_ratio_onnx_over_torch"] = {
        k: round(statistics.median(times["onnxruntime fp32"][k]) / statistics.median(times["torch fp32"][k]), 3)
        for k in ("search_ms", "encode_ms")}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="this tree's store of the default corpus (with its ONNX export)")
    ap.add_argument("--baseline-code", type=Path, help="a source tree to compare with (e.g. a worktree of cc39888)")
    ap.add_argument("--baseline-data", type=Path, help="the baseline's store, built by its own code and defaults")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--queries", type=int, default=163, help="queries for the in-process /search latency")
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--out", type=Path, default=RESULTS / "cold_start.json")
    args = ap.parse_args()

    sides: dict[str, tuple[Path, Path, dict]] = {}
    if args.baseline_code:
        sides["before"] = (args.baseline_code.resolve(), args.baseline_data.resolve(), {})
    sides["after"] = (REPO, args.data.resolve(), {})
    result: dict = {"machine": machine(), "code": code_version(), "load_average_start": os.getloadavg(),
                    "question": QUESTION, "runs": args.runs,
                    "sides": {name: {"code": str(c), "data": str(d)} for name, (c, d, _) in sides.items()}}
    if args.baseline_code:
        base = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=args.baseline_code, capture_output=True,
                              text=True).stdout.strip()
        result["sides"]["before"]["commit"] = base
    result["cold_start"] = cold_starts(sides, args.runs)
    if not args.skip_latency:
        result["search_in_process"] = search_latency(args.data.resolve(), args.queries)
    result["load_average_end"] = os.getloadavg()
    write_result(args.out, result)
    print(json.dumps({k: result[k] for k in ("cold_start", "search_in_process") if k in result}, indent=1))


if __name__ == "__main__":
    main()
