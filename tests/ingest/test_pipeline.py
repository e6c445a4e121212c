"""Batch ingest: incremental by content hash, embeddings cached by content hash, failures named, prune."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from core.models import QUOTABLE, Kind, SentenceRole as R
from ingest.pipeline import Stage, decode, discover, ingest
from ingest.readers import ReaderError
from search.embedding import FakeEmbedder
from search.store import Store
from tests.ingest.test_discussion import THREAD
from tests.ingest.test_notes import NOTES
from tests.ingest.test_podcast_blog import BLOG


class CountingEmbedder(FakeEmbedder):
    def __init__(self):
        super().__init__()
        self.texts: list[str] = []

    def encode(self, texts, batch_size=16, progress=False):
        self.texts += list(texts)
        return super().encode(texts, batch_size, progress)


@pytest.fixture
def corpus(tmp_path):
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "blog.txt").write_text(BLOG, encoding="utf-8")
    (root / "team-notes.md").write_text(NOTES, encoding="utf-8")
    (root / "thread.txt").write_text(THREAD, encoding="utf-8")
    (root / "README.md").write_text("# not a document\n", encoding="utf-8")
    (root / ".hidden.txt").write_text("hidden\n", encoding="utf-8")
    return root


@pytest.fixture
def store(data_dir):
    s = Store(data_dir / "kb.sqlite")
    yield s
    s.close()


BLOG_IDS = ["leading-change-with-maria-bracho", "book-notes-on-focus", "leading-change-with-maria-bracho-2"]


def test_first_ingest_adds_everything(store, corpus):
    emb = CountingEmbedder()
    report = ingest(store, emb, [corpus])
    assert sorted(report.added) == sorted(BLOG_IDS + ["team-notes", "thread"])
    assert report.updated == report.skipped == report.removed == [] and report.failed == {}
    e, c, v = store.counts()
    assert e == 5 and c > 5 and v >= c and v == report.chunks_embedded == len(emb.texts)  # chunks + sentence windows
    assert report.index_version == store.version() == 1
    eps = {ep.id: ep for ep in store.episodes()}
    assert eps["leading-change-with-maria-bracho"].kind == Kind.transcript
    assert eps["leading-change-with-maria-bracho"].speakers == ["Alexis", "Maria Bracho"]
    assert eps["thread"].source == "thread.txt"


def test_discover_skips_readmes_hidden_and_sidecars(corpus):
    (corpus / "blog.meta.json").write_text("{}", encoding="utf-8")
    assert [p.name for p in discover([corpus])] == ["blog.txt", "team-notes.md", "thread.txt"]
    with pytest.raises(FileNotFoundError, match="nope"):
        discover([corpus / "nope"])


def test_reingest_skips_everything_and_embeds_nothing(store, corpus):
    ingest(store, CountingEmbedder(), [corpus])
    version = store.version()
    emb = CountingEmbedder()
    report = ingest(store, emb, [corpus])
    assert sorted(report.skipped) == sorted(BLOG_IDS + ["team-notes", "thread"])
    assert report.added == report.updated == [] and report.chunks_embedded == 0 and emb.texts == []
    assert store.version() == version  # nothing committed, the index stays valid


@pytest.fixture
def parsed(monkeypatch):
    """Names of the files the pipeline actually parses (an unchanged file is skipped before its reader runs)."""
    from ingest import pipeline

    names: list[str] = []
    real = pipeline.parse_text

    def counting(path, text, source):
        names.append(path.name)
        return real(path, text, source)

    monkeypatch.setattr(pipeline, "parse_text", counting)
    return names


def test_reingest_parses_no_unchanged_file(store, corpus, parsed):
    ingest(store, CountingEmbedder(), [corpus])
    assert sorted(parsed) == ["blog.txt", "team-notes.md", "thread.txt"]
    parsed.clear()
    report = ingest(store, CountingEmbedder(), [corpus])
    assert parsed == [] and sorted(report.skipped) == sorted(BLOG_IDS + ["team-notes", "thread"])
    (corpus / "thread.meta.json").write_text('{"title": "A renamed thread"}', encoding="utf-8")
    (corpus / "team-notes.md").write_text(NOTES + "\nOne more line.\n", encoding="utf-8")
    report = ingest(store, CountingEmbedder(), [corpus])
    assert sorted(parsed) == ["team-notes.md", "thread.txt"]  # a sidecar change counts as a change of its file
    assert sorted(report.updated) == ["team-notes", "thread"] and sorted(report.skipped) == sorted(BLOG_IDS)
    assert {e.id: e.title for e in store.episodes()}["thread"] == "A renamed thread"


def test_new_settings_or_a_pruned_file_are_parsed_again(store, corpus, parsed):
    ingest(store, CountingEmbedder(), [corpus])
    parsed.clear()
    report = ingest(store, CountingEmbedder(), [corpus], max_words=120)  # chunking changes: every file again
    assert sorted(parsed) == ["blog.txt", "team-notes.md", "thread.txt"] and report.skipped == []
    text = (corpus / "thread.txt").read_text(encoding="utf-8")
    (corpus / "thread.txt").unlink()
    ingest(store, CountingEmbedder(), [corpus], max_words=120, prune=True)
    (corpus / "thread.txt").write_text(text, encoding="utf-8")  # the same file back: its episode was pruned
    parsed.clear()
    report = ingest(store, CountingEmbedder(), [corpus], max_words=120)
    assert parsed == ["thread.txt"] and report.added == ["thread"]


def test_changing_one_file_updates_only_its_episode(store, corpus):
    ingest(store, CountingEmbedder(), [corpus])
    before = {c.id: c for c in store.episode_chunks("thread")}
    (corpus / "team-notes.md").write_text(NOTES.replace("Last paragraph.", "A brand new closing paragraph."),
                                          encoding="utf-8")
    emb = CountingEmbedder()
    report = ingest(store, emb, [corpus])
    assert report.updated == ["team-notes"]
    assert sorted(report.skipped) == sorted(BLOG_IDS + ["thread"])
    assert report.chunks_embedded == len(emb.texts) >= 1
    assert all("brand new closing" in t for t in emb.texts)  # only the changed passage is embedded again
    assert {c.id: c for c in store.episode_chunks("thread")} == before
    assert any("brand new closing" in c.text for c in store.episode_chunks("team-notes"))
    assert not any("Last paragraph" in c.text for c in store.episode_chunks("team-notes"))


def test_post_removed_from_a_file_is_removed(store, corpus):
    ingest(store, CountingEmbedder(), [corpus])
    cut = BLOG.index(" • Book Notes on Focus")
    (corpus / "blog.txt").write_text(BLOG[:cut], encoding="utf-8")
    report = ingest(store, CountingEmbedder(), [corpus])
    assert sorted(report.removed) == ["book-notes-on-focus", "leading-change-with-maria-bracho-2"]
    assert {e.id for e in store.episodes()} == {"leading-change-with-maria-bracho", "team-notes", "thread"}


def test_prune_removes_episodes_of_deleted_files_only_when_asked(store, corpus):
    ingest(store, CountingEmbedder(), [corpus])
    (corpus / "thread.txt").unlink()
    report = ingest(store, CountingEmbedder(), [corpus])
    assert report.removed == [] and store.episode_chunks("thread")
    report = ingest(store, CountingEmbedder(), [corpus], prune=True)
    assert report.removed == ["thread"]
    assert store.episode_chunks("thread") == [] and "thread" not in {e.id for e in store.episodes()}
    assert len(store.episodes()) == 4


def test_prune_leaves_other_roots_alone(store, corpus, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "other-notes.md").write_text("## Other\n\nSomething else entirely.\n", encoding="utf-8")
    ingest(store, CountingEmbedder(), [corpus, other])
    (other / "other-notes.md").unlink()
    report = ingest(store, CountingEmbedder(), [corpus], prune=True)
    assert report.removed == []  # the deleted file was not under a pruned root
    assert "other-notes" in {e.id for e in store.episodes()}


def test_binary_and_undecodable_files_fail_with_their_name_while_the_rest_lands(store, corpus):
    (corpus / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (corpus / "latin1.md").write_bytes("## Caf\xe9\n\ncr\xe8me br\xfbl\xe9e\n".encode("latin-1"))
    report = ingest(store, CountingEmbedder(), [corpus])
    assert set(report.failed) == {str(corpus / "image.txt"), str(corpus / "latin1.md")}
    assert "image.txt" in report.failed[str(corpus / "image.txt")]
    assert "binary" in report.failed[str(corpus / "image.txt")]
    assert "latin1.md" in report.failed[str(corpus / "latin1.md")]
    assert len(report.added) == 5 and store.counts()[0] == 5


def test_decode_accepts_bom_and_utf16():
    assert decode(Path("a.txt"), "\ufeffhé".encode("utf-8")) == "hé"
    assert decode(Path("a.txt"), "hé".encode("utf-16")) == "hé"
    with pytest.raises(ReaderError, match=r"a\.txt:2: not UTF-8"):
        decode(Path("a.txt"), b"ok\n\xff")


def test_embeddings_are_keyed_by_content_hash(store, tmp_path):
    root = tmp_path / "dup"
    root.mkdir()
    same = "The same paragraph appears twice in this file, word for word."
    (root / "dup.md").write_text(f"## A\n\n{same}\n\n## B\n\nSomething different.\n\n## A\n\n{same}\n", encoding="utf-8")
    emb = CountingEmbedder()
    report = ingest(store, emb, [root])
    chunks = store.episode_chunks("dup")
    assert [c.text for c in chunks] == [same, "Something different.", same]
    # two chunk texts and their two sentences (an answer reads the vectors of the sentences it may quote),
    # each embedded once although the paragraph appears twice
    assert report.chunks_embedded == 4 and len(emb.texts) == 4
    assert sorted(emb.texts)[-2:] == sorted([same, "Something different."])
    assert store.counts() == (1, 3, 4)
    hashes = [r[0] for r in store.db.execute("SELECT embed_hash FROM chunks ORDER BY ordinal")]
    assert hashes[0] == hashes[2] != hashes[1]
    ids, vecs = store.vectors("fake")
    assert len(ids) == 3 and np.allclose(vecs[0], vecs[2])


def test_same_text_in_a_new_episode_reuses_the_stored_vector(store, tmp_path):
    root = tmp_path / "c"
    root.mkdir()
    (root / "a.md").write_text("## S\n\nA paragraph about durable communication.\n", encoding="utf-8")
    ingest(store, CountingEmbedder(), [root])
    (root / "a.md").write_text("## S\n\nA paragraph about durable communication.\n\n## T\n\nNew text.\n",
                               encoding="utf-8")
    emb = CountingEmbedder()
    report = ingest(store, emb, [root])
    # the new chunk and its one sentence; the old paragraph and its sentence keep their vectors
    assert report.updated == ["a"] and report.chunks_embedded == 2
    assert "New text." in emb.texts and all("durable" not in t for t in emb.texts)


class OtherModel(CountingEmbedder):
    name = "other-model"


def test_switching_the_model_embeds_every_chunk_for_the_new_model(store, corpus):
    ingest(store, CountingEmbedder(), [corpus])
    n_chunks = store.counts()[1]
    emb = OtherModel()
    report = ingest(store, emb, [corpus])
    assert report.chunks_embedded > 0 and emb.texts
    ids, _ = store.vectors("other-model")  # else the new model's FAISS index is silently empty
    chunk_ids = {r[0] for r in store.db.execute("SELECT id FROM chunks")}
    assert len(chunk_ids) == n_chunks and set(ids.tolist()) == chunk_ids
    assert ingest(store, OtherModel(), [corpus]).chunks_embedded == 0  # and then it is incremental again


def test_a_stage_redirected_to_a_log_writes_one_line_not_bar_redraws(capsys):
    seen: list[tuple[str, int, int]] = []
    stage = Stage("embedding", 500, "text", True, lambda *a: seen.append(a))
    for _ in stage.iterate(list(range(500))):
        pass
    err = capsys.readouterr().err  # pytest's captured stderr is not a terminal
    assert "\r" not in err and re.fullmatch(r"embedding: 500 texts in \d+\.\d s\n", err), err
    assert seen[-1] == ("embedding", 500, 500) and len(seen) == 501  # HTTP jobs still follow every step


def test_quotable_sentences_get_their_vectors_at_ingest(store, tmp_path):
    root = tmp_path / "q"
    root.mkdir()
    (root / "talk.txt").write_text("Welcome to the show. Trust grows when you keep small promises to people.\n"
                                   "Right.\n", encoding="utf-8")
    ingest(store, CountingEmbedder(), [root], sentence_vectors=False)  # no windows: only chunks and sentences
    [chunk] = store.chunks([c.id for c in store.episode_chunks("talk")], sentences=True).values()
    texts = {chunk.sentence_text(s): s.role for s in chunk.sentences}
    keyed = {r[0] for r in store.db.execute("SELECT embed_hash FROM sentences WHERE embed_hash IS NOT NULL")}
    have = store.text_vectors(list(texts), "fake")
    # the content sentence has a stored vector, found by its text; the greeting and the filler have none
    assert set(have) == {t for t, role in texts.items() if role in QUOTABLE}
    assert "Trust grows when you keep small promises to people." in have and texts["Welcome to the show."] == R.greeting
    assert "Welcome to the show." not in have and texts["Right."] == R.filler and "Right." not in have
    assert len(keyed) == len(have) == 1
    np.testing.assert_allclose(have["Trust grows when you keep small promises to people."],
                               FakeEmbedder().encode(["Trust grows when you keep small promises to people."])[0])
    assert store.prune_embeddings() == 0  # what a sentence uses is kept


def _show_episode(guest: str, guest_asks: bool) -> str:
    """A Markdown episode of one show: Gerhard hosts; a guest who asks back and has the last word looks like a
    host until Gerhard is known as the show's regular voice."""
    back = " Were you there?" if guest_asks else ""
    return (f"**Gerhard Lazu:** Hi {guest}, welcome. What are you working on?\n\n"
            f"**{guest}:** Databases, mostly, and how to keep them running.{back}\n\n"
            f"**Gerhard Lazu:** I was. Tell me about databases.\n\n"
            f"**{guest}:** Because storage is where the hard problems are.{back}\n\n"
            f"**Gerhard Lazu:** Yes.\n\n**{guest}:** Thanks for having me, bye.\n")


@pytest.mark.parametrize("root", ["parent", "show"])
def test_a_voice_that_becomes_regular_rehosts_the_shows_earlier_episodes_in_the_same_ingest(store, tmp_path, root):
    """Episodes added one batch at a time: once Gerhard is heard in a third episode of the show he hosts it, and
    the earlier episode that had made its guest the host (unchanged on disk) is read again into the same batch.
    The show is the folder, whether the ingest names its parent or the show's folder itself (whose files then
    have no folder in their names)."""
    show = tmp_path / "shipit"
    show.mkdir()
    (show / "ep1.md").write_text(_show_episode("Zac Smith", guest_asks=True), encoding="utf-8")
    ingested = tmp_path if root == "parent" else show

    def parts(eid: str) -> dict[str, str]:
        return {p.full: p.part for p in store.speaker_profiles() if p.episode_id == eid}

    first = ingest(store, FakeEmbedder(), [ingested])
    assert parts("ep1")["Zac Smith"] == "host"  # alone, the evidence points at the guest
    for n, guest in ((2, "Liz Rice"), (3, "Dan Lorenc")):
        (show / f"ep{n}.md").write_text(_show_episode(guest, guest_asks=False), encoding="utf-8")
    report = ingest(store, FakeEmbedder(), [ingested])
    assert sorted(report.added) == ["ep2", "ep3"] and report.updated == ["ep1"]
    assert report.index_version == first.index_version + 1  # one batch, one commit: never half of it
    assert parts("ep1") == {"Gerhard Lazu": "host", "Zac Smith": "guest"}
    again = ingest(store, FakeEmbedder(), [ingested])
    assert again.added == again.updated == [] and sorted(again.skipped) == ["ep1", "ep2", "ep3"]
