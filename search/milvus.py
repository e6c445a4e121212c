"""KB_BACKEND=milvus: every committed version of the SQLite store published to Milvus, and queries answered there.

Collections (prefix KB_MILVUS_COLLECTION, default `kb`):

- `<p>_chunks`, one row per chunk: everything a hit, an answer or a filter reads (text, episode id and title,
  source, ordinal and the episode's last ordinal, speaker(s), kind, section, start/end, offsets, themes, sentences)
  plus the chunk's own vector (HNSW, inner product) and `bm25`, the chunk text and its context header tokenised and
  Porter-stemmed as SQLite FTS5 does, which a BM25 function turns into the sparse field `sparse`.
- `<p>_vectors`, one row per vector: the chunk's own (window 0) and its sentence windows' (1, 2, ...), with the
  filter fields. Dense retrieval searches it grouped by chunk id, so a chunk scores its best vector, as FAISS does.
- `<p>_state`: the published version and one record per episode version (what was published from which store
  state).

Atomic episodes (MVCC): every row carries `v_from` and `v_to` (publish versions) and a query sees a row only when
`v_from <= P < v_to`, P being the version in the `published` record, which one single-row upsert moves. A publish
inserts the new versions' rows under P+1 (invisible), marks the replaced and removed episodes' rows `v_to = P+1`
(still visible at P), then moves P to P+1: one write, so a query sees every changed episode before or after,
never half. A publish killed anywhere leaves P (the previous version) whole; the next one first removes rows
above P and restores `v_to` of rows a dead publish had marked. Rows retired by one publish are deleted by the
next, so a query that read P just before a flip still finds its rows.

Fusion: by default the two ranked lists (dense, BM25) come from two Milvus searches issued side by side and are
fused here exactly as the SQLite path fuses them (z-scores, speaker boost, neighbour context): Milvus's weighted
ranker normalises each list differently (and milvus-lite differently from the server), so it cannot reproduce
that ranking. KB_MILVUS_FUSION=server fuses in Milvus instead: one `hybrid_search` over the chunk vector and BM25
with `RRFRanker(60)` (mode `rrf`) or `WeightedRanker(w, 1-w)` (mode `hybrid`, then the neighbour context).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable
from functools import lru_cache

import numpy as np
from pymilvus import AnnSearchRequest, DataType, Function, FunctionType, MilvusClient, RRFRanker, WeightedRanker
from pymilvus.exceptions import MilvusException

from core.models import Chunk, Filters, Kind, Sentence, SentenceRole
from search import bm25
from search.backend import Backend, BackendError, default_milvus_uri
from search.lock import IngestLocked, ingest_lock
from search.retrieval import SPEAKER_BOOST, Mode, Retriever
from search.store import Store, in_batches

log = logging.getLogger(__name__)

INF = 2**62  # v_to of a row no publish has retired
HNSW_M, HNSW_EF_CONSTRUCTION = 32, 80  # as the FAISS HNSW index (search.vector_index)
GROUP_FETCH = 10  # vectors a grouped search looks at per chunk asked for (milvus-lite over-fetches 10x too)
INSERT_ROWS = 500  # rows per insert request (well under gRPC's message limit with 384-d vectors and text)
EPISODES_PER_PUBLISH_STEP = 100
QUERY_PAGE = 10_000  # rows per query page (Milvus caps limit + offset at 16,384)
RESCORE_DEPTH = 2  # BM25 candidates asked of Milvus per one kept, to be scored again as FTS5 scores them
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
LIGHT = ["chunk_id", "episode_id", "ordinal", "last_ordinal", "speakers", "kind"]
SHOWN = ["chunk_id", "episode_id", "title", "source", "ordinal", "last_ordinal", "text", "speaker", "speakers",
         "start_s", "end_s", "char_start", "char_end", "kind", "section", "themes"]


# --- BM25 text: the FTS5 tokens ------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer  # PyStemmer: Snowball's implementation of the original Porter algorithm, as FTS5's `porter`

    return Stemmer.Stemmer("porter")


def _fold(text: str) -> str:
    """unicode61's case folding and diacritic removal."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def bm25_tokens(text: str) -> list[str]:
    """The terms FTS5 (`porter unicode61`) indexes for a text: letter/digit runs, folded, Porter-stemmed (ASCII
    words of 3+ letters). Stemming happens here, not in a Milvus analyzer: milvus-lite has no stemmer, and the
    same stemmed words then make the same index on milvus-lite and on a Milvus cluster."""
    words = _TOKEN.findall(_fold(text))
    stem = _stemmer().stemWord
    return [stem(w) if len(w) > 2 and w.isascii() else w for w in words]


def _bm25_fields(text: str, header: str) -> dict:
    """The `bm25` field (text then header tokens, which Milvus indexes) and where the header starts in it (which
    lets a query score the row as FTS5 does, each column with its own weight)."""
    head = bm25_tokens(text)
    return {"bm25": " ".join(head + bm25_tokens(header)), "head_at": len(head)}


# --- expressions -----------------------------------------------------------------------------------------
def lit(value: str) -> str:
    """A Milvus string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def visible(version: int) -> str:
    return f"(v_from <= {int(version)} and v_to > {int(version)})"


def bars(values: Iterable[str]) -> str:
    """`|a|b|`: a list a `like '%|a|%'` filter matches on (array_contains was 50-800x slower on milvus-lite)."""
    return "|" + "|".join(v.replace("|", " ") for v in values) + "|" if values else ""


def filter_expr(filters: Filters | None, version: int) -> str:
    """The API's filters as a Milvus expression over the filter fields every row carries, as Store._where
    reads them: speaker = part of a short or full name, episode = id or part of the title (case-insensitive),
    kind, any of the themes; and only rows of the published version."""
    parts = [visible(version)]
    f = filters or Filters()
    if f.speaker:
        if "|" in f.speaker:
            parts.append("chunk_id < 0")  # no name holds the separator
        else:
            parts.append(f"who like {lit('%' + f.speaker.lower() + '%')}")
    if f.episode:
        parts.append(f"(episode_id == {lit(f.episode)} or title_lc like {lit('%' + f.episode.lower() + '%')})")
    if f.kind:
        parts.append(f"kind == {lit(Kind(f.kind).value)}")
    if f.themes:
        parts.append("(" + " or ".join(f"themes like {lit('%|' + t + '|%')}" for t in f.themes) + ")")
    return " and ".join(parts)


def has_filters(filters: Filters | None) -> bool:
    return bool(filters and (filters.speaker or filters.episode or filters.kind or filters.themes))


# --- schema ----------------------------------------------------------------------------------------------
def _text(schema, name: str, length: int = 4096, **kw) -> None:
    schema.add_field(name, DataType.VARCHAR, max_length=length, **kw)


def _filter_fields(schema) -> None:
    """What every filter reads, on both data collections."""
    schema.add_field("chunk_id", DataType.INT64)
    _text(schema, "episode_id", 1024)
    _text(schema, "title_lc", 4096)
    _text(schema, "who", 8192)  # |short|full name|... of the chunk's speakers, lower-case
    _text(schema, "kind", 32)
    _text(schema, "themes", 4096)  # |theme|theme|, strongest first
    schema.add_field("v_from", DataType.INT64)
    schema.add_field("v_to", DataType.INT64)


def chunk_schema(dim: int):
    s = MilvusClient.create_schema(auto_id=False)
    s.add_field("pk", DataType.INT64, is_primary=True)
    _filter_fields(s)
    _text(s, "title", 4096)
    _text(s, "source", 4096)
    s.add_field("ordinal", DataType.INT64)
    s.add_field("last_ordinal", DataType.INT64)
    _text(s, "text", 65535)
    _text(s, "bm25", 65535, enable_analyzer=True, analyzer_params={"tokenizer": "standard"})
    s.add_field("head_at", DataType.INT64)  # bm25's first head_at tokens are the chunk text's, the rest the header's
    s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    _text(s, "speaker", 1024)
    _text(s, "speakers", 8192)  # JSON list of short names
    s.add_field("start_s", DataType.DOUBLE)  # -1: none (a note)
    s.add_field("end_s", DataType.DOUBLE)
    s.add_field("char_start", DataType.INT64)
    s.add_field("char_end", DataType.INT64)
    _text(s, "section", 4096)
    _text(s, "sentences", 65535)  # JSON [[start, end, char_start, char_end, speaker, seconds, role], ...]
    s.add_function(Function(name="bm25_fn", function_type=FunctionType.BM25, input_field_names=["bm25"],
                            output_field_names=["sparse"]))
    return s


def vector_schema(dim: int):
    s = MilvusClient.create_schema(auto_id=False)
    s.add_field("pk", DataType.INT64, is_primary=True)
    _filter_fields(s)
    s.add_field("window", DataType.INT64)  # 0: the chunk's own vector
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    return s


def state_schema():
    s = MilvusClient.create_schema(auto_id=False)
    _text(s, "key", 2048, is_primary=True)  # "published" or "ep:<episode id>:<v_from>"
    _text(s, "episode_id", 1024)
    _text(s, "value", 4096)  # the episode version's key, or for "published" the model name
    s.add_field("version", DataType.INT64)
    s.add_field("rows", DataType.INT64)  # chunks and their BM25 tokens: the episode's, or for "published" all of P's
    s.add_field("tokens", DataType.INT64)
    s.add_field("v_from", DataType.INT64)
    s.add_field("v_to", DataType.INT64)
    s.add_field("dummy", DataType.FLOAT_VECTOR, dim=2)  # a collection needs a vector field on Milvus 2.5
    return s


def _index_params(client: MilvusClient, fields: dict[str, dict], scalars: list[str]):
    ip = client.prepare_index_params()
    for name, spec in fields.items():
        ip.add_index(name, **spec)
    for name in scalars:
        ip.add_index(name, index_type="INVERTED")
    return ip


HNSW = {"index_type": "HNSW", "metric_type": "IP", "params": {"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION}}
BM25_INDEX = {"index_type": "SPARSE_INVERTED_INDEX", "metric_type": "BM25",
              "params": {"inverted_index_algo": "DAAT_MAXSCORE", "bm25_k1": 1.2, "bm25_b": 0.75}}  # FTS5's k1, b


# --- the backend -------------------------------------------------------------------------------------------
MIN_SERVER = (2, 5)  # the BM25 function and its sparse index arrived in Milvus 2.5


def server_supported(version: str) -> bool:
    """Whether a server's reported version ("v2.5.4", "v2.3.5-lite", "milvus_lite-3.2.2") can hold kb's
    collections. milvus-lite 3.x, the pure-Python one, can; a version that does not parse is given the benefit of
    the doubt (the first collection call would then say what is missing)."""
    if version.startswith("milvus_lite"):
        return True
    m = re.match(r"v?(\d+)\.(\d+)", version.strip())
    return m is None or (int(m[1]), int(m[2])) >= MIN_SERVER


class MilvusBackend(Backend):
    name = "milvus"

    def __init__(self, settings, store: Store):
        super().__init__(settings, store)
        self.uri = settings.milvus_uri or default_milvus_uri(settings.data_dir)
        token = settings.milvus_token.get_secret_value() if settings.milvus_token else ""
        self.local = not self.uri.startswith(("http://", "https://", "tcp://", "unix:"))  # milvus-lite files
        if self.local:
            os.makedirs(os.path.dirname(os.path.abspath(self.uri)), exist_ok=True)
        self.client = MilvusClient(uri=self.uri, token=token)
        self.rebuilt: str | None = None  # why the local milvus-lite copy was thrown away, when it was
        version = self.client.get_server_version()
        if not server_supported(version):
            self.client.close()
            raise BackendError(f"KB_MILVUS_URI={self.uri}: this server is Milvus {version}, which has no BM25 "
                               f"full-text search; kb's milvus backend needs Milvus {'.'.join(map(str, MIN_SERVER))} "
                               f"or later (or a file path, for milvus-lite)")
        p = settings.milvus_collection
        self.chunks_c, self.vectors_c, self.state_c = f"{p}_chunks", f"{p}_vectors", f"{p}_state"
        self._lock = threading.Lock()
        self._seen_store_version = -1  # the store version this process last published (or found published)
        self._loaded = False
        self._totals_at: dict[int, tuple[int, int]] = {}  # version -> its (chunks, BM25 tokens)

    # --- collections --------------------------------------------------------------------------------
    def _exists(self) -> bool:
        return self.client.has_collection(self.state_c) and self.client.has_collection(self.chunks_c)

    def _create(self, dim: int) -> None:
        c = self.client
        scalars = ["chunk_id", "episode_id", "kind", "v_from", "v_to"]
        for name, schema, params in (
                (self.state_c, state_schema(), _index_params(c, {"dummy": {"index_type": "FLAT", "metric_type": "L2"}}, [])),
                (self.chunks_c, chunk_schema(dim), _index_params(c, {"vector": HNSW, "sparse": BM25_INDEX}, scalars)),
                (self.vectors_c, vector_schema(dim), _index_params(c, {"vector": HNSW}, scalars))):
            if not c.has_collection(name):
                shards = {"num_shards": self.settings.milvus_shards} if self.settings.milvus_shards > 1 else {}
                c.create_collection(name, schema=schema, consistency_level="Strong", **shards)
                # the indexes of an empty collection: no need to poll for them (pymilvus waits 0.5 s per index)
                c.create_index(name, params, sync=False)
                self._load_collection(name)

    def _load_collection(self, name: str) -> None:
        """Load into query nodes' memory, as KB_MILVUS_REPLICAS copies on a cluster."""
        replicas = self.settings.milvus_replicas
        if replicas > 1:
            self.client.load_collection(name, replica_number=replicas)
        else:
            self.client.load_collection(name)

    def drop(self) -> None:
        for name in (self.chunks_c, self.vectors_c, self.state_c):
            if self.client.has_collection(name):
                self.client.drop_collection(name)
        self._loaded = False

    def close(self) -> None:
        self.client.close()

    # --- reading the published state ---------------------------------------------------------------
    def _load(self) -> None:
        """Load the collections once per process: a server keeps them loaded, milvus-lite opens them released."""
        if self._loaded:
            return
        try:
            for name in (self.state_c, self.chunks_c, self.vectors_c):
                if self.client.has_collection(name) and "NotLoad" in str(self.client.get_load_state(name).get("state")):
                    self._load_collection(name)
        except MilvusException as exc:
            if not self.local:
                raise
            self._discard_local(exc)
        self._loaded = self._exists()

    def _discard_local(self, exc: Exception) -> None:
        """A milvus-lite copy that no longer loads is thrown away; the next sync publishes the store again.

        milvus-lite writes its files without making each write atomic: a SIGKILL mid-write has left a 0-byte index
        file that its manifest names ("File is too small: 0"), and then no collection loads. Like the FAISS file,
        a local copy is derived from the SQLite store, so nothing is lost. A server is never dropped this way."""
        log.warning("kb: %s: milvus-lite cannot load its collections (%s): probably a write cut short by a crash; "
                    "dropping them, the store will be published again", self.uri, exc)
        try:
            self.drop()
        except MilvusException as again:
            raise BackendError(f"{self.uri}: milvus-lite cannot load or drop its collections ({again}); delete "
                               f"this path and run `kb check`, which publishes the store again") from exc
        self._seen_store_version = -1
        self.rebuilt = str(exc)

    def published(self) -> tuple[int, str]:
        """(P, model) of the published version; (0, "") before the first publish."""
        self._load()
        if not self.client.has_collection(self.state_c):
            return 0, ""
        rows = self.client.query(self.state_c, filter='key == "published"', output_fields=["version", "value"])
        return (int(rows[0]["version"]), rows[0]["value"]) if rows else (0, "")

    def episodes_published(self, version: int) -> dict[str, tuple[str, str]]:
        """episode id -> (key of the published episode version, its state row key)."""
        rows = self._all(self.state_c, f'key like "ep:%" and {visible(version)}', ["key", "episode_id", "value"])
        return {r["episode_id"]: (r["value"], r["key"]) for r in rows}

    def _all(self, collection: str, expr: str, fields: list[str]) -> list[dict]:
        """Every row matching, paged by primary key (Milvus caps one query at 16,384 rows)."""
        pk = "key" if collection == self.state_c else "pk"
        out: list[dict] = []
        last = None
        while True:
            where = expr if last is None else f"({expr}) and {pk} > {lit(last) if pk == 'key' else last}"
            rows = self.client.query(collection, filter=where, output_fields=list(dict.fromkeys([pk, *fields])),
                                     limit=QUERY_PAGE)
            out += rows
            if len(rows) < QUERY_PAGE:
                return out
            last = max(r[pk] for r in rows)

    # --- publishing ---------------------------------------------------------------------------------
    def sync(self, model: str) -> MilvusView:
        """Publish the store's committed version if Milvus lags behind it, and return a view of what is published.
        Only the process holding the data directory's ingest lock publishes (an ingest, `kb check`, or a reader
        when no ingest runs); elsewhere readers just read the published version."""
        version = self.store.version()
        if version != self._seen_store_version:
            with self._lock:
                if version != self._seen_store_version:
                    try:
                        with _writer(self.settings.data_dir):
                            self.publish(model)
                        self._seen_store_version = version
                    except IngestLocked:
                        pass  # another process is ingesting: it publishes when its batch commits
        return self.view()

    def episode_keys(self, model: str) -> dict[str, str]:
        """episode id -> what its published rows depend on: its content hash, chunk ids, theme tags and model."""
        extra: dict[str, list] = {}
        rows = self.store.db.execute("SELECT c.episode_id, MIN(c.id), COUNT(*) FROM chunks c GROUP BY c.episode_id")
        for eid, first, n in rows:
            extra[eid] = [first, n]
        tags: dict[str, list] = {}
        for eid, cid, theme, score in self.store.db.execute(
                "SELECT c.episode_id, t.chunk_id, t.theme, t.score FROM chunk_themes t JOIN chunks c ON c.id = t.chunk_id"
                " ORDER BY t.chunk_id, t.score DESC, t.theme"):
            tags.setdefault(eid, []).append((cid, theme))
        out = {}
        for eid, (h, _) in self.store.episode_state().items():
            payload = json.dumps([h, extra.get(eid), tags.get(eid, []), model])
            out[eid] = hashlib.sha256(payload.encode()).hexdigest()
        return out

    def publish(self, model: str, progress: Callable[[int, int], None] | None = None) -> int:
        """Bring Milvus to the store's current version: only the episodes whose key changed are written. Returns
        the number of episodes written or retired. The caller holds the ingest lock (one writer)."""
        for _ in range(3):
            store_version = self.store.version()
            want = self.episode_keys(model)
            if self.store.version() == store_version:
                break
        else:
            raise RuntimeError("the store kept changing while its version was being read")
        dim = self._dim(model)
        P, published_model = self.published()
        if self._exists() and not self._current_schema():
            log.info("kb: %s: collections from an older kb; publishing the store again", self.uri)
            self.drop()
            P, published_model = 0, ""
        if self._exists() and published_model and (published_model != model or self._stored_dim() != dim):
            self.drop()  # another model: every row is re-published (the store re-embedded them anyway)
            P, published_model = 0, ""
        self._create(dim)
        self.recover(P)
        have = self.episodes_published(P)
        changed = [e for e, k in want.items() if have.get(e, ("",))[0] != k]
        gone = [e for e in have if e not in want]
        if not changed and not gone and published_model == model:
            return 0
        V = P + 1
        seq = 0
        retire = [e for e in changed if e in have] + gone
        for i in range(0, len(changed), EPISODES_PER_PUBLISH_STEP):
            part = changed[i:i + EPISODES_PER_PUBLISH_STEP]
            seq = self._insert_episodes(part, want, model, V, seq)
            if progress:
                progress(min(i + EPISODES_PER_PUBLISH_STEP, len(changed)), len(changed))
        for part, _ in in_batches(retire, EPISODES_PER_PUBLISH_STEP):
            self._retire(list(part), have, P, V)
        rows, tokens = self._totals(P, V, [have[e][1] for e in retire])
        # the flip: one row, so a query sees every changed episode at once
        self.client.upsert(self.state_c, [{"key": "published", "episode_id": "", "value": model, "version": V,
                                           "rows": rows, "tokens": tokens, "v_from": 0, "v_to": INF,
                                           "dummy": [0.0, 0.0]}])
        self.gc(V)
        for name in (self.chunks_c, self.vectors_c, self.state_c):
            self.client.flush(name)  # sealed, indexed segments (milvus-lite searches a memtable by brute force)
        return len(changed) + len(gone)

    def _totals(self, P: int, V: int, retired: list[str]) -> tuple[int, int]:
        """Chunks and BM25 tokens visible at V: P's, less the retired episode versions', plus the new ones'
        (FTS5's N and mean row length, kept as the episodes change rather than counted over every row)."""
        rows, tokens = self._published_totals(P) or (0, 0)
        for sign, expr in ((-1, f"key in [{', '.join(lit(k) for k in retired)}]" if retired else ""),
                           (1, f'key like "ep:%" and v_from == {V}')):
            if expr:
                for r in self._all(self.state_c, expr, ["rows", "tokens"]):
                    rows, tokens = rows + sign * int(r["rows"]), tokens + sign * int(r["tokens"])
        return rows, tokens

    def _current_schema(self) -> bool:
        """Whether the collections have every field this kb writes (an index from an older kb is published again)."""
        def fields(name: str) -> set[str]:
            return {f["name"] for f in self.client.describe_collection(name)["fields"]}
        return "head_at" in fields(self.chunks_c) and "tokens" in fields(self.state_c)

    def recover(self, P: int) -> None:
        """Undo what a publish killed before its flip left: rows above P go, rows it had retired come back."""
        for name in (self.chunks_c, self.vectors_c, self.state_c):
            self.client.delete(name, filter=f"v_from > {P}")
            pk = "key" if name == self.state_c else "pk"
            marked = self._all(name, f"v_to > {P} and v_to < {INF}", [pk])
            for part, _ in in_batches(marked, INSERT_ROWS):
                self._set_v_to(name, pk, [r[pk] for r in part], INF)

    def gc(self, P: int) -> None:
        """Delete rows retired at or before the previous version: a query that read P-1 just before the flip
        still finds its rows (retired by this publish, deleted by the next)."""
        for name in (self.chunks_c, self.vectors_c, self.state_c):
            self.client.delete(name, filter=f"v_to <= {P - 1}")

    def _retire(self, episodes: list[str], have: dict[str, tuple[str, str]], P: int, V: int) -> None:
        ids = ", ".join(lit(e) for e in episodes)
        for name in (self.chunks_c, self.vectors_c):
            rows = self._all(name, f"episode_id in [{ids}] and {visible(P)}", ["pk"])
            for part, _ in in_batches(rows, INSERT_ROWS):
                self._set_v_to(name, "pk", [r["pk"] for r in part], V)
        self._set_v_to(self.state_c, "key", [have[e][1] for e in episodes], V)

    def _set_v_to(self, name: str, pk: str, keys: list, v_to: int) -> None:
        if not keys:
            return
        try:
            self.client.upsert(name, [{pk: k, "v_to": v_to} for k in keys], partial_update=True)
        except Exception:  # a server without partial updates: write the whole rows back
            quoted = ", ".join(lit(k) if isinstance(k, str) else str(k) for k in keys)
            rows = self.client.query(name, filter=f"{pk} in [{quoted}]", output_fields=["*"])
            for r in rows:
                r.pop("sparse", None)  # the BM25 function's output is recomputed
                r["v_to"] = v_to
            self.client.upsert(name, rows)

    def _dim(self, model: str) -> int:
        row = self.store.db.execute("SELECT dim FROM embeddings WHERE model = ? LIMIT 1", (model,)).fetchone()
        return int(row[0]) if row else 384

    def _stored_dim(self) -> int | None:
        for f in self.client.describe_collection(self.chunks_c)["fields"]:
            if f["name"] == "vector":
                return int(f["params"]["dim"])
        return None

    def _insert_episodes(self, episodes: list[str], keys: dict[str, str], model: str, V: int, seq: int) -> int:
        """Insert these episodes' rows (chunks, vectors, state record) as version V; returns the next row number."""
        chunk_rows, vector_rows = self._rows(episodes, model, V, seq)
        seq += len(chunk_rows) + len(vector_rows)
        for name, rows in ((self.chunks_c, chunk_rows), (self.vectors_c, vector_rows)):
            for i in range(0, len(rows), INSERT_ROWS):
                self.client.insert(name, rows[i:i + INSERT_ROWS])
        sizes: dict[str, list[int]] = {e: [0, 0] for e in episodes}
        for r in chunk_rows:
            sizes[r["episode_id"]][0] += 1
            sizes[r["episode_id"]][1] += len(r["bm25"].split())
        self.client.insert(self.state_c, [{"key": f"ep:{e}:{V}", "episode_id": e, "value": keys[e], "version": V,
                                           "rows": sizes[e][0], "tokens": sizes[e][1], "v_from": V, "v_to": INF,
                                           "dummy": [0.0, 0.0]} for e in episodes])
        return seq

    def _rows(self, episodes: list[str], model: str, V: int, seq: int) -> tuple[list[dict], list[dict]]:
        db = self.store.db
        chunks, vectors = [], []
        for part, marks in in_batches(episodes, 400):
            rows = db.execute(
                f"SELECT c.*, e.title, e.source, e.speakers AS names, f.context, v.vector AS vec,"
                f" (SELECT MAX(ordinal) FROM chunks x WHERE x.episode_id = c.episode_id) AS last"
                f" FROM chunks c JOIN episodes e ON e.id = c.episode_id JOIN chunks_fts f ON f.rowid = c.id"
                f" JOIN embeddings v ON v.hash = c.embed_hash AND v.model = ?"
                f" WHERE c.episode_id IN ({marks}) ORDER BY c.id", (model, *part)).fetchall()
            ids = [r["id"] for r in rows]
            themes = _by_chunk(db, "SELECT chunk_id, theme FROM chunk_themes WHERE chunk_id IN ({}) "
                                   "ORDER BY chunk_id, score DESC", ids)
            sentences = _by_chunk(db, "SELECT chunk_id, start, end, char_start, char_end, speaker, seconds, role"
                                      " FROM sentences WHERE chunk_id IN ({}) ORDER BY chunk_id, ordinal", ids,
                                  whole=True)
            windows = _by_chunk(db, "SELECT w.chunk_id, v.vector FROM windows w JOIN embeddings v ON"
                                    " v.hash = w.embed_hash AND v.model = ? WHERE w.chunk_id IN ({})"
                                    " ORDER BY w.chunk_id, w.ordinal", ids, first=(model,))
            for r in rows:
                names = json.loads(r["names"])
                speakers = json.loads(r["speakers"])
                shared = {"chunk_id": r["id"], "episode_id": r["episode_id"], "title_lc": r["title"].lower(),
                          "who": bars(n.lower() for s in speakers for n in dict.fromkeys([s, names.get(s, s)])),
                          "kind": r["kind"], "themes": bars(themes.get(r["id"], [])), "v_from": V, "v_to": INF}
                own = np.frombuffer(r["vec"], dtype=np.float32)
                chunks.append({
                    "pk": (V << 32) | seq, **shared, "title": r["title"], "source": r["source"],
                    "ordinal": r["ordinal"], "last_ordinal": r["last"], "text": r["text"],
                    **_bm25_fields(r["text"], r["context"] or ""), "vector": own.tolist(),
                    "speaker": r["speaker"] or "", "speakers": r["speakers"],
                    "start_s": -1.0 if r["start_s"] is None else float(r["start_s"]),
                    "end_s": -1.0 if r["end_s"] is None else float(r["end_s"]),
                    "char_start": r["char_start"], "char_end": r["char_end"], "section": r["section"] or "",
                    "sentences": json.dumps([list(x) for x in sentences.get(r["id"], [])])})
                seq += 1
                for j, vec in enumerate([r["vec"], *windows.get(r["id"], [])]):
                    vectors.append({"pk": (V << 32) | seq, **shared, "window": j,
                                    "vector": np.frombuffer(vec, dtype=np.float32).tolist()})
                    seq += 1
        return chunks, vectors

    # --- reading ----------------------------------------------------------------------------------
    def view(self) -> MilvusView:
        P, _ = self.published()
        return MilvusView(self, P, self._published_totals(P))

    def _published_totals(self, P: int) -> tuple[int, int] | None:
        """(chunks, BM25 tokens) of version P, or None when they are not recorded (an index from an older kb,
        or a publish that moved on since P was read): keyword scores are then Milvus's own."""
        if not P:
            return None
        if P not in self._totals_at:
            try:
                rows = self.client.query(self.state_c, filter=f'key == "published" and version == {int(P)}',
                                         output_fields=["rows", "tokens"])
            except MilvusException:
                return None
            if not rows or not rows[0].get("rows"):
                return None
            self._totals_at = {P: (int(rows[0]["rows"]), int(rows[0]["tokens"]))}
        return self._totals_at[P]

    @property
    def reader(self) -> MilvusView:  # type: ignore[override]
        return self.view()

    def retriever(self, encode_query: Callable[[str], np.ndarray], model: str) -> Retriever:
        view = self.sync(model)  # publishes first if the store moved on (or this process has not looked yet)
        s = self.settings
        cls = MilvusServerFusionRetriever if s.milvus_fusion == "server" else MilvusRetriever
        return cls(view, view, encode_query, s.candidates, model, s.dense_weight, s.context_weight)

    # --- kb check ----------------------------------------------------------------------------------
    def check(self, model: str, repair: bool):
        """The SQLite store is sound, and the published version holds exactly the store's episode versions,
        each with all its chunk and vector rows; with `repair`, what disagrees is published again."""
        from search.check import CheckReport, check_store

        with _writer(self.settings.data_dir):
            problems = check_store(self.store.db, model)
            report = CheckReport(ok=False, store_problems=problems)
            if problems:
                return report
            report.episodes, report.chunks, _ = self.store.counts()
            report.index_version = self.store.version()
            report.vectors = self.store.vector_count(model)
            report.index_problems, report.index_vectors = self._disagreements(model)
            if report.index_problems and repair:
                if any("rows" in p for p in report.index_problems):
                    self.drop()  # rows the catalog does not explain: publish everything afresh
                self.publish(model)
                after, report.index_vectors = self._disagreements(model)
                report.repaired = not after
            report.ok = not report.index_problems or report.repaired
            return report

    def _disagreements(self, model: str) -> tuple[list[str], int | None]:
        if not self._exists():
            return ["nothing published to Milvus"], None
        P, published_model = self.published()
        problems = []
        if published_model != model:
            problems.append(f"published for model {published_model!r}, the store has {model!r}")
        want, have = self.episode_keys(model), self.episodes_published(P)
        stale = {e for e in want if have.get(e, ("",))[0] != want[e]} | {e for e in have if e not in want}
        if stale:
            problems.append(f"{len(stale)} episode versions differ from the store's")
        chunks = self._count(self.chunks_c, visible(P))
        vectors = self._count(self.vectors_c, visible(P))
        n_chunks = self.store.counts()[1]
        n_vectors = self.store.vector_count(model)
        if not stale and (chunks != n_chunks or vectors != n_vectors):
            problems.append(f"published rows: {chunks} chunks and {vectors} vectors, the store has {n_chunks} and "
                            f"{n_vectors}")
        return problems, vectors

    def _count(self, name: str, expr: str) -> int:
        return int(self.client.query(name, filter=expr, output_fields=["count(*)"])[0]["count(*)"])


def _by_chunk(db, sql: str, ids: list[int], first: tuple = (), whole: bool = False) -> dict[int, list]:
    out: dict[int, list] = {}
    for part, marks in in_batches(ids):
        for row in db.execute(sql.format(marks), (*first, *part)):
            out.setdefault(row[0], []).append(tuple(row[1:]) if whole else row[1])
    return out


class _writer:
    """The ingest lock, unless this process already holds it (an ingest publishing after its commit)."""

    def __init__(self, data_dir):
        self.data_dir, self._cm = data_dir, None

    def __enter__(self):
        holder = (self.data_dir / "ingest.lock")
        try:
            mine = holder.exists() and holder.read_text().strip() == str(os.getpid())
        except OSError:
            mine = False
        if not mine:
            self._cm = ingest_lock(self.data_dir)
            self._cm.__enter__()
        return self

    def __exit__(self, *exc):
        if self._cm is not None:
            return self._cm.__exit__(*exc)
        return False


# --- a query's view of one published version -----------------------------------------------------------
class MilvusView:
    """What the retriever reads, at one published version P: the Store's read methods for chunks and the vector
    index's `search`, answered by Milvus; the episode catalog (speaker profiles, term statistics for answers)
    from the local SQLite store."""

    def __init__(self, backend: MilvusBackend, version: int, totals: tuple[int, int] | None = None):
        self.backend, self.client, self.version, self.totals = backend, backend.client, version, totals
        self.store = backend.store
        self._rows: dict[int, dict] = {}  # chunk id -> the fields fetched so far (one query's worth)
        self.ready = version > 0 and backend.client.has_collection(backend.chunks_c)

    def __getattr__(self, name: str):  # catalog reads: speaker_profiles, has_term, idf, episodes, version...
        return getattr(self.store, name)

    # the vector index ------------------------------------------------------------------------------
    def search(self, query: np.ndarray, k: int, allowed: str | None = None) -> list[tuple[int, float]]:
        """Chunks by their best vector (own or sentence window), grouped in Milvus."""
        if not self.ready or k <= 0:
            return []
        expr = allowed or visible(self.version)
        want = k * GROUP_FETCH
        res = self.client.search(self.backend.vectors_c, data=[np.asarray(query, dtype=np.float32).tolist()],
                                 anns_field="vector", limit=k, filter=expr, group_by_field="chunk_id",
                                 output_fields=["chunk_id"],
                                 search_params={"metric_type": "IP",
                                                "params": {"ef": max(self.backend.settings.milvus_ef, want)}})
        return [(int(h["entity"]["chunk_id"]), float(h["distance"])) for h in res[0]]

    # the store ------------------------------------------------------------------------------------------
    def filter_ids(self, filters: Filters | None) -> str | None:
        """The filter as an expression (the SQLite store answers with chunk ids)."""
        return filter_expr(filters, self.version) if has_filters(filters) else None

    def keyword_search(self, terms: list[str], limit: int, filters: Filters | None = None) -> list[tuple[int, float]]:
        """BM25 over the stemmed chunk text and header: Milvus finds the candidates (RESCORE_DEPTH times as many),
        and they are scored again as FTS5 scores them (search.bm25), so the ranking is the default store's: from
        each row's tokens, the published version's totals, and each word's document count in the local SQLite
        store (FTS5's own count, cached per version: the catalog kb serves next to; a Milvus `TEXT_MATCH` count
        is a full scan in Python on milvus-lite, tens of seconds a word at a million rows).
        Without recorded totals, Milvus's own scores: milvus-lite reports BM25 as a negative distance, a server
        as a positive score; either way the magnitude is the score and the order is best first."""
        asked = [(term, tuple(bm25_tokens(term))) for term in terms]
        asked = [(term, p) for term, p in asked if p]
        phrases = [p for _, p in asked]
        if not self.ready or not phrases:
            return []
        exact = self.totals is not None
        res = self.client.search(self.backend.chunks_c, data=[" ".join(t for p in phrases for t in p)],
                                 anns_field="sparse", limit=limit * RESCORE_DEPTH if exact else limit,
                                 filter=filter_expr(filters, self.version),
                                 output_fields=LIGHT + (["bm25", "head_at"] if exact else []),
                                 search_params={"metric_type": "BM25"})
        hits = res[0]
        for h in hits:
            self._keep({f: h["entity"][f] for f in LIGHT})
        if not exact:
            return [(int(h["entity"]["chunk_id"]), abs(float(h["distance"]))) for h in hits]
        rows, tokens = self.totals
        idfs = [bm25.idf(rows, self.store.doc_freq(term)) for term, _ in asked]
        scored = []
        for h in hits:
            words, at = h["entity"]["bm25"].split(), int(h["entity"]["head_at"])
            scored.append((int(h["entity"]["chunk_id"]), bm25.score([words[:at], words[at:]], phrases, idfs,
                                                                     tokens / rows)))
        scored.sort(key=lambda x: (-x[1], x[0]))
        return scored[:limit]

    def _keep(self, row: dict) -> None:
        self._rows.setdefault(int(row["chunk_id"]), {}).update(row)

    def _fetch(self, ids: list[int], fields: list[str]) -> dict[int, dict]:
        """Rows of these chunks with at least `fields`, from this view's cache or Milvus."""
        missing = [i for i in dict.fromkeys(ids) if not set(fields) <= self._rows.get(i, {}).keys()]
        if missing and self.ready:
            for part, _ in in_batches(missing, 1000):
                rows = self.client.query(self.backend.chunks_c, output_fields=fields,
                                         filter=f"chunk_id in [{', '.join(map(str, part))}] and {visible(self.version)}")
                for r in rows:
                    self._keep(r)
        return {i: self._rows[i] for i in ids if i in self._rows and set(fields) <= self._rows[i].keys()}

    def positions(self, ids: list[int]) -> dict[int, tuple[str, int, int]]:
        rows = self._fetch(ids, LIGHT)
        return {i: (r["episode_id"], int(r["ordinal"]), int(r["last_ordinal"])) for i, r in rows.items()}

    def chunk_vectors(self, ids: list[int], model: str) -> dict[int, np.ndarray]:
        rows = self._fetch(ids, ["chunk_id", "vector"])
        return {i: np.asarray(r["vector"], dtype=np.float32) for i, r in rows.items()}

    def chunks(self, ids: list[int], sentences: bool = False) -> dict[int, Chunk]:
        fields = SHOWN + (["sentences"] if sentences else [])
        return {i: _chunk(r, sentences) for i, r in self._fetch(ids, fields).items()}

    def neighbours(self, chunk_id: int, context: int) -> list[Chunk]:
        row = self._fetch([chunk_id], LIGHT).get(chunk_id)
        if row is None:
            return []
        n = int(row["ordinal"])
        rows = self.client.query(self.backend.chunks_c, output_fields=SHOWN + ["sentences"],
                                 filter=f"episode_id == {lit(row['episode_id'])} and ordinal >= {n - context} and "
                                        f"ordinal <= {n + context} and {visible(self.version)}")
        return [_chunk(r, True) for r in sorted(rows, key=lambda r: r["ordinal"])]

    def window_vectors(self, model: str, chunk_id: int | None = None, episode_id: str | None = None,
                       kind: str | None = None, where: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Sentence-window vectors (chunk ids, matrix) of one chunk, or of an episode's chunks of one kind."""
        parts = ["window > 0", where or visible(self.version)]
        if chunk_id is not None:
            parts.append(f"chunk_id == {int(chunk_id)}")
        if episode_id is not None:
            parts.append(f"episode_id == {lit(episode_id)}")
        if kind is not None:
            parts.append(f"kind == {lit(kind)}")
        rows = self.backend._all(self.backend.vectors_c, " and ".join(parts), ["chunk_id", "window", "vector"]) \
            if self.ready else []
        rows.sort(key=lambda r: (r["chunk_id"], r["window"]))
        ids = np.fromiter((r["chunk_id"] for r in rows), dtype=np.int64, count=len(rows))
        return ids, np.array([np.asarray(r["vector"], dtype=np.float32) for r in rows])


def _chunk(r: dict, sentences: bool) -> Chunk:
    themes = [t for t in r["themes"].split("|") if t]
    c = Chunk(id=int(r["chunk_id"]), episode_id=r["episode_id"], episode_title=r["title"], ordinal=int(r["ordinal"]),
              text=r["text"], speaker=r["speaker"] or None, speakers=json.loads(r["speakers"]),
              start=None if r["start_s"] < 0 else float(r["start_s"]),
              end=None if r["end_s"] < 0 else float(r["end_s"]), char_start=int(r["char_start"]),
              char_end=int(r["char_end"]), source=r["source"], kind=Kind(r["kind"]), section=r["section"] or None,
              themes=themes)
    if sentences:
        c.sentences = [Sentence(start=s[0], end=s[1], char_start=s[2], char_end=s[3], speaker=s[4], seconds=s[5],
                                role=SentenceRole(s[6])) for s in json.loads(r.get("sentences") or "[]")]
    return c


# --- retrievers ----------------------------------------------------------------------------------------
class MilvusRetriever(Retriever):
    """The default's retriever over a MilvusView: the same ranking code, with the filter pushed into Milvus."""

    store: MilvusView

    def _transcript_windows(self, summary: Chunk, allowed: str | None) -> tuple[np.ndarray, np.ndarray]:
        """As Retriever._transcript_windows, with the filter applied by Milvus instead of by chunk ids."""
        return self.store.window_vectors(self.model, episode_id=summary.episode_id, kind=Kind.transcript.value,
                                         where=allowed)


class MilvusServerFusionRetriever(MilvusRetriever):
    """KB_MILVUS_FUSION=server: Milvus fuses the chunk-vector and BM25 lists in one `hybrid_search`."""

    def ranked(self, query: str, filters: Filters | None = None, mode: Mode = Mode.hybrid,
               allowed: str | None = None) -> list[tuple[int, float]]:
        if mode in (Mode.keyword, Mode.dense) or not self.store.ready:
            return super().ranked(query, filters, mode, allowed)
        from search.query import query_terms

        stems = [t for term in query_terms(query) for t in bm25_tokens(term)]
        q = np.asarray(self.encode_query(query), dtype=np.float32).tolist()
        expr = filter_expr(filters, self.store.version)
        n = self.candidates
        ef = {"metric_type": "IP", "params": {"ef": max(self.store.backend.settings.milvus_ef, n)}}
        reqs = [AnnSearchRequest([q], "vector", ef, n, expr=expr)]
        if stems:
            reqs.append(AnnSearchRequest([" ".join(stems)], "sparse", {"metric_type": "BM25"}, n, expr=expr))
        ranker = RRFRanker(60) if mode == Mode.rrf or len(reqs) == 1 else \
            WeightedRanker(self.dense_weight, 1 - self.dense_weight)
        res = self.store.client.hybrid_search(self.store.backend.chunks_c, reqs, ranker, limit=2 * n,
                                              output_fields=LIGHT)
        fused = {}
        for h in res[0]:
            self.store._keep(h["entity"])
            fused[int(h["entity"]["chunk_id"])] = abs(float(h["distance"]))
        if mode == Mode.rrf:
            return sorted(fused.items(), key=lambda x: -x[1])
        spread = float(np.std(list(fused.values()))) or 1.0 if fused else 1.0
        return self.settle(query, fused, SPEAKER_BOOST * spread)  # the boost on Milvus's own scale
