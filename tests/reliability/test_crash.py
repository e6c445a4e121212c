"""Crash safety: `kb ingest` killed with SIGKILL at random points (seeded) never damages the store.

After each kill: the store opens, `kb check` passes (the FAISS file is derived and rebuilt if the kill left it
stale), the store holds exactly the previous version or exactly the new one (a batch commits atomically), the
previous version still answers, and a re-run ends with exactly the chunks of a clean reference ingest.

Each ingest runs in a child forked from a "zygote" process that imported everything once, so a run costs the
ingest itself, not three seconds of imports; the zygote never touches FAISS or OpenMP before forking.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from core.knowledge_base import KnowledgeBase
from core.settings import Settings, get_settings
from search.check import check
from search.store import Store
from tests.conftest import REPO
from tests.reliability.conftest import episode_vtt

RUNS = 20
SEED = 20261123
OLD, NEW, CHANGED = 40, 200, 5  # episodes before, after, and old ones edited in the new batch

ZYGOTE = r"""
import os, sys
import api.cli, core.knowledge_base, core.settings  # every import paid once, before any fork
print("ready", flush=True)
for line in sys.stdin:
    cmd, arg = line.split(maxsplit=1)
    arg = arg.strip()
    if cmd == "run":
        data_dir, corpus = arg.split("\t")
        pid = os.fork()
        if pid == 0:
            log = os.open(os.path.join(os.path.dirname(data_dir), "child.log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0); os.dup2(log, 1); os.dup2(log, 2)
            os.environ["KB_DATA_DIR"] = data_dir
            core.settings.get_settings.cache_clear()
            sys.argv = ["kb", "ingest", corpus, "--json"]
            code = 0
            try:
                api.cli.main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                import traceback; traceback.print_exc(); code = 70
            sys.stdout.flush(); sys.stderr.flush()
            os._exit(code)
        print(pid, flush=True)
    elif cmd == "wait":
        _, status = os.waitpid(int(arg), 0)
        print(os.waitstatus_to_exitcode(status), flush=True)
"""


class Zygote:
    """A warm Python that forks one `kb ingest` per request."""

    def __init__(self):
        env = {**os.environ, "KB_MODEL": "fake", "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen([sys.executable, "-c", ZYGOTE], cwd=REPO, env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.proc.stdout.readline().strip() == "ready"

    def _ask(self, line: str) -> int:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def start(self, data_dir: Path, corpus: Path) -> int:
        return self._ask(f"run {data_dir}\t{corpus}")

    def wait(self, pid: int) -> int:
        return self._ask(f"wait {pid}")

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def snapshot(data_dir: Path) -> dict:
    """Everything ingest writes, without row ids (a re-run may number chunks differently)."""
    store = Store(data_dir / "kb.sqlite")
    try:
        q = store.db.execute
        return {
            "version": store.version(),
            "episodes": sorted(tuple(r) for r in q("SELECT id, content_hash, path, title FROM episodes")),
            "chunks": sorted(tuple(r) for r in q(
                "SELECT episode_id, ordinal, text, speaker, start_s, end_s, char_start, char_end, embed_hash"
                " FROM chunks")),
            "windows": sorted(tuple(r) for r in q(
                "SELECT c.episode_id, c.ordinal, w.ordinal, w.embed_hash FROM windows w JOIN chunks c"
                " ON c.id = w.chunk_id")),
            "themes": sorted(tuple(r) for r in q(
                "SELECT c.episode_id, c.ordinal, t.theme FROM chunk_themes t JOIN chunks c ON c.id = t.chunk_id")),
        }
    finally:
        store.close()


def same_content(a: dict, b: dict) -> bool:
    return {k: v for k, v in a.items() if k != "version"} == {k: v for k, v in b.items() if k != "version"}


def old_corpus(root: Path, episodes: int) -> Path:
    """The corpus as the template store holds it: `episodes` short episodes."""
    corpus = root / "corpus"
    corpus.mkdir()
    for n in range(episodes):
        (corpus / f"episode-{n:03d}.vtt").write_text(episode_vtt(n, 16))
    return corpus


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The template store (old version), the corpus as it is now, and a clean reference ingest of it."""
    root = tmp_path_factory.mktemp("crash")
    corpus = old_corpus(root, OLD)
    template = root / "template" / "data"
    KnowledgeBase(Settings(data_dir=template, model="fake")).ingest([corpus])
    for n in range(CHANGED):  # edited episodes: the batch replaces them
        (corpus / f"episode-{n:03d}.vtt").write_text(episode_vtt(n, 16) + "\n00:09:00.000 --> 00:09:05.000\n"
                                                     "<v Ana>A late correction about the budget.\n")
    for n in range(OLD, NEW):
        (corpus / f"episode-{n:03d}.vtt").write_text(episode_vtt(n, 16))
    reference = root / "reference" / "data"
    report = KnowledgeBase(Settings(data_dir=reference, model="fake")).ingest([corpus])
    assert report.failed == {} and len(report.added) == NEW
    old, new = snapshot(template), snapshot(reference)
    assert not same_content(old, new)
    return {"root": root, "corpus": corpus, "template": template, "old": old, "new": new}


def verify_after_kill(world: dict, data_dir: Path, monkeypatch) -> str:
    """The checks of one run; returns which version the kill left ("old" or "new")."""
    state = snapshot(data_dir)  # the store opens
    outcome = "old" if same_content(state, world["old"]) else "new" if same_content(state, world["new"]) else None
    assert outcome, "the store holds neither the previous nor the new version"

    monkeypatch.setenv("KB_DATA_DIR", str(data_dir))
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["check", "--json"])
    report = json.loads(result.stdout)
    assert result.exit_code == 0 and report["ok"] and report["store_problems"] == [], report

    kb = KnowledgeBase(Settings(data_dir=data_dir, model="fake"))
    hits = kb.search("topic7 point3 word2", 3)  # an episode of the previous version answers
    assert hits and hits[0].episode.id == "episode-007"
    answer = kb.ask("What about topic7 point3?")
    assert [*answer.citations, *answer.closest]

    report = kb.ingest([world["corpus"]])  # the re-run completes ...
    assert report.failed == {}
    assert same_content(snapshot(data_dir), world["new"])  # ... with exactly the reference chunks
    after = check(kb.store, kb.settings.faiss_path, kb.embedder.name)
    assert after.ok and not after.index_problems and after.index_vectors == after.vectors
    kb.store.close()
    return outcome


def control_run(zygote: Zygote, world: dict) -> tuple[Path, float]:
    """An unkilled ingest of the corpus onto a copy of the old store: its data dir, and how long it took (only
    to spread the kill points over a run)."""
    control = world["root"] / "run-0" / "data"
    shutil.copytree(world["template"], control)
    began = time.monotonic()
    assert zygote.wait(zygote.start(control, world["corpus"])) == 0
    return control, time.monotonic() - began


def killed_ingest(zygote: Zygote, world: dict, data_dir: Path, after: float) -> int:
    """An ingest onto a copy of the old store at `data_dir`, SIGKILLed `after` seconds in; its exit code (0 when
    it finished first: still a valid run)."""
    shutil.copytree(world["template"], data_dir)
    pid = zygote.start(data_dir, world["corpus"])
    time.sleep(after)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    code = zygote.wait(pid)
    log = (data_dir.parent / "child.log").read_text(errors="replace")
    assert code in (0, -signal.SIGKILL), log[-2000:]
    return code


def test_sigkill_during_ingest_never_loses_or_mixes_versions(world, monkeypatch):
    rng = random.Random(SEED)
    zygote = Zygote()
    outcomes, killed = [], 0
    try:
        # run 0: an unkilled ingest, the control, and how long one takes (only to spread the kill points)
        control, span = control_run(zygote, world)
        assert same_content(snapshot(control), world["new"])
        shutil.rmtree(control.parent)

        for run in range(1, RUNS + 1):
            data_dir = world["root"] / f"run-{run}" / "data"
            # half anywhere in the run, half around its end, where the commit, the tagging and the FAISS
            # write happen in a fraction of the time
            code = killed_ingest(zygote, world, data_dir,
                                 rng.uniform(0.0, span) if run % 2 else rng.uniform(0.75 * span, 1.1 * span))
            killed += code == -signal.SIGKILL
            outcomes.append(verify_after_kill(world, data_dir, monkeypatch))
            shutil.rmtree(data_dir.parent)
    finally:
        zygote.close()
    print(f"\n{RUNS} runs, {killed} killed mid-run; left the old version {outcomes.count('old')} times, "
          f"the new one {outcomes.count('new')} times")
    assert killed > 0 and "old" in outcomes
