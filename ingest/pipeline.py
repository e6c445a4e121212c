"""Batch ingest: read files, chunk, embed only what is new (by content hash), and commit the batch atomically."""
from __future__ import annotations

import hashlib
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from pathlib import Path

from tqdm import tqdm

from ingest.chapters import apply_chapters, chapter_file, load_chapters
from ingest.chunking import chunk_document
from ingest.readers import ReaderError, reader_for
from ingest.roles import assign_roles
from ingest.speakers import appearances, infer_parts, regulars, show_of
from text.windows import sentence_windows
from core.models import Chunk, Document, IngestReport
from search.embedding import Embedder
from search.store import Store, text_key

CHUNKER_VERSION = "5"  # bump when chunking or the embedded text changes, so unchanged files are redone once
SKIP_NAMES = {"readme.md", "readme.txt", "readme", "license", "license.md", "source.md"}
# a 3-hour transcript with word timings is a few MB; far beyond that is not a transcript, and reading it whole
# (decode, parse, chunk) would need several times its size in memory
MAX_FILE_BYTES = 32 * 2**20
# called inside the ingest transaction with the ids of the episodes just written (theme tagging)
Tagger = Callable[[Store, list[str]], object]
# on_progress(stage, done, total): stages are reading, chunking, embedding, writing (and indexing, by the caller)
Progress = Callable[[str, int, int], None]


class Stage:
    """One stage of a batch: a tqdm bar (counts and rate) for the CLI and/or `on_progress` for HTTP jobs, so
    a long run shows where it is whichever way it was started. A bar is drawn only on a terminal: redirected to a
    log, a stage writes one line when it ends ("embedding: 3342 texts in 41.2 s")."""

    def __init__(self, name: str, total: int, unit: str, bar: bool, on_progress: Progress | None):
        self.name, self.total, self.done, self.on_progress, self.unit = name, total, 0, on_progress, unit
        self.log_line = bar and not sys.stderr.isatty()
        self.started = time.perf_counter()
        self.bar = tqdm(total=total, desc=name, unit=unit, disable=not bar or self.log_line)
        self.update(0)

    def update(self, n: int = 1) -> None:
        self.done += n
        self.bar.update(n)
        if self.on_progress is not None:
            self.on_progress(self.name, self.done, self.total)

    def close(self) -> None:
        self.bar.close()
        if self.log_line:
            self.log_line = False
            unit = self.unit if self.done == 1 else f"{self.unit}s"
            print(f"{self.name}: {self.done} {unit} in {time.perf_counter() - self.started:.1f} s", file=sys.stderr)

    def iterate(self, items: list) -> Iterator:
        """Yield the items, counting each one once its loop body is done."""
        try:
            for item in items:
                yield item
                self.update()
        finally:
            self.close()


def discover(paths: Iterable[Path]) -> list[Path]:
    """Transcript files under the given files/folders; sidecars, READMEs and hidden files are not documents."""
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            items = sorted(x for x in p.rglob("*") if x.is_file() and not any(part.startswith(".") for part in x.relative_to(p).parts))
        elif p.exists():
            items = [p]
        else:
            raise FileNotFoundError(f"{p}: no such file or folder")
        found += [x for x in items if x.name.lower() not in SKIP_NAMES and ".meta." not in x.name]
    unique: dict[Path, Path] = {}
    for x in found:  # a file and a symlink to it are one file, read once under the file's own name
        key = x.resolve()
        if key not in unique or (unique[key].is_symlink() and not x.is_symlink()):
            unique[key] = x
    return list(unique.values())


def decode(path: Path, data: bytes) -> str:
    """UTF-8 (with or without BOM) or UTF-16 with a BOM; anything else is refused with the file named."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if b"\x00" in data[:4096]:
        raise ReaderError(path, "binary file (NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ReaderError(path, f"not UTF-8 text (byte {exc.start})", line) from exc


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name.split(".")[0] + ".meta.json")


def sidecar(path: Path) -> dict:
    """Episode metadata from `<name>.meta.json` next to the transcript, if present."""
    meta_path = sidecar_path(path)
    if not meta_path.exists():
        return {}
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ReaderError(meta_path, f"invalid JSON: {exc}") from exc
    if not isinstance(meta, dict):
        raise ReaderError(meta_path, "metadata must be a JSON object")
    return meta


def read_text(path: Path) -> str:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:  # refused before reading, so memory stays bounded
        raise ReaderError(path, f"too large for a transcript ({size / 2**20:.0f} MB; the limit is "
                                f"{MAX_FILE_BYTES // 2**20} MB)")
    text = decode(path, path.read_bytes())
    if not text.strip():
        raise ReaderError(path, "empty file, nothing to index")
    return text


def source_name(path: Path, root: Path | None) -> str:
    return str(path.relative_to(root)) if root and path.is_relative_to(root) else path.name


def parse_text(path: Path, text: str, source: str) -> list[Document]:
    docs = reader_for(path, text).read(path, text, source)
    meta = sidecar(path)
    chapters = load_chapters(path, meta)
    for doc in docs:
        apply_chapters(doc, chapters)
        doc.meta = {**meta, **doc.meta}
        if meta.get("title") and len(docs) == 1:
            doc.title = meta["title"]
        doc.speakers = {**doc.speakers, **meta.get("speakers", {})}
    return docs


def read_file(path: Path, root: Path | None = None) -> tuple[list[Document], str]:
    text = read_text(path)
    return parse_text(path, text, source_name(path, root)), text


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """The readers', chunker's, text helpers' and models' source: a stored file key goes stale when the code that
    turns a file into episodes changes, so an upgrade re-parses every file once (content hashes then decide what
    to redo)."""
    digest = hashlib.sha256()
    text_pkg = Path(sys.modules[sentence_windows.__module__].__file__).parent
    sources = sorted(Path(__file__).parent.rglob("*.py")) + sorted(text_pkg.rglob("*.py"))
    for path in sources + [Path(sys.modules[Document.__module__].__file__)]:
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def file_key(path: Path, digest: str, source: str, settings: tuple, regular: list[str] | None = None) -> str:
    """What a file's episodes depend on: its text (`digest`, its `text_key`), its name in the index, its sidecar and
    chapter files, the reading code, the ingest settings and its show's regular voices (who hosts depends on
    them). Equal keys mean equal episodes, so the file need not be parsed."""
    extras = [p for p in (sidecar_path(path), chapter_file(path))
              if p is not None and p.exists() and p != path]
    payload = json.dumps([digest, source, [(p.name, hashlib.sha256(p.read_bytes()).hexdigest()) for p in extras],
                          CHUNKER_VERSION, code_fingerprint(), *settings, *([regular] if regular else [])])
    return hashlib.sha256(payload.encode()).hexdigest()


def ingest_settings(max_words: int, min_words: int, sentence_vectors: bool, embedder: Embedder) -> tuple:
    """The settings an episode's stored form depends on: a new model re-embeds, not skips."""
    return (max_words, min_words, sentence_vectors, embedder.name)


def content_hash(doc: Document, settings: tuple) -> str:
    """What an episode's stored form depends on: the parsed document, the settings and the code that chunks it
    and types its sentences (a new sentence rule re-stores every episode once; nothing is re-embedded)."""
    payload = json.dumps([doc.model_dump(mode="json"), CHUNKER_VERSION, code_fingerprint(), *settings], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def embed_texts(doc: Document, chunk: Chunk, windows: bool) -> tuple[str, list[str]]:
    """The chunk's own text to embed, under its context header, and its sentence windows' texts. Windows only
    say who speaks: the whole header would make every window of an episode look alike."""
    header = chunk.header(doc.speakers, doc.roles)
    who = chunk.who(doc.speakers, doc.roles)
    wins = [f"{who}: {w}" if who else w for w in sentence_windows(chunk.text)] if windows else []
    return f"{header}\n{chunk.text}", wins


def ingest(store: Store, embedder: Embedder, paths: list[Path], *, prune: bool = False, max_words: int = 200,
           min_words: int = 60, sentence_vectors: bool = True, batch_size: int = 16,
           progress: bool = False, tagger: Tagger | None = None, on_progress: Progress | None = None) -> IngestReport:
    """Read files and folders, then commit what changed as one batch (see `ingest_documents`). When the batch makes
    someone a show's regular voice (heard in a third episode), the show's unchanged files are read again into the
    same batch: who hosts their episodes may have changed, and the batch commits whole or not at all."""
    failed: dict[str, str] = {}
    duplicates: dict[str, str] = {}
    first_with: dict[str, str] = {}  # content hash -> the first file of this batch with that content
    batch: list[tuple[Document, str, str]] = []
    settings = ingest_settings(max_words, min_words, sentence_vectors, embedder)
    known = store.file_keys()
    stored = _stored_voices(store)
    before = regulars(_heard(stored, []))
    keys: dict[str, str] = {}
    read: dict[str, tuple[Path, str, str]] = {}  # abspath -> (path, source name, text digest) of every file read
    unchanged: set[str] = set()
    files = discover(paths)
    for path in Stage("reading", len(files), "file", progress and len(files) >= 20, on_progress).iterate(files):
        root = next((p for p in paths if p.is_dir() and path.is_relative_to(p)), None)
        abspath = str(path.resolve())
        try:
            text = read_text(path)
            digest = text_key(text)
            source = source_name(path, root)
            key = file_key(path, digest, source, settings, before.get(show_of(abspath)))
            same = known.get(abspath) == key  # its stored episodes came from exactly this: no need to parse
            docs = [] if same else parse_text(path, text, source)
        except (ReaderError, OSError, UnicodeError) as exc:
            failed[str(path)] = str(exc)
            continue
        read[abspath] = (path, source, digest)
        first = first_with.setdefault(digest, str(path))
        if first != str(path):  # both are indexed (distinct ids); the user hears about it
            duplicates[str(path)] = first
        if same:
            unchanged.add(abspath)
            continue
        keys[abspath] = key
        batch += [(doc, text, abspath) for doc in docs]
    after = regulars(_heard(stored, batch))
    shows = {show for show in before.keys() | after.keys() if before.get(show) != after.get(show)}
    for abspath, (path, source, digest) in read.items():
        if show_of(abspath) not in shows:  # rare: only a batch that makes someone a show's regular voice
            continue
        try:
            if abspath in unchanged:  # read again (only these were not parsed): a new regular voice may host them
                text = read_text(path)
                digest = text_key(text)
                batch += [(doc, text, abspath) for doc in parse_text(path, text, source)]
                unchanged.remove(abspath)
            keys[abspath] = file_key(path, digest, source, settings, after.get(show_of(abspath)))
        except (ReaderError, OSError, UnicodeError) as exc:
            failed[str(path)] = str(exc)
    roots = [str(p.resolve()) for p in paths] if prune else []
    report = ingest_documents(store, embedder, batch, prune_roots=roots, max_words=max_words, min_words=min_words,
                              sentence_vectors=sentence_vectors, batch_size=batch_size, progress=progress,
                              tagger=tagger, on_progress=on_progress, file_keys=keys,
                              unchanged_files=sorted(unchanged), heard=_heard(stored, batch))
    report.failed.update(failed)
    report.duplicates.update(duplicates)
    return report


def _stored_voices(store: Store) -> list[tuple[str, str, set[str]]]:
    """(episode id, file path, full names heard) of every stored episode: by the names their profiles give, which
    include speakers a transcript labels by full name."""
    voices: dict[str, set[str]] = {}
    for p in store.speaker_profiles():
        voices.setdefault(p.episode_id, set()).add(p.full or p.short)
    paths = store.episode_state()
    return [(e.id, paths[e.id][1], voices.get(e.id, set(e.speakers))) for e in store.episodes()]


def _heard(stored: list[tuple[str, str, set[str]]], batch: list[tuple[Document, str, str]]) -> Counter[tuple[str, str]]:
    """Who is heard in how many episodes of each show: the stored episodes and, in their place where re-read,
    this batch's."""
    in_batch = {d.id for d, _, _ in batch}
    return appearances([(path, voices) for eid, path, voices in stored if eid not in in_batch]
                       + [(abspath, _voices_of(d)) for d, _, abspath in batch])


def _voices_of(doc: Document) -> set[str]:
    """The full names of everyone heard in the document (a name table, else the labels themselves)."""
    return {doc.speakers.get(s.speaker, s.speaker) for s in doc.segments if s.speaker} | set(doc.speakers.values())


def ingest_documents(store: Store, embedder: Embedder, batch: list[tuple[Document, str, str]], *,
                     prune_roots: list[str] | None = None, max_words: int = 200, min_words: int = 60,
                     sentence_vectors: bool = True, batch_size: int = 16, progress: bool = False,
                     tagger: Tagger | None = None, on_progress: Progress | None = None,
                     file_keys: dict[str, str] | None = None, unchanged_files: list[str] | None = None,
                     heard: Counter[tuple[str, str]] | None = None) -> IngestReport:
    """Add, replace or skip each (document, source text, path) by content hash; embed only unseen chunk texts;
    commit all episode changes in one transaction, so readers see the old or the new version, never a mix.
    `file_keys` (path -> `file_key`) are stored with the batch; `unchanged_files` were skipped unparsed; `heard`:
    who is heard in how many episodes of each show (`_heard`), when the caller has counted it."""
    report = IngestReport()
    state = store.episode_state()
    settings = ingest_settings(max_words, min_words, sentence_vectors, embedder)
    unparsed = set(unchanged_files or [])
    report.skipped += [eid for eid, (_, fpath) in state.items() if fpath in unparsed]
    pending: list[tuple[Document, list[Chunk], str, str]] = []
    seen_ids: dict[str, str] = {}
    heard = heard if heard is not None else _heard(_stored_voices(store), batch)
    bars = progress and len(batch) >= 20
    for doc, text, abspath in Stage("chunking", len(batch), "doc", bars, on_progress).iterate(batch):
        owner = seen_ids.get(doc.id) or state.get(doc.id, (None, abspath))[1]
        if owner != abspath:  # same id from another file: keep both, stably
            doc.id = f"{doc.id}-{hashlib.sha1(abspath.encode()).hexdigest()[:6]}"
        seen_ids[doc.id] = abspath
        doc.speaker_roles = infer_parts(doc, heard, abspath)
        h = content_hash(doc, settings)
        if doc.id in state and state[doc.id][0] == h:
            report.skipped.append(doc.id)
            continue
        chunks = chunk_document(doc, text, max_words, min_words)
        assign_roles(doc, chunks)
        (report.updated if doc.id in state else report.added).append(doc.id)
        pending.append((doc, chunks, h, abspath))

    texts: dict[str, str] = {}
    planned = []
    for doc, chunks, h, abspath in pending:
        per_chunk = [embed_texts(doc, c, sentence_vectors) for c in chunks]
        for c, (own, wins) in zip(chunks, per_chunk):
            texts.update((text_key(t), t) for t in [own, *wins, *c.quotable_texts()])
        planned.append((doc, chunks, h, abspath, per_chunk))
    # longest first, so each encoder batch holds texts of about one length (little padding; sentence windows
    # are a fraction of a chunk's length) and the first slices show the slowest rate, not the fastest
    missing = sorted(store.missing_embeddings(list(texts), embedder.name), key=lambda h: -len(texts[h]))
    report.chunks_embedded = len(missing)
    step = max(batch_size * 16, 64)
    embedding = Stage("embedding", len(missing), "text", progress and bool(missing), on_progress)
    for i, vectors in embedder.encode_stream([texts[h] for h in missing], batch_size, step):
        store.put_embeddings(missing[i:i + len(vectors)], vectors, embedder.name)
        embedding.update(len(vectors))
    embedding.close()

    read_paths = set(seen_ids.values())  # episodes gone from a file that is still there
    gone = [eid for eid, (_, fpath) in state.items() if fpath in read_paths and eid not in seen_ids]
    for root in prune_roots or []:
        gone += [eid for eid, (_, fpath) in state.items()
                 if fpath.startswith(root) and not Path(fpath).exists() and eid not in gone]
    if pending or gone:
        writing = Stage("writing", len(planned) + len(gone), "episode", bars, on_progress)
        with store.transaction():
            for doc, chunks, h, abspath, per_chunk in writing.iterate(planned):
                store.replace_episode(doc, chunks, h, abspath, [text_key(own) for own, _ in per_chunk],
                                      [c.header(doc.speakers, doc.roles) for c in chunks],
                                      [[text_key(w) for w in wins] for _, wins in per_chunk])
            for eid in gone:
                store.delete_episode(eid)
            if tagger is not None and planned:  # tags commit with their chunks, from the vectors just stored
                tagger(store, [p[0].id for p in planned])
            store.set_file_keys(file_keys or {})
            store.bump_version()
        report.removed = gone
    elif file_keys:  # nothing changed, but the next run can skip these files without parsing them
        with store.transaction():
            store.set_file_keys(file_keys)
    report.index_version = store.version()
    return report
