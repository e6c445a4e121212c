"""Bad input never costs what was indexed before: each bad file gets a clear error naming it (or a sensible
reading), the rest of the batch lands, and the good corpus ingested first still answers the same way."""
from __future__ import annotations

import codecs
import os
from pathlib import Path

import pytest

from ingest.pipeline import discover, read_file
from ingest.readers import ReaderError
from tests.reliability.conftest import assert_still_answers, episode_vtt, vtt, write

OK_NOTE = "# Hiring\n\nWe hire for curiosity and kindness; skills can be taught, attitude rarely.\n"


def ingest_batch(kb, folder: Path, files: dict[str, bytes | str]):
    """The bad files plus one good note, in one batch: the note must land whatever the others do."""
    report = kb.ingest([write(folder, {**files, "ok-note.md": OK_NOTE})])
    assert "ok-note" in report.added, report
    return report


def reason(report, folder: Path, name: str) -> str:
    """The failure message for one file; it must name the file."""
    why = report.failed[str(folder / name)]
    assert name in why
    return why


def test_empty_and_blank_files_fail_clearly(good_kb, tmp_path):
    kb, before = good_kb
    names = {"empty.txt": b"", "empty.vtt": b"", "empty.srt": b"", "empty.json": b"", "blank.md": b" \n\t\r\n\n",
             "bom-only.txt": codecs.BOM_UTF8}
    report = ingest_batch(kb, tmp_path / "bad", names)
    for name in names:
        assert "empty" in reason(report, tmp_path / "bad", name)
    assert_still_answers(kb, before)


def test_binary_files_are_refused(good_kb, tmp_path):
    kb, before = good_kb
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(2000)
    report = ingest_batch(kb, tmp_path / "bad", {"cover.png": png, "audio.vtt": b"WEBVTT\n\n" + b"\x00\x01" * 500,
                                                 "random.txt": bytes(range(256)) * 40})
    for name in ("cover.png", "audio.vtt", "random.txt"):
        assert "binary" in reason(report, tmp_path / "bad", name)
    assert_still_answers(kb, before)


def test_latin1_and_mixed_encodings_are_refused_with_file_and_line(good_kb, tmp_path):
    """Decision: no guessing. A Latin-1 byte may be cp1252 or a damaged UTF-8 file; a silent guess would index
    mojibake, so the error names the file, line and byte, and the user re-saves it as UTF-8."""
    kb, before = good_kb
    latin1 = "Notes on the café meeting.\nWe agreed on the naïve plan.\n".encode("latin-1")
    mixed = "First line in UTF-8: café.\n".encode() + "Second in Latin-1: señor.\n".encode("latin-1")
    report = ingest_batch(kb, tmp_path / "bad", {"latin1.txt": latin1, "mixed.md": mixed})
    assert "latin1.txt:1: not UTF-8" in reason(report, tmp_path / "bad", "latin1.txt")
    assert "mixed.md:2: not UTF-8" in reason(report, tmp_path / "bad", "mixed.md")
    assert_still_answers(kb, before)


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig"])
def test_utf16_and_utf8_with_bom_are_read(good_kb, tmp_path, codec):
    kb, before = good_kb
    bom = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}.get(codec, b"")
    text = vtt([("00:00.000", "00:04.000", "Ana|We met at the café to discuss señor Ruiz."),
                ("00:04.000", "00:08.000", "Ben|Zurückhaltung was the lesson, said the naïve intern.")])
    report = ingest_batch(kb, tmp_path / "bad", {"unicode.vtt": bom + text.encode(codec)})
    assert "unicode" in report.added and report.failed == {}
    hits = kb.search("café señor Zurückhaltung", 3, None, "keyword")
    assert hits and hits[0].episode.id == "unicode" and "café" in hits[0].text and hits[0].speaker in {"Ana", "Ben"}
    assert_still_answers(kb, before)


def test_utf16_without_bom_is_refused_not_misread(good_kb, tmp_path):
    kb, before = good_kb
    report = ingest_batch(kb, tmp_path / "bad", {"nobom.txt": "Plain notes, no byte order mark.".encode("utf-16-le")})
    assert "NUL" in reason(report, tmp_path / "bad", "nobom.txt")
    assert_still_answers(kb, before)


@pytest.mark.parametrize("name, data, where, why", [
    ("cut.vtt", "WEBVTT\n\n00:00.000 --> 00:04.000\nHello there.\n\n00:04.000 --> 00:0", "cut.vtt:6", "timestamp"),
    ("cut-arrow.vtt", "WEBVTT\n\n00:00.000 --> 00:04.000\nHello there.\n\n00:04.000 --", "cut-arrow.vtt:6", "timing"),
    ("header.vtt", "WEBVT\n\n00:00.000 --> 00:04.000\nHello.\n", "header.vtt:1", "WEBVTT"),
    ("no-cues.vtt", "WEBVTT\n\nNOTE only a comment\n", "no-cues.vtt:1", "no cues"),
    ("cut.srt", "1\n00:00:01,000 --> 00:00:04,000\nHello.\n\n2\n00:00:04,000", "cut.srt:6", "timing"),
    ("bad-clock.srt", "1\n00:00:01,000 --> 00:61:04,000\nHello.\n", "bad-clock.srt:2", "timestamp"),
    ("cut.json", '[{"speaker": "Ana", "start": 0, "text": "Hello"}, {"speaker": "Ben", "te', "cut.json:1", "JSON"),
    ("shape.json", '{"not": "turns"}', "shape.json:1", "speaker turns"),
    ("turn.json", '[{"speaker": "Ana", "start": 0, "text": "Hi"},\n 42]', "turn.json:2", "object"),
])
def test_truncated_or_malformed_transcripts_fail_with_file_and_line(good_kb, tmp_path, name, data, where, why):
    kb, before = good_kb
    report = ingest_batch(kb, tmp_path / "bad", {name: data})
    message = reason(report, tmp_path / "bad", name)
    assert where in message and why.lower() in message.lower()
    assert_still_answers(kb, before)


def test_cues_out_of_order_are_read_in_file_order_with_sane_times(good_kb, tmp_path):
    """Decision: cues out of order are kept in file order (the text's order is the reading order); every chunk
    still has start <= end, so a citation never shows a negative span."""
    kb, before = good_kb
    text = vtt([("00:10.000", "00:14.000", "Ana|Second in time but first in the file, about gardens."),
                ("00:00.000", "00:04.000", "Ben|First in time, about gardens and soil."),
                ("00:20.000", "00:24.000", "Ana|Third, about gardens and rain.")])
    report = ingest_batch(kb, tmp_path / "bad", {"shuffled.vtt": text})
    assert "shuffled" in report.added
    chunks = kb.store.episode_chunks("shuffled")
    assert chunks and chunks[0].text.startswith("Ana: Second in time")
    for c in chunks:
        assert c.start is not None and c.end is not None and 0 <= c.start <= c.end <= 24
    assert_still_answers(kb, before)


def test_timestamps_over_24_hours_are_kept(good_kb, tmp_path):
    """A live stream can run past a day; an offset of 25 h is valid and shows as 25:00:01."""
    kb, before = good_kb
    text = vtt([("25:00:01.000", "25:00:05.000", "Ana|Twenty five hours in, we still talk about marathons."),
                ("99:59:58.000", "100:00:02.000", "Ben|And at one hundred hours, marathons again.")])
    srt = "1\n26:00:00,000 --> 26:00:04,000\nStill streaming marathons.\n"
    report = ingest_batch(kb, tmp_path / "bad", {"marathon.vtt": text, "stream.srt": srt})
    assert {"marathon", "stream"} <= set(report.added) and report.failed == {}
    hit = kb.search("marathons twenty five hours", 1, None, "keyword")[0]
    assert hit.episode.id == "marathon" and hit.start == "25:00:01"
    assert kb.store.episode_chunks("stream")[0].start == 26 * 3600
    assert_still_answers(kb, before)


def test_cue_ending_before_it_starts_is_refused(good_kb, tmp_path):
    kb, before = good_kb
    text = vtt([("00:10.000", "00:04.000", "Ana|Backwards cue.")])
    report = ingest_batch(kb, tmp_path / "bad", {"backwards.vtt": text})
    assert "ends before it starts" in reason(report, tmp_path / "bad", "backwards.vtt")
    assert_still_answers(kb, before)


def test_same_episode_under_two_names_is_kept_twice_sharing_vectors(good_kb, tmp_path):
    """Decision: two content-identical files are two episodes with distinct ids (the user may have meant both:
    a re-upload under a new name is not ours to delete), the duplicate is reported, and vectors are keyed by the
    text embedded, so whatever text the copies share (e.g. sentence windows without the title) is stored once."""
    kb, before = good_kb
    data = episode_vtt(7)
    folder = write(tmp_path / "dup", {"episode-7.vtt": data, "episode-7-copy.vtt": data})
    report = kb.ingest([folder])
    assert {"episode-7", "episode-7-copy"} <= set(report.added) and report.failed == {}
    # the later file in reading (sorted) order is the one reported
    assert report.duplicates == {str(folder / "episode-7.vtt"): str(folder / "episode-7-copy.vtt")}
    a, b = kb.store.episode_chunks("episode-7"), kb.store.episode_chunks("episode-7-copy")
    assert [c.text for c in a] == [c.text for c in b]
    used = kb.store.db.execute(
        "SELECT embed_hash FROM chunks WHERE episode_id IN ('episode-7', 'episode-7-copy') UNION ALL"
        " SELECT w.embed_hash FROM windows w JOIN chunks c ON c.id = w.chunk_id"
        " WHERE c.episode_id IN ('episode-7', 'episode-7-copy')").fetchall()
    stored = kb.store.db.execute(
        f"SELECT COUNT(*) FROM embeddings WHERE hash IN ({','.join('?' * len(used))})", [u[0] for u in used]
    ).fetchone()[0]
    assert stored == len({u[0] for u in used})  # one vector per distinct text, however many use it
    assert_still_answers(kb, before)


def test_unreadable_file_fails_with_its_name(good_kb, tmp_path, monkeypatch):
    """Root reads a chmod-000 file anyway, so the refusal is simulated where the pipeline opens files."""
    kb, before = good_kb
    folder = write(tmp_path / "bad", {"locked.vtt": episode_vtt(1)})
    locked = folder / "locked.vtt"
    real = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self == locked:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    report = ingest_batch(kb, folder, {})
    assert "Permission denied" in reason(report, folder, "locked.vtt")
    assert_still_answers(kb, before)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read a chmod 000 file")
def test_chmod_000_file_fails_with_its_name(good_kb, tmp_path):
    kb, before = good_kb
    folder = write(tmp_path / "bad", {"locked.vtt": episode_vtt(1)})
    (folder / "locked.vtt").chmod(0)
    try:
        report = ingest_batch(kb, folder, {})
        assert "Permission denied" in reason(report, folder, "locked.vtt")
    finally:
        (folder / "locked.vtt").chmod(0o644)
    assert_still_answers(kb, before)


def test_symlink_loops_do_not_hang_discovery(good_kb, tmp_path):
    kb, before = good_kb
    folder = write(tmp_path / "loops", {"real.vtt": episode_vtt(2)})
    (folder / "sub").mkdir()
    (folder / "sub" / "inner.vtt").write_text(episode_vtt(3))
    (folder / "sub" / "up").symlink_to(folder, target_is_directory=True)  # a cycle back to the root
    (folder / "self").symlink_to(folder / "self")  # ELOOP
    (folder / "a.vtt").symlink_to(folder / "b.vtt")
    (folder / "b.vtt").symlink_to(folder / "a.vtt")
    (folder / "dangling.vtt").symlink_to(folder / "missing.vtt")
    (folder / "alias.vtt").symlink_to(folder / "real.vtt")  # a file link is read as that file, once
    found = discover([folder])
    assert sorted(p.name for p in found) == ["inner.vtt", "real.vtt"]
    report = kb.ingest([folder])
    assert sorted(report.added) == ["inner", "real"] and report.failed == {}
    assert_still_answers(kb, before)


def test_read_file_names_the_file_for_every_refusal(tmp_path):
    for name, data in {"e.txt": b"", "b.txt": b"\x00\x01", "l.txt": "é".encode("latin-1")}.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ReaderError) as exc:
            read_file(tmp_path / name)
        assert exc.value.path == str(tmp_path / name)
