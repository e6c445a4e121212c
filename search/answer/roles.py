"""Who and what an answer may quote, from the roles stored at ingest (see ingest.roles, ingest.speakers).

Content sentences only: a greeting, an introduction, thanks or a question is not an answer, except that a
question about who someone is may quote their introduction. And the guests' words: in an episode with guests the
host asks and reacts ("I need to do that. The other thing is when you said..."), so the host is quoted only when
the question names them or the episode has no guest.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

from core.models import Chunk, Sentence, SentenceRole, SpeakerRole
from search.query import SpeakerProfile, query_terms

# a question about who someone is may be answered by their introduction; "what does X do" asks for their job only
# when nothing follows but "at <org>" or "for a living" ("what did X do when lockdown hit" asks what they did)
_ABOUT_SOMEONE = re.compile(r"^\s*(who (is|was|are)|who's|what (is|was|does|did) \w+(?: \w+)?(?:'s|’s)? "
                            r"(role|job|title|position|do(?=\s*(?:\?|$)|\s+(?:at|for a living)\b)))", re.I)
# the person a question asks about when it asks only who they are: "Who is Tamar?", "Who is Maria, the CTO?",
# "What does Michael Galloway do?", "What is Tim's role?" (not "Who is the CEO of Box…", "What was Bella's title at
# Google?")
_NAME = r"[A-Z][\w’'-]*(?:\s+[A-Z][\w’'-]*)?"
_WHO_THEY_ARE = re.compile(rf"^\s*(?:(?i:who(?:'s|’s|\s+is|\s+was|\s+are))\s+(?P<who>{_NAME})\s*(?:[?,.]|$)"
                           rf"|(?i:what\s+(?:is|was|does|did))\s+(?P<what>{_NAME})"
                           r"(?:['’]s\s+(?i:role|job|title|position)|\s+do)\s*(?:\?|$))")
_WHO_HOSTS = re.compile(r"^\s*who(?:'s|’s|\s+is|\s+are)\s+(?:the|your|its)\s+hosts?\s*\??\s*$"
                        r"|^\s*who\s+hosts\s+(?:the|this|your)\s+(?:podcast|show)\s*\??\s*$", re.I)
# "who is Michael Galloway's boss?" asks about someone else: the boss
_SOMEONE_ELSES = re.compile(r"^\s*(?:who (?:is|was|are)|who's)\s+(?:[\w-]+\s+){0,3}?[\w-]+['’]s\s+\w", re.I)


@dataclass
class Speakers:
    """Who is who in each episode: full name, title as introduced, and part (host, co-host, guest)."""

    profiles: dict[tuple[str, str], SpeakerProfile]
    with_guests: frozenset[str] = field(init=False)  # episodes with a guest: asked per host sentence of an answer
    full_names: frozenset[str] = field(init=False)  # every speaker's full name: people, wherever they are named

    def __post_init__(self) -> None:
        self.with_guests = frozenset(e for (e, _), p in self.profiles.items() if p.part == SpeakerRole.guest.value)
        self.full_names = frozenset(p.full for p in self.profiles.values() if p.full)

    @classmethod
    def of(cls, profiles: list[SpeakerProfile]) -> "Speakers":
        return cls({(p.episode_id, p.short): p for p in profiles})

    def get(self, episode_id: str, short: str | None) -> SpeakerProfile | None:
        return self.profiles.get((episode_id, short)) if short else None

    def has_guests(self, episode_id: str) -> bool:
        return episode_id in self.with_guests

    @cached_property
    def _name_terms(self) -> dict[tuple[str, str], frozenset[str]]:
        """The words of each speaker's full name, worked out once (on the first who-question, not per question)."""
        return {k: frozenset(query_terms(p.full)) for k, p in self.profiles.items() if p.full}

    def named_in(self, question: str) -> list[SpeakerProfile]:
        """The speakers the question names (by a word of their full name: "Who is Tamar?")."""
        words = set(query_terms(question))
        return [self.profiles[k] for k, terms in self._name_terms.items() if words & terms]

    def called(self, name: str) -> list[SpeakerProfile]:
        """The speakers a name from `who_they_are` stands for: those it names, or the hosts for "host"."""
        if name == SpeakerRole.host.value:
            return [p for p in self.profiles.values() if p.full and p.part == SpeakerRole.host.value]
        return self.named_in(name)

    def words_of(self, name: str) -> set[str]:
        """The words of the full names of the speakers `name` stands for (see `called`)."""
        return {w for p in self.called(name) for w in self._name_terms[(p.episode_id, p.short)]}


def who_they_are(question: str) -> str | None:
    """The name of the person the question asks about, when all it asks is who they are ("host" for "Who is the
    host?", "Who hosts the podcast?")."""
    if _WHO_HOSTS.search(question):
        return SpeakerRole.host.value
    m = _WHO_THEY_ARE.search(question)
    return (m.group("who") or m.group("what")) if m else None


def about_someone(question: str) -> bool:
    """Whether the question asks who someone is ("Who is Tamar?", "What does Maria do?", "What is Tim's role?")."""
    return (bool(_ABOUT_SOMEONE.search(question)) and not _SOMEONE_ELSES.search(question)) \
        or who_they_are(question) is not None


def admissible(question: str) -> set[SentenceRole]:
    """Sentence roles an answer to this question may quote: content, and introductions for "who is" questions."""
    roles = {SentenceRole.content}
    if about_someone(question):
        roles.add(SentenceRole.introduction)
    return roles


class Quotable:
    """Whether a sentence of a passage may be quoted in the answer to one question."""

    def __init__(self, question: str, speakers: Speakers):
        self.roles = admissible(question)
        self.speakers = speakers
        name = who_they_are(question)  # the words of the full names of whom "who is X?" asks about
        # a speaker by that name, else the name as asked (a guest the transcript labels only "Guest")
        called = speakers.words_of(name) if name else set()
        self._people = called or (set(query_terms(name)) if name and name != SpeakerRole.host.value else set())
        self.named = set(query_terms(question))
        self._hosts: dict[str, bool] = {}

    def __call__(self, chunk: Chunk, sentence: Sentence) -> bool:
        if sentence.role not in self.roles:
            return False
        profile = self.speakers.get(chunk.episode_id, sentence.speaker)
        if profile is None or profile.part != SpeakerRole.host.value:
            return True
        # for "who is X?", the host's introduction may be quoted: the sentence naming X and those that go on
        # about them ("My guest today is VK Karthikeya… She began at Penguin in 1996…"); _says_who ranks them
        return (self._names(profile.full) or not self.speakers.has_guests(chunk.episode_id)
                or (sentence.role == SentenceRole.introduction and bool(self._people)))

    def says_their_name(self, text: str) -> bool:
        """Whether the text says the whole name of whom "who is X?" asks about ("Hey, I'm Bruce Wang"): a speaker
        saying only their own first name ("What are you doing, future Sam?") is not saying who they are."""
        return bool(self._people) and self._people <= set(query_terms(text))

    def asked_about(self, text: str) -> bool:
        """For "Who is Maria?", whether the text (a sentence, or who says it) names Maria: the host's "…we welcome
        Maria Bracho, CTO for LATAM at Red Hat" may then be quoted. False for other questions."""
        return bool(self._people) and bool(self._people & set(query_terms(text)))

    def _names(self, full_name: str) -> bool:
        """Whether the question names this host (worked out once per host, not per sentence)."""
        if full_name not in self._hosts:
            self._hosts[full_name] = bool(self.named & set(query_terms(full_name)) - {"host"})
        return self._hosts[full_name]
