"""Each speaker's part in an episode: host, co-host or guest.

Why: an answer attributes a quote as "Maria Bracho (guest, CTO for LATAM at Red Hat)", and a host's questions and
introductions are not answers. The sidecar's `hosts` / `guests` lists (or `speaker_roles`) decide when given.
Otherwise the evidence is what a listener would use: the host says so ("I'm your host"), opens and closes the
episode, asks most of the questions, and is heard across the show's episodes; a co-host is another voice heard
across the show, who does not thank anyone for having them. Everyone else is a guest.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from pathlib import PurePath

from core.models import Document, Kind, SpeakerRole

# Heard in at least this many episodes of a show: one of its regular voices (host or co-host), not a guest.
RECURRING_EPISODES = 3
# what the host says of themselves: "I'm your host, Alexis", "My guest today is VK Karthikeya", "I have two guests"
_SAYS_HOST = re.compile(r"\b(?:I(?:'|’)m|I am|this is)\b[^.?!]{0,40}?\b(?:your|the) (?:co-?)?host\b"
                        r"|\bmy guests? (?:today |this week |on the show )?(?:is|are)\b"
                        r"|\bI have (?:two|three|four|\d) guests\b", re.I)
# what only a guest says: "Thanks for having me (again)", "Thank you for inviting me" (a guest of a multi-part series
# is heard in as many episodes as a co-host, and says it in each)
_SAYS_GUEST = re.compile(r"\b(?:thanks|thank you)(?: so much| again| very much)? for (?:having|inviting) me\b", re.I)
# a diarizer's bucket for voices it could not tell apart (an announcer, an ad, a clip): no one's part in the episode
_UNIDENTIFIED = re.compile(r"^\s*(?:unknown|unidentified)(?:\s+speakers?)?\s*$", re.I)
# what an announcer says of the host: "Please welcome your host, Amit Varma" (the host is the one named)
_NAMES_HOST = re.compile(r"\byour (?:co-?)?host,?\s+(?P<name>[A-Z][\w'’-]+)")


def show_of(path: str) -> str:
    """The show an episode belongs to: the folder its file is in (one folder per show; the episodes of a
    multi-episode export share their file's). Given the file's path as stored (absolute), not its name relative to
    where the ingest started: a show's own folder, ingested itself, leaves its files without a folder in their
    names, and each had been a show of its own (nobody was a regular voice there)."""
    return str(PurePath(path).parent)


def appearances(episodes: Iterable[tuple[str, Iterable[str]]]) -> Counter[tuple[str, str]]:
    """(show, full name) -> number of episodes the person speaks in, from (file path, full names) per episode."""
    out: Counter[tuple[str, str]] = Counter()
    for path, names in episodes:
        for name in set(names):
            out[(show_of(path), name)] += 1
    return out


def regulars(heard: Counter[tuple[str, str]]) -> dict[str, list[str]]:
    """Per show, the people heard in enough of its episodes to be one of its regular voices (see `infer_parts`)."""
    out: dict[str, list[str]] = {}
    for (show, name), n in sorted(heard.items()):
        if n >= RECURRING_EPISODES:
            out.setdefault(show, []).append(name)
    return out


def _declared(doc: Document) -> dict[str, SpeakerRole]:
    """Parts the sidecar states: `speaker_roles: {name: part}`, or `hosts` / `guests` lists (short or full names)."""
    by_name = {**{s: s for s in doc.speakers}, **{full: s for s, full in doc.speakers.items()}}
    out: dict[str, SpeakerRole] = {}
    lists = [(SpeakerRole.host, doc.meta.get("hosts")), (SpeakerRole.co_host, doc.meta.get("co_hosts")),
             (SpeakerRole.guest, doc.meta.get("guests"))]
    for part, names in lists:
        if isinstance(names, str):
            names = [names]
        for name in names or []:
            if isinstance(name, str) and name in by_name:
                out[by_name[name]] = part
    for name, part in (doc.meta.get("speaker_roles") or {}).items():
        if name in by_name and part in {p.value for p in SpeakerRole}:
            out[by_name[name]] = SpeakerRole(part)
    return out


def infer_parts(doc: Document, heard: Counter[tuple[str, str]] | None = None,
                path: str | None = None) -> dict[str, SpeakerRole]:
    """Parts for the episode's speakers; `heard` counts each person's episodes per show (see `appearances`), and
    `path` is the episode's file (its folder is the show; by default the folder its source name gives)."""
    turns = [s for s in doc.segments if s.kind == Kind.transcript and s.speaker and not _UNIDENTIFIED.match(s.speaker)]
    speakers = list(dict.fromkeys(s.speaker for s in turns))
    declared = _declared(doc)
    if len(speakers) < 2:
        return {s: declared[s] for s in speakers if s in declared}
    show = show_of(path or doc.source)
    says_guest = {t.speaker for t in turns if _SAYS_GUEST.search(t.text)}
    recurs = {s: (heard or Counter())[(show, doc.speakers.get(s, s))] >= RECURRING_EPISODES and s not in says_guest
              for s in speakers}
    questions = Counter({s: 0 for s in speakers})  # turns that hand the floor over with a question
    for t in turns:
        questions[t.speaker] += t.text.rstrip(" \"'”’)").endswith("?")
    asks_most = max(speakers, key=lambda s: questions[s])
    says_host = {t.speaker for t in turns[:6] if _SAYS_HOST.search(t.text[:400])} | _named_hosts(turns[:6], speakers)
    evidence = Counter({s: 0 for s in speakers})
    for s in speakers:
        evidence[s] += 2 * (s in says_host) + (turns[0].speaker == s) + (turns[-1].speaker == s)
        evidence[s] += (s == asks_most and questions[s] > 0) + recurs[s]
    host = next((s for s, p in declared.items() if p == SpeakerRole.host), None)
    if host is None and len(says_host) == 1:  # one speaker says so, or is named so: that settles it
        host = next(iter(says_host))
    if host is None:
        # opening and closing alone do not make a host (two people talking, nobody asking): some speaker must
        # say so, ask questions, or be heard across the show; and a show's regular voices host it, not its guests
        hosting = [s for s in speakers if recurs[s]] or \
            [s for s in speakers if s in says_host or questions[s] > 0]
        if not hosting:
            return declared
        host = max(hosting, key=lambda s: (evidence[s], questions[s]))
    parts = {s: SpeakerRole.co_host if recurs[s] else SpeakerRole.guest for s in speakers}
    parts[host] = SpeakerRole.host
    parts.update(declared)
    return parts


def _named_hosts(turns: list, speakers: list[str]) -> set[str]:
    """The speakers an announcer names as the host ("…welcome your host, Amit Bharma" names the speaker labelled
    Amit Varma: transcripts misspell names, so the first name decides)."""
    named = {m.group("name").lower() for t in turns for m in _NAMES_HOST.finditer(t.text[:400])}
    return {s for s in speakers if s.split()[0].lower() in named}
