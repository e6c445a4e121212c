"""Crash safety with KB_BACKEND=milvus (milvus-lite): `kb ingest` killed with SIGKILL at random points (seeded).

After each kill, before anything repairs it, what a query can see in Milvus is exactly the previous published
version or exactly the new one, never a mix (a publish moves one `published` record; see search.milvus); SQLite
is likewise old or new, and may be ahead of Milvus when the kill fell between its commit and the publish. Then
`kb check` passes (publishing what lags), the knowledge base answers, and a re-run ends with Milvus holding
exactly what a clean reference ingest published. The same zygote as tests/reliability/test_crash.py forks the
ingests, so a run costs the ingest itself.
"""
from __future__ import annotations

import json
import random
import shutil
import signal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from core.knowledge_base import KnowledgeBase
from core.settings import Settings, get_settings
from tests.reliability.conftest import episode_vtt
from tests.reliability.test_crash import Zygote, control_run, killed_ingest, old_corpus, same_content, snapshot

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

RUNS = 10
SEED = 20261207
OLD, NEW, CHANGED = 30, 120, 5


def release(data_dir: Path) -> None:
    """Stop this process's milvus-lite server for the folder (its file lock), so a copy or a child can open it."""
    from milvus_lite.server_manager import server_manager_instance

    server_manager_instance.release_server(str(data_dir / "milvus.db"))


def kb_at(data_dir: Path) -> KnowledgeBase:
    return KnowledgeBase(Settings(data_dir=data_dir, model="fake", backend="milvus"))


def published(kb: KnowledgeBase) -> dict[str, list[tuple]]:
    """What queries can see, read straight from Milvus at the published version: episode -> its chunks."""
    b = kb.backend
    P = b.published()[0]
    if not b._exists():
        return {}
    rows = b._all(b.chunks_c, f"v_from <= {P} and v_to > {P}", ["episode_id", "ordinal", "text", "themes"])
    out: dict[str, list] = {}
    for r in sorted(rows, key=lambda r: (r["episode_id"], r["ordinal"])):
        out.setdefault(r["episode_id"], []).append((r["ordinal"], r["text"], r["themes"]))
    vectors = b._count(b.vectors_c, f"v_from <= {P} and v_to > {P}")
    return {"episodes": out, "vectors": vectors}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("KB_BACKEND", "milvus")
    root = tmp_path_factory.mktemp("crash-milvus")
    corpus = old_corpus(root, OLD)
    template = root / "template" / "data"
    kb = kb_at(template)
    kb.ingest([corpus])
    old = published(kb)
    kb.store.close()
    release(template)
    for n in range(CHANGED):
        (corpus / f"episode-{n:03d}.vtt").write_text(episode_vtt(n, 16) + "\n00:09:00.000 --> 00:09:05.000\n"
                                                     "<v Ana>A late correction about the budget.\n")
    for n in range(OLD, NEW):
        (corpus / f"episode-{n:03d}.vtt").write_text(episode_vtt(n, 16))
    reference = root / "reference" / "data"
    kb = kb_at(reference)
    assert len(kb.ingest([corpus]).added) == NEW
    new = published(kb)
    stores = {"old": snapshot(template), "new": snapshot(reference)}
    kb.store.close()
    release(reference)
    assert old != new and len(old["episodes"]) == OLD and len(new["episodes"]) == NEW
    yield {"root": root, "corpus": corpus, "template": template, "old": old, "new": new, "stores": stores}
    mp.undo()


def which(state, versions: dict) -> str | None:
    return next((name for name, v in versions.items() if state == v), None)


def test_sigkill_during_a_milvus_ingest_never_shows_half_a_version(world, monkeypatch):
    monkeypatch.setenv("KB_BACKEND", "milvus")
    rng = random.Random(SEED)
    zygote = Zygote()
    outcomes = []
    try:
        control, span = control_run(zygote, world)
        kb = kb_at(control)
        assert published(kb) == world["new"]
        kb.store.close()
        release(control)

        run = 0
        # RUNS runs, and more (up to twice as many) until half of them were really killed mid-ingest: on a
        # loaded machine the control run can be slower than the runs after it, so kills land after the end
        while run < RUNS or (run < 2 * RUNS and sum(k for k, *_ in outcomes) < RUNS // 2):
            run += 1
            data_dir = world["root"] / f"run-{run}" / "data"
            # half anywhere, half over the last third, where the commit and the publish happen
            after = rng.uniform(0.0, span) if run % 2 else rng.uniform(0.65 * span, 1.05 * span)
            code = killed_ingest(zygote, world, data_dir, after)
            if code == 0:
                span = min(span, after)  # it finished within `after` seconds: an ingest is that quick now

            store = snapshot(data_dir)
            sqlite_is = next((n for n, s in world["stores"].items() if same_content(store, s)), None)
            assert sqlite_is, "SQLite holds neither version"
            kb = kb_at(data_dir)
            state = published(kb)
            if kb.backend.rebuilt:
                # the kill cut a milvus-lite write short and its collections no longer loaded: kb dropped them
                # (nothing published is visible) and the next reader publishes the store's version again
                assert state == {} and code == -signal.SIGKILL
                kb.backend.sync("fake")
                state = published(kb)
                assert which(state, {"old": world["old"], "new": world["new"]}) == sqlite_is
            milvus_is = which(state, {"old": world["old"], "new": world["new"]})
            assert milvus_is, "queries would see neither the previous nor the new version"
            assert not (milvus_is == "new" and sqlite_is == "old")  # Milvus never runs ahead of the store
            outcomes.append((code == -signal.SIGKILL, sqlite_is, milvus_is + ("(rebuilt)" if kb.backend.rebuilt else "")))

            monkeypatch.setenv("KB_DATA_DIR", str(data_dir))
            get_settings.cache_clear()
            result = CliRunner().invoke(app, ["check", "--json"])
            report = json.loads(result.stdout)
            assert result.exit_code == 0 and report["ok"], report
            hits = kb.search("topic7 point3 word2", 3)
            assert hits and hits[0].episode.id == "episode-007"
            assert kb.ingest([world["corpus"]]).failed == {}
            assert published(kb) == world["new"] and same_content(snapshot(data_dir), world["stores"]["new"])
            kb.store.close()
            release(data_dir)
            shutil.rmtree(data_dir.parent)
    finally:
        zygote.close()
    # the kills really landed mid-ingest (not all after a finished run), and some between commit and publish
    # or mid-publish would show as SQLite ahead of Milvus; a run never leaves Milvus ahead of SQLite (above)
    assert sum(killed for killed, *_ in outcomes) >= RUNS // 2, outcomes
    killed = [o for o in outcomes if o[0]]
    print(f"\n{len(outcomes)} runs, {len(killed)} killed; (SQLite, Milvus) after the kill: "
          + ", ".join(f"{s}/{m}" for _, s, m in outcomes))
    assert killed and any(m.startswith("old") for _, _, m in outcomes)
