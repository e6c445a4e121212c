"""KB_RAY_ADDRESS: `kb ingest` embeds as a Ray Data job (pip install 'kb[scale]').

The texts an ingest has to embed become a Ray dataset of (position, text) rows; `map_batches` runs them through
a pool of actors (KB_RAY_ACTORS, each with KB_RAY_GPUS GPUs when the cluster has them) that load the model once
and keep it; the driver streams the vectors back in the dataset's order (`preserve_order`, and each batch is
checked against the positions it carries) and the pipeline writes each slice to the store as it arrives, exactly
as it writes the in-process encoder's slices. Queries never go through Ray: `encode_query` runs in-process.

Actors load the model by name: the packaged MiniLM in fp32 on PyTorch (its vectors are filed under the same
name as the ONNX export's, see search.embedding.OnnxEmbedder), on a GPU when the actor has one. On one machine
Ray gives no speed-up (measured 1.02x in the issue's trial), so unset means in-process, as before.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from search.embedding import Embedder

ROWS_PER_BLOCK = 1024  # rows per dataset block: enough to keep an actor busy, small enough to stream


class RayEncoder:
    """One Ray actor: holds the model for as long as the job runs."""

    def __init__(self, model: str, precision: str):
        import os

        from search.embedding import get_embedder

        self.embedder = get_embedder(model, precision)  # no data dir: PyTorch (the ONNX file is the driver's)
        if model != "fake":
            try:
                import torch

                if torch.cuda.is_available():  # an actor given a GPU (KB_RAY_GPUS) encodes on it
                    self.embedder.model.to("cuda")
            except ImportError:  # pragma: no cover
                pass
        self.pid = os.getpid()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vectors = self.embedder.encode([str(t) for t in batch["text"]], batch_size=len(batch["text"]))
        return {"i": np.asarray(batch["i"], dtype=np.int64), "vector": np.asarray(vectors, dtype=np.float32),
                "pid": np.full(len(batch["i"]), self.pid, dtype=np.int64)}


def connect(address: str) -> None:
    """Join the cluster at `address` ('local' or 'auto' start or find one on this machine)."""
    import ray

    if not ray.is_initialized():
        ray.init(address=None if address == "local" else address, ignore_reinit_error=True,
                 log_to_driver=False, include_dashboard=False)


class RayEmbedder(Embedder):
    """The in-process encoder's name and vectors, with `encode` (what an ingest calls) run on a Ray cluster."""

    def __init__(self, local: Embedder, model: str, precision: str, address: str, actors: int = 1,
                 gpus: float = 0.0):
        self.local, self.model, self.precision = local, model, precision
        self.address, self.actors, self.gpus = address, actors, gpus
        self.name = local.name
        self.workers: set[int] = set()  # actor processes that encoded something (for tests and logs)

    @property
    def dim(self) -> int:  # type: ignore[override]
        return self.local.dim

    def encode_query(self, text: str) -> np.ndarray:
        return self.local.encode_query(text)

    def set_threads(self, threads: int | None) -> None:
        self.local.set_threads(threads)

    def encode(self, texts: list[str], batch_size: int = 16, progress: bool = False) -> np.ndarray:
        parts = [v for _, v in self.encode_stream(texts, batch_size, max(len(texts), 1))]
        return np.concatenate(parts) if parts else np.zeros((0, self.dim), dtype=np.float32)

    def encode_stream(self, texts: list[str], batch_size: int = 16, step: int = 256
                      ) -> Iterator[tuple[int, np.ndarray]]:
        """(start, vectors of texts[start:start+n]) in order, from one Ray Data job over every text."""
        if not texts:
            return
        import ray
        import ray.data

        connect(self.address)
        ctx = ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order = True
        ctx.enable_progress_bars = False
        rows = [{"i": i, "text": t} for i, t in enumerate(texts)]
        ds = ray.data.from_items(rows, override_num_blocks=max(1, -(-len(rows) // ROWS_PER_BLOCK)))
        ds = ds.map_batches(RayEncoder, fn_constructor_kwargs={"model": self.model, "precision": self.precision},
                            batch_size=max(batch_size * 16, 64), concurrency=self.actors, num_gpus=self.gpus or None,
                            batch_format="numpy")
        pending: list[np.ndarray] = []
        have = start = 0
        for batch in ds.iter_batches(batch_size=step, batch_format="numpy", prefetch_batches=1):
            i = np.asarray(batch["i"])
            if not np.array_equal(i, np.arange(have, have + len(i))):
                raise RuntimeError("Ray returned embeddings out of order")
            self.workers.update(int(p) for p in np.unique(batch["pid"]))
            pending.append(np.asarray(batch["vector"], dtype=np.float32))
            have += len(i)
            if have - start >= step:
                block = np.concatenate(pending)
                yield start, block
                start, pending = have, []
        if pending:
            yield start, np.concatenate(pending)
        if have != len(texts):
            raise RuntimeError(f"Ray returned {have} embeddings for {len(texts)} texts")
