"""Huge and many files: ingest works (or refuses clearly) with bounded memory. Each case runs in a fresh
subprocess that warms up on a small corpus first, then reports how far its peak RSS grew during the big batch."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

PROBE = r"""
import json, resource, sys
from pathlib import Path
from core.knowledge_base import KnowledgeBase
from tests.helpers import write_corpus

tmp = Path(sys.argv[1])
kb = KnowledgeBase()
kb.ingest([write_corpus(tmp / "good")])           # imports, encoder, taxonomy: all warm before measuring
kb.search("trust change focus", 5)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
report = kb.ingest([tmp / "big"])
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
good = [h.episode.id for h in kb.search("trust change focus", 5)]
print(json.dumps({"growth_mb": (after - before) / 1024, "added": len(report.added), "failed": report.failed,
                  "episodes": kb.store.counts()[0], "good_hits": good}))
"""


def probe(tmp: Path) -> dict:
    env = {**os.environ, "KB_DATA_DIR": str(tmp / "data"), "KB_MODEL": "fake", "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", PROBE, str(tmp)], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_50_mb_single_line_file_is_refused_without_reading_it(tmp_path):
    big = tmp_path / "big"
    big.mkdir()
    with open(big / "one-line.txt", "wb") as f:
        chunk = b"word " * 200_000  # 1 MB, no newline anywhere
        for _ in range(50):
            f.write(chunk)
    (big / "fine.md").write_text("A normal note about gardens and patience, next to the huge file.\n")
    out = probe(tmp_path)
    assert out["growth_mb"] < 40, out  # the 50 MB file is never loaded
    assert out["added"] == 1 and list(out["failed"]) == [str(big / "one-line.txt")]
    assert "too large" in out["failed"][str(big / "one-line.txt")]
    assert out["good_hits"]  # the good corpus still answers


def test_ten_thousand_tiny_files_are_all_indexed_in_bounded_memory(tmp_path):
    big = tmp_path / "big"
    for d in range(10):  # ten folders of a thousand
        (big / f"d{d}").mkdir(parents=True)
        for i in range(1000):
            (big / f"d{d}" / f"n{d}-{i}.md").write_text(f"Tiny note {d}-{i} about topic{i % 97} and item{i}.\n")
    out = probe(tmp_path)
    assert out["added"] == 10_000 and out["failed"] == {}, {k: out[k] for k in ("added", "episodes")}
    assert out["episodes"] == 10_005
    # ~10k small episodes: documents, chunks and vectors in flight; far below what loading everything twice costs
    assert out["growth_mb"] < 400, out
    assert out["good_hits"]
