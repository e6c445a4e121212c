"""The HTTP API: each route validates its input and calls one KnowledgeBase method."""

import hmac
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Header, HTTPException, Query
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from core.knowledge_base import KnowledgeBase
from core.reindex import Reindexer, ReindexJob, ReindexRunning
from core.models import Answer, Chunk, Episode, Filters, Hit, Kind, ThemeDetail, ThemeSummary
from search.taxonomy import UnknownTheme
from search.retrieval import Mode

MAX_QUERY = 1000
STATIC = Path(__file__).parent / "static"  # the web page at / (plain HTML/CSS/JS, no build step)


class SearchResponse(BaseModel):
    results: list[Hit]


class AskRequest(BaseModel):
    question: str = Field(min_length=1, max_length=MAX_QUERY)
    k: int = Field(default=5, ge=1, le=20)
    speaker: str | None = Field(default=None, max_length=200)
    episode: str | None = Field(default=None, max_length=200)
    kind: Kind | None = None
    theme: list[str] = Field(default_factory=list, max_length=20, description="passages carrying any of these themes")
    filters: Filters | None = Field(default=None, description="alternative to the flat speaker/episode/kind fields")

    def to_filters(self) -> Filters:
        base = self.filters or Filters()
        return Filters(speaker=self.speaker or base.speaker, episode=self.episode or base.episode,
                       kind=self.kind or base.kind, themes=self.theme or base.themes)


class ChunkContext(BaseModel):
    chunk: Chunk
    context: list[Chunk]


class Health(BaseModel):
    status: str
    index_version: int
    episodes: int
    chunks: int


def create_app(kb: KnowledgeBase | None = None) -> FastAPI:
    app = FastAPI(title="kb", description="Cited answers from podcast transcripts and notes", version="0.1.0")
    state = {"kb": kb}

    def get_kb() -> KnowledgeBase:
        if state["kb"] is None:
            state["kb"] = KnowledgeBase()
            state["kb"].ensure_ingested()
        return state["kb"]

    KB = Annotated[KnowledgeBase, Depends(get_kb)]

    @app.exception_handler(UnknownTheme)
    def unknown_theme(_request, exc: UnknownTheme) -> JSONResponse:
        return JSONResponse(status_code=400, content={"detail": str(exc)})

    def known_episode(kb: KnowledgeBase, episode: str | None) -> None:
        """An episode filter that names no episode (by id or part of its title) is a 404: an empty result would
        read as "the episode does not talk about that"."""
        if episode and not len(kb.store.filter_ids(Filters(episode=episode))):
            raise HTTPException(404, f"no episode matches {episode!r}")

    @app.get("/health", response_model=Health)
    def health(kb: KB) -> Health:
        e, c, _ = kb.store.counts()
        return Health(status="ok", index_version=kb.store.version(), episodes=e, chunks=c)

    @app.get("/search", response_model=SearchResponse)
    def search(kb: KB,
               q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY, description="the query")],
               k: Annotated[int, Query(ge=1, le=100)] = 10,
               speaker: Annotated[str | None, Query(max_length=200)] = None,
               episode: Annotated[str | None, Query(max_length=200)] = None,
               kind: Kind | None = None,
               mode: Mode | None = None,
               theme: Annotated[list[str], Query(max_length=20, description="theme (repeatable, any of)")] = []
               ) -> SearchResponse:
        known_episode(kb, episode)
        hits = kb.search(q, k, Filters(speaker=speaker, episode=episode, kind=kind, themes=theme), mode)
        return SearchResponse(results=hits)

    def checked(kb: KB, body: AskRequest) -> AskRequest:
        """The request, once its episode filter names an episode and its themes are known: checked before a stream
        starts, since an error can no longer change the status once events flow."""
        known_episode(kb, body.to_filters().episode)
        kb.resolve_filters(body.to_filters())  # UnknownTheme -> 400
        return body

    Checked = Annotated[AskRequest, Depends(checked)]

    @app.post("/ask", response_model=Answer, responses={404: {"description": "the episode filter names no episode"}})
    def ask(kb: KB, body: Checked) -> Answer:
        return kb.ask(body.question, body.k, body.to_filters())

    @app.post("/ask/stream", response_class=EventSourceResponse,
              responses={200: {"description": "server-sent events: `extractive` (the extractive Answer, at once), "
                                              "`sentence` (each generated sentence once verified, when a language "
                                              "model is configured), `answer` (the final Answer, as POST /ask)"},
                         404: {"description": "the episode filter names no episode"}})
    def ask_stream(kb: KB, body: Checked):
        """The answer as it forms, for the web page: the extractive points at once, then a generated answer
        sentence by sentence (each shown only once it passed verification)."""
        for event, data in kb.ask_stream(body.question, body.k, body.to_filters()):
            yield ServerSentEvent(event=event, data=data)

    @app.get("/episodes", response_model=list[Episode])
    def episodes(kb: KB) -> list[Episode]:
        return kb.episodes()

    @app.get("/episodes/{episode_id}", response_model=Episode, responses={404: {"description": "no such episode"}})
    def episode(kb: KB, episode_id: Annotated[str, PathParam(max_length=200)]) -> Episode:
        found = kb.store.episode(episode_id)
        if found is None:
            raise HTTPException(404, f"no episode with id {episode_id!r}")
        return found

    @app.get("/chunks/{chunk_id}", response_model=ChunkContext)
    def chunk(kb: KB, chunk_id: Annotated[int, PathParam(ge=0, le=2**63 - 1)], context: Annotated[int, Query(ge=0, le=20)] = 0) -> ChunkContext:
        around = kb.chunk(chunk_id, context)
        this = next((c for c in around if c.id == chunk_id), None)
        if this is None:
            raise HTTPException(404, f"no chunk with id {chunk_id}")
        return ChunkContext(chunk=this, context=around)

    @app.get("/themes", response_model=list[ThemeSummary])
    def themes(kb: KB) -> list[ThemeSummary]:
        return kb.themes()

    @app.get("/themes/{name}", response_model=ThemeDetail)
    def theme(kb: KB, name: Annotated[str, PathParam(max_length=100)], k: Annotated[int, Query(ge=1, le=100)] = 10) -> ThemeDetail:
        try:
            return kb.theme(name, k)
        except UnknownTheme as exc:
            raise HTTPException(404, str(exc)) from exc

    def authorized(kb: KB, authorization: Annotated[str | None, Header()] = None) -> KnowledgeBase:
        """Write endpoints need `Authorization: Bearer <KB_API_TOKEN>`; without a configured token they are off."""
        token = kb.settings.api_token
        if not token:
            raise HTTPException(403, "re-indexing over HTTP is disabled: set KB_API_TOKEN on the server to enable it")
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            raise HTTPException(401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})
        return kb

    def reindexer(kb: KnowledgeBase) -> Reindexer:
        if state.get("reindexer") is None:
            state["reindexer"] = Reindexer(kb)
        return state["reindexer"]

    @app.post("/reindex", response_model=ReindexJob, status_code=202,
              responses={409: {"description": "a re-index is already running; `job_id` names it"}})
    def reindex(kb: Annotated[KnowledgeBase, Depends(authorized)], prune: bool = False):
        """Start re-indexing the configured folders (KB_CORPUS_DIRS) in the background; poll GET /reindex/{id}."""
        try:
            return reindexer(kb).start(prune=prune)
        except ReindexRunning as exc:
            return JSONResponse(status_code=409, content={"detail": str(exc), "job_id": exc.job_id})

    @app.get("/reindex/{job_id}", response_model=ReindexJob)
    def reindex_status(kb: Annotated[KnowledgeBase, Depends(authorized)], job_id: str) -> ReindexJob:
        """Stage, done/total counts, and the summary (or the error) once finished."""
        job = reindexer(kb).get(job_id)
        if job is None:
            raise HTTPException(404, f"no re-index job {job_id}")
        return job

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    return app
