"""The packaged encoder: a single query takes the direct path and must give exactly the batched vector."""
from __future__ import annotations

import numpy as np
import pytest

from search.embedding import PACKAGED_MODEL, FakeEmbedder, get_embedder


@pytest.mark.model
def test_encode_query_gives_the_same_vector_as_encode(real_model):
    embedder = get_embedder(PACKAGED_MODEL, "fp32")
    for text in ("How do you build trust during a change?", "Stellafai", "what's it like to stop coding?"):
        one = embedder.encode_query(text)
        assert one.dtype == np.float32 and one.shape == (embedder.dim,)
        assert np.abs(one - embedder.encode([text])[0]).max() < 1e-6
        assert abs(float(np.linalg.norm(one)) - 1.0) < 1e-5


def test_fake_encode_query_is_its_encode():
    fake = FakeEmbedder()
    assert np.array_equal(fake.encode_query("trust and letting go"), fake.encode(["trust and letting go"])[0])


def test_the_packaged_model_loads_only_when_first_used():
    """An ingest with nothing new to embed, or a read-only command, must not pay for loading the weights."""
    from search.embedding import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder(PACKAGED_MODEL, "fp32")
    assert embedder.name == PACKAGED_MODEL and embedder._model is None
