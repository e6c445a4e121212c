"""What a benchmark figure was measured on (machine, settings), so results from different runs can be compared."""
from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# A script run as `python bench/x.py` has bench/ first on sys.path, where bench/ingest.py would shadow the
# `ingest` package: put the repository first.
sys.path.insert(0, str(REPO))

from core.settings import Settings  # noqa: E402
RESULTS = REPO / "bench" / "results"
SHARED = REPO.parent / "shared"  # ../shared beside the repository (a worktree beside main finds the same one)
DEV = SHARED / "eval" / "dev.jsonl"
# the question sets in bench/data: the fresh ones (written by people who never saw the system) are held out; the
# Changelog ones ask about other podcasts, each answered by its own store (bench/shows.py), not the default corpus
FRESH_SETS = sorted((REPO / "bench" / "data").glob("questions_fresh_*.jsonl"))
SHOW_SETS = sorted((REPO / "bench" / "data").glob("questions_changelog_*.jsonl"))
TUNING_SETS = [DEV] + [p for p in sorted((REPO / "bench" / "data").glob("questions_*.jsonl"))
                       if p not in FRESH_SETS and p not in SHOW_SETS]


def machine() -> dict:
    """CPU model, logical cores and bf16 support from /proc/cpuinfo: the figures that change speed and precision."""
    model, cores, flags = platform.processor() or "unknown", os.cpu_count() or 0, ""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        info = ""
    for line in info.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and model in ("unknown", "", platform.machine()):
            model = value.strip()
        if key.strip() == "flags" and not flags:
            flags = value
    if info:
        cores = sum(1 for line in info.splitlines() if line.startswith("processor"))
    bf16 = any(f in flags.split() for f in ("amx_bf16", "avx512_bf16"))
    return {"cpu": model, "cores": cores, "bf16": bf16, "python": platform.python_version()}


def copy_store(src: Path, dst_dir: Path) -> Path:
    """A consistent copy of a kb.sqlite (SQLite's backup API: safe while a server reads it) into `dst_dir`."""
    import sqlite3

    dst_dir.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(src) as a, sqlite3.connect(dst_dir / "kb.sqlite") as b:
        a.backup(b)
    return dst_dir


def relevant_settings(settings: Settings, embedder_name: str | None = None) -> dict:
    """The KB_* settings that change retrieval figures (no paths or tokens)."""
    out = {k: getattr(settings, k) for k in ("model", "precision", "batch_size", "max_chunk_words",
                                             "min_chunk_words", "search_mode", "candidates")}
    if embedder_name:
        out["embedder"] = embedder_name  # the resolved name, e.g. "...@bf16" when precision=auto picked bf16
    return out


def wide_console():
    """A rich console that does not squeeze tables to 80 columns when the output is a file or a pipe."""
    from rich.console import Console

    probe = Console()
    return probe if probe.is_terminal else Console(width=160)


def code_version() -> dict:
    """The commit measured and the product files that differed from it, since others edit the tree meanwhile."""
    import subprocess

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10).stdout.rstrip("\n")
        except (OSError, subprocess.SubprocessError):
            return ""

    dirty = git("status", "--porcelain", "--", "core", "ingest", "search", "api")
    return {"commit": git("rev-parse", "--short", "HEAD"), "dirty": [line[3:] for line in dirty.splitlines()]}


def write_result(path: Path, data: dict) -> None:
    """A benchmark's figures as JSON under bench/results (or wherever --out points)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")


@contextmanager
def kb_server(env: dict, command: list[str] | None = None, cwd: Path = REPO, log: Path | None = None,
              timeout: float = 900) -> Iterator[tuple[str, subprocess.Popen, dict]]:
    """`kb serve` in its own process on a free port, yielded as (base URL, process, /health) once it answers, and
    stopped on the way out: how every benchmark that measures through HTTP starts the server. `command` runs
    another source tree's CLI (default: the `kb` of the Python running the benchmark); `log` takes the server's output (default: dropped);
    `kb serve` builds a missing index before it answers, hence the long `timeout`."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    out = open(log, "w") if log else subprocess.DEVNULL
    proc = subprocess.Popen([*(command or [str(Path(sys.executable).parent / "kb")]), "serve", "--host", "127.0.0.1",
                             "--port", str(port)], env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"kb serve exited with status {proc.returncode} before answering /health")
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2) as r:
                    health = json.load(r)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"kb serve did not answer /health within {timeout:.0f} s") from None
                time.sleep(0.2)
        yield base, proc, health
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log:
            out.close()
