"""Pydantic models for every piece of data that crosses a boundary (reader, store, library, CLI, HTTP)."""
from __future__ import annotations

import re
from enum import Enum

from pydantic import BaseModel, Field, computed_field


class Kind(str, Enum):
    transcript = "transcript"
    summary = "summary"
    note = "note"
    discussion = "discussion"


class SentenceRole(str, Enum):
    """What kind of sentence it is: answers quote only `content`; search still finds every sentence."""

    content = "content"
    greeting = "greeting"  # "Welcome to the podcast", "Hi everyone"
    introduction = "introduction"  # "I'm Maria, my role at Red Hat is...", "My guest today is..."
    thanks = "thanks"  # "Thank you for having me"
    sign_off = "sign-off"  # "See you next time", "Where can people find you?"
    sponsor = "sponsor"  # "This episode is brought to you by..."
    question = "question"  # someone asking, usually the host
    filler = "filler"  # a backchannel with no content of its own: "Right.", "Yeah, yeah."


# the roles an answer may ever quote (introductions only for "who is" questions): their sentences get a vector at
# ingest, so an answer scores them without running the encoder
QUOTABLE = frozenset({SentenceRole.content, SentenceRole.introduction})


class SpeakerRole(str, Enum):
    """A speaker's part in an episode, from sidecar metadata or inferred (see ingest.speakers)."""

    host = "host"
    co_host = "co-host"
    guest = "guest"


class Sentence(BaseModel):
    """One sentence of a passage: where it is (in the passage text and in the source file), who says it, when,
    and what kind of sentence it is."""

    start: int = Field(description="offset of the first character in the passage text")
    end: int
    char_start: int = Field(description="offset in the source file")
    char_end: int
    speaker: str | None = None
    seconds: float | None = Field(default=None, description="when it starts, interpolated between time markers")
    role: SentenceRole = SentenceRole.content


class Segment(BaseModel):
    """One speaker turn or paragraph as a reader found it, with its place in the source file."""

    text: str
    char_start: int
    char_end: int
    speaker: str | None = None
    kind: Kind = Kind.note
    section: str | None = None
    start: float | None = None  # seconds, when the source says
    end: float | None = None
    # (char offset in source, seconds) pairs for inline time markers inside this segment
    markers: list[tuple[int, float]] = Field(default_factory=list)


class Document(BaseModel):
    """An episode, a post or a notes file: the unit that is added, replaced or removed as a whole."""

    id: str
    title: str
    source: str
    kind: Kind
    segments: list[Segment]
    speakers: dict[str, str] = Field(default_factory=dict, description="short name -> full name")
    roles: dict[str, str] = Field(default_factory=dict, description="short name -> role as introduced")
    speaker_roles: dict[str, SpeakerRole] = Field(default_factory=dict, description="short name -> host, co-host or guest")
    meta: dict = Field(default_factory=dict)


class Episode(BaseModel):
    id: str
    title: str
    source: str
    kind: Kind
    speakers: list[str] = Field(default_factory=list)
    chunks: int = 0
    meta: dict = Field(default_factory=dict)


class Chunk(BaseModel):
    """A retrievable passage: speaker-true, timed, and traceable to its characters in the source file."""

    id: int | None = None
    episode_id: str
    episode_title: str
    ordinal: int
    text: str
    speaker: str | None = None
    speakers: list[str] = Field(default_factory=list)
    start: float | None = None
    end: float | None = None
    char_start: int
    char_end: int
    source: str
    kind: Kind
    section: str | None = None
    themes: list[str] = Field(default_factory=list, description="themes the passage carries, strongest first")
    sentences: list[Sentence] = Field(default_factory=list, description="its sentences, with speaker, time and role")

    def header(self, full_names: dict[str, str] | None = None, roles: dict[str, str] | None = None) -> str:
        """Context the passage itself may not state (episode, section, who speaks and their role): it lets
        a question about "Red Hat's LATAM CTO" find a passage that only says "I"."""
        parts = [self.episode_title]
        if self.section and self.section != self.episode_title:
            parts.append(self.section)
        who = self.who(full_names, roles)
        return " | ".join(parts + [who] if who else parts)

    def who(self, full_names: dict[str, str] | None = None, roles: dict[str, str] | None = None) -> str:
        """The speaker's full name and role, or for a write-up the guests it is about; "" for plain notes."""
        names, roles = full_names or {}, roles or {}

        def person(short: str) -> str:
            full = names.get(short, short)
            return f"{full}, {roles[short]}" if roles.get(short) else full

        if self.speaker:
            return person(self.speaker)
        about = [s for s in self.mentions(names) if roles.get(s)]  # the text may only say "she"
        return "about " + "; ".join(person(s) for s in about) if about else ""

    def mentions(self, full_names: dict[str, str]) -> list[str]:
        """Speakers of the episode this passage names (by first or full name) without them speaking."""
        return [s for s in full_names if s not in self.speakers and re.search(rf"\b{re.escape(s)}\b", self.text)]

    def sentence_text(self, s: Sentence) -> str:
        return self.text[s.start:s.end]

    def quotable_texts(self) -> list[str]:
        """The texts of the sentences an answer may quote, as the answer encodes them."""
        return [self.sentence_text(s) for s in self.sentences if s.role in QUOTABLE]



class EpisodeRef(BaseModel):
    id: str
    title: str


class Hit(BaseModel):
    chunk_id: int
    text: str
    score: float
    speaker: str | None
    speakers: list[str]
    start: str | None
    end: str | None
    start_seconds: float | None = None
    episode: EpisodeRef
    source: str
    kind: Kind
    section: str | None = None
    char_start: int
    char_end: int
    themes: list[str] = Field(default_factory=list)


class Citation(BaseModel):
    """Where a point of the answer comes from: the passage, and the exact excerpt quoted from it."""

    n: int
    chunk_id: int
    text: str = Field(description="the whole passage")
    speaker: str | None
    speaker_name: str | None = Field(default=None, description="full name, as the episode introduces them")
    speaker_role: SpeakerRole | None = Field(default=None, description="host, co-host or guest in this episode")
    speaker_title: str | None = Field(default=None, description="role as introduced, e.g. 'CTO for LATAM at Red Hat'")
    start: str | None
    end: str | None
    at: str | None = Field(default=None, description="when the quoted excerpt starts (HH:MM:SS)")
    episode: EpisodeRef
    kind: Kind = Kind.transcript
    source: str
    char_start: int
    char_end: int
    quote: str | None = Field(default=None, description="the verbatim excerpt of the passage the point quotes")
    quote_char_start: int | None = Field(default=None, description="the excerpt's characters in the source file")
    quote_char_end: int | None = None
    themes: list[str] = Field(default_factory=list)

    # who said it, in the words both the answer's text (search.answer.compose) and the web page show
    @computed_field  # type: ignore[prop-decorator]
    @property
    def who(self) -> str:
        """"Maria Bracho", "An unlabelled speaker" (speech without speaker labels), "The episode's write-up",
        "A discussion thread" or "Notes"."""
        if self.kind == Kind.transcript:
            return (self.speaker_name or self.speaker) if self.speaker else "An unlabelled speaker"
        return {Kind.summary: "The episode's write-up", Kind.discussion: "A discussion thread"}.get(self.kind, "Notes")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def about(self) -> str:
        """The speaker's part and title in the episode ("guest, CTO for LATAM at Red Hat"), or ""."""
        if self.kind != Kind.transcript or not self.speaker:
            return ""
        return ", ".join(x for x in (self.speaker_role.value if self.speaker_role else None, self.speaker_title) if x)


class Point(BaseModel):
    """One key point of an answer: an excerpt of whole sentences, attributed through its citation."""

    text: str = Field(description="the excerpt as shown; fillers such as 'you know' may be dropped, the citation "
                                  "keeps the verbatim quote and its offsets")
    citation: Citation


class Answer(BaseModel):
    question: str
    answer: str = Field(description="the answer as plain text")
    abstained: bool
    lead: str = Field(default="", description="what the corpus offers, e.g. 'Three passages in two episodes answer this.'")
    points: list[Point] = Field(default_factory=list, description="key points, best first")
    citations: list[Citation]
    closest: list[Hit] = Field(default_factory=list, description="nearest passages when abstaining")
    near: list[Point] = Field(default_factory=list, description="when abstaining: the closest passages' best "
                                                                "excerpts, attributed; they do not answer the question")
    generated: bool = Field(default=False, description="true when `answer` was written by the configured language "
                                                       "model and verified against the cited passages")
    reason: str | None = Field(default=None, description="why the answer is extractive although a language model is "
                                                         "configured, or why the answer abstains")


class Filters(BaseModel):
    # bounded, since a filter reaches SQL (LIKE patterns, IN lists) straight from a request
    speaker: str | None = Field(default=None, max_length=200)
    episode: str | None = Field(default=None, max_length=200)
    kind: Kind | None = None
    themes: list[str] = Field(default_factory=list, max_length=20,
                              description="passages tagged with any of these themes")


class Stats(BaseModel):
    episodes: int
    chunks: int
    vectors: int
    index_version: int
    model: str
    data_dir: str
    sources: list[str]


class IngestReport(BaseModel):
    added: list[str] = Field(default_factory=list)
    updated: list[str] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    failed: dict[str, str] = Field(default_factory=dict)
    duplicates: dict[str, str] = Field(default_factory=dict, description="file -> an earlier file of the batch with "
                                       "identical content (both are indexed, their passages' vectors shared)")
    chunks_embedded: int = Field(default=0, description="texts embedded by this batch: chunks, their sentence windows "
                                 "and quotable sentences (the name predates the last two)")
    index_version: int = 0


class NamedCount(BaseModel):
    name: str
    count: int


class ThemeSummary(BaseModel):
    """A theme of the taxonomy and how much of the corpus carries it."""

    name: str
    label: str
    description: str
    seeds: list[str]
    threshold: float
    passages: int = 0
    episodes: list[NamedCount] = Field(default_factory=list, description="episodes with the most tagged passages")
    speakers: list[NamedCount] = Field(default_factory=list, description="speakers with the most tagged passages")


class ThemedHit(Hit):
    """A passage under a theme: `score` is the theme score, `matched` the seed phrases found in it (why)."""

    similarity: float = 0.0
    matched: list[str] = Field(default_factory=list)


class ThemeDetail(ThemeSummary):
    top: list[ThemedHit] = Field(default_factory=list, description="the strongest passages, best first")


class RetagReport(BaseModel):
    chunks: int
    tags: int
    embedded_chunks: int = Field(0, description="passages re-embedded to retag: always 0, stored vectors are used")
    taxonomy: str
    fingerprint: str
