"""KB_RAY_ADDRESS: `kb ingest` embeds as a Ray Data job on a local Ray (actors holding the model, results written
in order) and stores exactly what the in-process encoder stores. Skipped without ray (pip install 'kb[scale]'):
CI does not install it (~0.5 GB)."""
from __future__ import annotations

import os

import numpy as np
import pytest

from core.knowledge_base import KnowledgeBase
from core.settings import Settings
from search.embedding import FakeEmbedder
from tests.reliability.conftest import episode_vtt

ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'kb[scale]')")
pytest.importorskip("ray.data", reason="ray[data] is not installed (pip install 'kb[scale]')")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield "local"
    ray.shutdown()


def test_ray_job_returns_every_vector_in_order(local_ray):
    from search.ray_embed import RayEmbedder

    local = FakeEmbedder()
    texts = [f"text {i} about topic{i % 13} and point{i % 7}" for i in range(2500)]
    remote = RayEmbedder(local, "fake", "fp32", local_ray, actors=2)
    slices = list(remote.encode_stream(texts, batch_size=16, step=256))
    assert [s for s, _ in slices] == list(range(0, 2500, 256))  # contiguous slices, in order
    np.testing.assert_array_equal(np.concatenate([v for _, v in slices]), local.encode(texts))
    assert remote.workers and os.getpid() not in remote.workers  # encoded by actors, not by the driver


def test_ingest_on_ray_stores_what_in_process_ingest_stores(local_ray, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n in range(6):
        (corpus / f"episode-{n:03d}.vtt").write_text(episode_vtt(n, 12))
    stored = {}
    for name, address in (("in-process", None), ("ray", local_ray)):
        kb = KnowledgeBase(Settings(data_dir=tmp_path / name, model="fake", ray_address=address))
        report = kb.ingest([corpus])
        assert len(report.added) == 6 and report.chunks_embedded > 0
        hashes = [r[0] for r in kb.store.db.execute("SELECT hash FROM embeddings ORDER BY hash")]
        vectors = {h: bytes(v) for h, v in kb.store.db.execute("SELECT hash, vector FROM embeddings")}
        stored[name] = (hashes, vectors)
        if address:
            assert kb._ingest_embedder().name == kb.embedder.name
        hits = kb.search("topic3 point2 word1", 3)
        assert hits and hits[0].episode.id == "episode-003"
        kb.store.close()
    assert stored["ray"] == stored["in-process"]
