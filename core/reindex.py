"""Background batch re-index of the configured folders: one job at a time, with progress a client can poll.

The job ingests through its own KnowledgeBase (its own SQLite connection), so the serving one keeps answering
from the previous committed version until the batch commits, then picks the new version up on its next query
(`KnowledgeBase.index()` patches the FAISS index). Jobs live in memory: a restart forgets them, not the data.
"""
from __future__ import annotations

import threading
import traceback
import uuid
from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, Field

from core.knowledge_base import KnowledgeBase
from core.models import IngestReport

KEEP_JOBS = 20  # finished jobs remembered for polling


class StageProgress(BaseModel):
    done: int = 0
    total: int = 0


class ReindexJob(BaseModel):
    id: str
    state: Literal["running", "done", "failed"] = "running"
    stage: str | None = Field(default=None, description="reading, chunking, embedding, writing or indexing")
    done: int = Field(default=0, description="items of the current stage done")
    total: int = Field(default=0, description="items of the current stage")
    stages: dict[str, StageProgress] = Field(default_factory=dict)
    prune: bool = False
    started_at: datetime
    finished_at: datetime | None = None
    report: IngestReport | None = Field(default=None, description="added/updated/skipped/removed/failed, when done")
    error: str | None = None


class ReindexRunning(RuntimeError):
    """Only one re-index at a time: a second one would only wait for the ingest lock."""

    def __init__(self, job_id: str):
        self.job_id = job_id
        super().__init__(f"a re-index is already running (job {job_id})")


class Reindexer:
    """Starts re-index jobs for one KnowledgeBase and remembers their progress."""

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        self._jobs: dict[str, ReindexJob] = {}
        self._lock = threading.Lock()
        self._threads: dict[str, threading.Thread] = {}

    def start(self, prune: bool = False) -> ReindexJob:
        """Start a job in a background thread and return it at once; ReindexRunning if one is running."""
        with self._lock:
            running = next((j for j in self._jobs.values() if j.state == "running"), None)
            if running is not None:
                raise ReindexRunning(running.id)
            job = ReindexJob(id=uuid.uuid4().hex, prune=prune, started_at=datetime.now(timezone.utc))
            self._jobs[job.id] = job
            for old in [j.id for j in self._jobs.values() if j.state != "running"][:-KEEP_JOBS]:
                self._jobs.pop(old, None)
                self._threads.pop(old, None)
            thread = threading.Thread(target=self._run, args=(job,), name=f"reindex-{job.id[:8]}", daemon=True)
            self._threads[job.id] = thread
        thread.start()
        return job.model_copy(deep=True)

    def get(self, job_id: str) -> ReindexJob | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return job.model_copy(deep=True) if job else None

    def wait(self, job_id: str, timeout: float | None = None) -> ReindexJob | None:
        """Block until the job finishes (tests, CLI); the HTTP API polls instead."""
        thread = self._threads.get(job_id)
        if thread is not None:
            thread.join(timeout)
        return self.get(job_id)

    def _progress(self, job: ReindexJob, stage: str, done: int, total: int) -> None:
        with self._lock:
            job.stage, job.done, job.total = stage, done, total
            job.stages[stage] = StageProgress(done=done, total=total)

    def _run(self, job: ReindexJob) -> None:
        worker = KnowledgeBase(self.kb.settings, embedder=self.kb.embedder)  # own connection: no half batch seen
        try:
            report = worker.ingest(prune=job.prune, on_progress=lambda s, d, t: self._progress(job, s, d, t))
            self.kb.index()  # the serving index takes the new version now, not on the next query
            with self._lock:
                job.report, job.state = report, "done"
        except Exception as exc:  # a job reports its failure instead of killing the server
            traceback.print_exc()
            with self._lock:
                job.error, job.state = f"{type(exc).__name__}: {exc}", "failed"
        finally:
            worker.store.close()
            with self._lock:
                job.finished_at = datetime.now(timezone.utc)
